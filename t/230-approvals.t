# Approvals (hangar-security.md §4): a call of an approval-listed tool is
# held inside nginx until someone resolves it through the API, on any
# worker, or its timeout denies it.  Records are kept in the state file; a
# restart denies what was still pending.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
# under valgrind everything is slower: waits and the short timeout scale
my $SLOW = Hangar::Test::valgrind_on() ? 8 : 1;
my $TMO = 3 * $SLOW;

my %conf = (
    workers     => 2,
    timeout     => 10 * $SLOW,
    http_config => "    hangar_zone hangar 4m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; add_header X-Worker \$pid always; }\n"
                 . "location = /mcp { hangar_mcp; add_header X-Worker \$pid always; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  math:\n    command: [perl, $SERVER, --name, math]\n"
                 . "    tools: {approval_list: [\"add\", \"ech?\"], approval_timeout_seconds: $TMO}\n"
                 . "  slow:\n    command: [perl, $SERVER, --name, slow, --tools, sleep]\n"
                 . "    tools: {approval_list: [\"*\"], approval_timeout_seconds: 300,"
                 . " approval_channel: ops}\n",
);

# ---- a small keep-alive client: one connection, one worker ----------------

sub conn () {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port(),
                                  Timeout => 10) or die "connect: $!";
    return $s;
}

sub send_req ($$$;$) {
    my ($sock, $m, $u, $rest) = @_;
    my ($body, $h) = ref $rest eq 'ARRAY' ? @$rest : ($rest, {});
    $body //= '';
    my $raw = "$m $u HTTP/1.1\r\nHost: localhost\r\n"
            . join('', map { "$_: $h->{$_}\r\n" } sort keys %$h)
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
    syswrite($sock, $raw);
}

# the next response on sock: ($status, \%headers, $body); SSE bodies whole
sub recv_resp ($;$) {
    my ($sock, $secs) = @_;
    my ($buf, $sel) = ('', IO::Select->new($sock));
    my $deadline = Time::HiRes::time() + ($secs // 10) * $SLOW;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        return (undef, {}, "timeout: $buf") if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($sock, $buf, 65536, length $buf);
        my @r = Hangar::Test::parse_response($buf, 0, !$n);
        return @r if @r;
        return (undef, {}, "eof: $buf") unless $n;
    }
}

sub req ($$$;$) {
    my ($sock, $m, $u, $rest) = @_;
    send_req($sock, $m, $u, $rest);
    my ($st, $h, $b) = recv_resp($sock);
    return ($st, $h, eval { $json->decode($b) } // $b);
}

# a keep-alive connection to a worker other than $avoid (or to $want)
sub conn_worker (%) {
    my %o = @_;
    for (1 .. 200) {
        my $s = conn();
        my ($st, $h) = req($s, GET => '/api/approvals');
        my $w = $h->{'x-worker'} // '';
        return ($s, $w) if ($o{avoid} && $w ne $o{avoid}) || ($o{want} && $w eq $o{want})
                           || (!$o{avoid} && !$o{want});
        close $s;
    }
    die "no connection to the wanted worker\n";
}

my %mcp_h = ('Content-Type' => 'application/json',
             Accept => 'application/json, text/event-stream');
my $sid;

sub session () {
    my ($st, $h) = http_request(POST => '/mcp',
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}',
        \%mcp_h);
    return $h->{'mcp-session-id'};
}

sub call_body ($$;$) {
    my ($tool, $args, $token) = @_;
    my %p = (name => $tool, arguments => $args);
    $p{_meta} = { progressToken => $token } if defined $token;
    return $json->encode({ jsonrpc => '2.0', id => 7, method => 'tools/call', params => \%p });
}

# sends a call on sock; the answer is read later
sub start_call ($$$;$) {
    my ($sock, $tool, $args, $token) = @_;
    send_req($sock, POST => '/mcp', [call_body($tool, $args, $token),
                                     { %mcp_h, 'Mcp-Session-Id' => $sid }]);
}

sub api ($$;$) {
    my ($m, $u, $b) = @_;
    my ($st, $h, $body) = http_request($m, $u, $b,
        defined $b ? { 'Content-Type' => 'application/json' } : {});
    return ($st, eval { $json->decode($body) } // $body, $h);
}

sub pending () {
    my (undef, $b) = api(GET => '/api/approvals');
    return ref $b eq 'ARRAY' ? @$b : ();
}

# waits for n pending records of tool
sub wait_pending ($$) {
    my ($tool, $n) = @_;
    for (1 .. 100 * $SLOW) {
        my @p = grep { $_->{tool_name} eq $tool } pending();
        return @p if @p >= $n;
        Time::HiRes::sleep(0.05);
    }
    return ();
}

sub result_text ($) {
    my $b = shift;
    $b = $json->decode($1) if !ref $b && $b =~ /^data: (.*)$/m && $b !~ /\n\ndata: /;
    return $b->{result}{content}[0]{text} // '';
}

nginx_start(\%conf);
# started once, so that the front door knows their tools
for my $id (qw(math slow)) {
    my ($st) = http_request(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id started");
}
$sid = session();
ok($sid, 'a front-door session');

# ---- approve, from the other worker -----------------------------------------
my ($held, $wa) = conn_worker();
start_call($held, 'add', { a => 2, b => 3 });
my ($rec) = wait_pending('add', 1);
ok($rec, 'the call of an approval-listed tool is held: a pending record');
is($rec->{provider_id}, 'math', 'provider_id');
is($rec->{state}, 'pending', 'state pending');
is($rec->{channel}, 'event_stream', 'the default channel');
like($rec->{approval_id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
     'approval_id is a UUIDv4');
ok($rec->{expires_in_seconds} >= 1 && $rec->{expires_in_seconds} <= $TMO, 'expires_in_seconds');
like($rec->{requested_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/, 'requested_at ISO');
is($rec->{decided_by}, undef, 'decided_by null while pending');

my ($other, $wb) = conn_worker(avoid => $wa);
isnt($wb, $wa, "resolved through worker $wb, the call is held by $wa");
my ($st, $h, $b) = req($other, POST => "/api/approvals/$rec->{approval_id}/resolve",
                       ['{"decision":"approve"}', { 'Content-Type' => 'application/json' }]);
is($st, 200, 'resolve approve: 200');
is($json->encode($b), qq({"approval_id":"$rec->{approval_id}","state":"approved"}), 'its answer');
($st, $h, $b) = recv_resp($held);
is($st, 200, 'the held call answers');
is($h->{'x-worker'}, $wa, 'from the worker that held it');
like($b, qr/"text":"5"/, 'with the tool result: the call was dispatched after approval');

(undef, $b) = api(GET => "/api/enterprise/approvals/$rec->{approval_id}");
is($b->{state}, 'approved', 'GET /api/enterprise/approvals/{id}: approved');
my $log = Hangar::Test::slurp("$ENV{TEST_NGINX_SERVROOT}/logs/error.log");
like($log, qr/\[info\] \d+#\d+: \*\d+ hangar: approval \Q$rec->{approval_id}\E of "add" on "math" approved by "system"/,
     'an info line names the decision and who made it');
my (undef, $listed) = api(GET => '/api/enterprise/approvals?state=approved');
is($listed->[0]{approval_id}, $rec->{approval_id}, 'GET /api/enterprise/approvals lists it');
is($b->{decided_by}, 'system', 'decided_by system with auth off');
like($b->{decided_at}, qr/^\d{4}-/, 'decided_at set');

# ---- 409s, 404, 422 ----------------------------------------------------------
($st, $b) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"deny"}');
is($st, 409, 'resolving a resolved approval: 409');
is($b->{error}, 'ApprovalAlreadyResolvedError', 'ApprovalAlreadyResolvedError');
is($b->{message}, 'Approval already resolved', 'its message');
is($b->{details}{state}, 'approved', 'details.state');
($st, $b) = api(POST => "/api/enterprise/approvals/00000000-0000-4000-8000-000000000000/resolve",
                '{"decision":"approve"}');
is($st, 404, 'resolving an unknown approval: 404');
is($b->{error}, 'ApprovalNotFoundError', 'ApprovalNotFoundError');
($st, $b) = api(GET => '/api/approvals/nope');
is($st, 404, 'GET an unknown approval: 404');
($st, $b) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"maybe"}');
is($st, 422, 'a bad decision: 422');
is($b->{message}, "decision must be 'approve' or 'deny'", 'names the choices');
($st, $b) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"deny","reason":5}');
is($st, 422, 'a reason that is not a string: 422');
($st, $b) = api(GET => '/api/approvals?state=bogus');
is($st, 422, 'a bad state filter: 422');
is($b->{error}, 'ValidationError', 'ValidationError');
like($b->{message}, qr/^Invalid state: bogus/, 'Invalid state: bogus');
($st, $b) = api(GET => '/api/approvals?state=approved');
is(scalar(@$b), 1, 'state=approved lists it');
($st, $b) = api(GET => '/api/approvals?state=approved&provider_id=slow');
is(scalar(@$b), 0, 'provider_id filters');

# ---- deny, with a reason ---------------------------------------------------------
$held = conn();
start_call($held, 'add', { a => 1, b => 1 });
($rec) = wait_pending('add', 1);
($st, $b) = api(POST => "/api/enterprise/approvals/$rec->{approval_id}/resolve",
                '{"decision":"deny","reason":"not today"}');
is($st, 200, 'resolve deny: 200');
is($b->{state}, 'denied', 'state denied');
($st, $h, $b) = recv_resp($held);
my $r = eval { $json->decode($b) } // {};
ok($r->{result}{isError}, 'the denied call is a tool error');
my $err = eval { $json->decode(result_text($r)) } // {};
is($err->{error_type}, 'approval_denied', 'error_type approval_denied');
is($err->{error}, 'not today', 'with the reason');
is($err->{approval_id}, $rec->{approval_id}, 'and the approval id');

# ---- timeout --------------------------------------------------------------------
$held = conn();
start_call($held, 'add', { a => 4, b => 4 });
($rec) = wait_pending('add', 1);
($st, $h, $b) = recv_resp($held, 8);
$r = eval { $json->decode($b) } // {};
$err = eval { $json->decode(result_text($r)) } // {};
is($err->{error_type}, 'approval_timeout', 'no decision within the timeout: approval_timeout');
is($err->{error}, 'No response within timeout', 'No response within timeout');
(undef, $b) = api(GET => "/api/approvals/$rec->{approval_id}");
is($b->{state}, 'expired', 'the record is expired');
is($b->{reason}, 'No response within timeout', 'its reason');
($st, $b) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"approve"}');
is($st, 409, 'resolving an expired approval: 409');
is($b->{details}{state}, 'expired', 'details.state expired');

# ---- redaction and the hash -----------------------------------------------------------
my $args = { text => 'Bearer abcdefghijklmnop', api_key => 's3cr3t',
             nested => { password => 'pw', url => 'postgres://u:pw123@db/x', n => [1, 2] } };
$held = conn();
start_call($held, 'echo', $args);
($rec) = wait_pending('echo', 1);
is($json->encode($rec->{arguments}),
   '{"api_key":"[REDACTED]","nested":{"n":[1,2],"password":"[REDACTED]","url":"postgres://u:[REDACTED]@db/x"},"text":"Bearer [REDACTED]"}',
   'arguments are redacted: sensitive keys, bearer tokens, URL passwords');
is($rec->{arguments_hash}, Digest::SHA::sha256_hex($json->encode($args)),
   'arguments_hash: sha256 of the raw arguments as sorted-key JSON');
api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"approve"}');
($st, $h, $b) = recv_resp($held);
like($b, qr/Bearer abcdefghijklmnop/, 'the dispatched call has the raw arguments');
my $state = Hangar::Test::slurp("$ENV{TEST_NGINX_STATE_DIR}/hangar-state.json");
unlike($state, qr/s3cr3t|pw123|abcdefghijklmnop/, 'no secret in the state file');
$log = Hangar::Test::slurp("$ENV{TEST_NGINX_SERVROOT}/logs/error.log");
is(scalar(grep { /approv/ && /s3cr3t|pw123|abcdefghijklmnop/ } split /\n/, $log), 0,
   'nor in the log lines of approvals');
like($state, qr/"approvals":\{"version":1,"approvals":\[/, 'the approvals document is in the state file');


# ---- ten calls held, the workers answer everything else meanwhile ----------------
my @socks = map { my $c = conn(); start_call($c, 'slow__sleep', { ms => 1 }); $c } 1 .. 10;
my @recs = wait_pending('sleep', 10);
is(scalar @recs, 10, 'ten calls held');
is($recs[0]{channel}, 'ops', "the policy's channel");
my $answered = 0;
for (1 .. 10) {
    my ($st1) = http_request(GET => '/api/mcp_servers');
    my ($st2, undef, $b2) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":3,"method":"ping"}',
                                         { %mcp_h, 'Mcp-Session-Id' => $sid });
    $answered++ if $st1 == 200 && $st2 == 200 && $b2 =~ /"result":\{\}/;
}
is($answered, 10, 'REST reads and front-door pings are answered while ten calls are held');
is(scalar(grep { $_->{requested_at} } @recs), 10, 'newest first, all listed');
ok($recs[0]{requested_at} ge $recs[9]{requested_at}, 'the list is newest first');
for my $x (@recs) {
    api(POST => "/api/approvals/$x->{approval_id}/resolve", '{"decision":"approve"}');
}
my $done = 0;
for my $c (@socks) {
    my ($st, undef, $b) = recv_resp($c);
    $done++ if $st == 200 && $b =~ /slept 1/;
}
is($done, 10, 'all ten dispatched once approved');

# ---- progress while held --------------------------------------------------------------
sub read_until ($$$) {
    my ($sock, $re, $secs) = @_;
    my ($buf, $sel) = ('', IO::Select->new($sock));
    my $deadline = Time::HiRes::time() + $secs * $SLOW;
    while ($buf !~ $re) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0 || !$sel->can_read($left);
        sysread($sock, $buf, 65536, length $buf) or last;
    }
    return $buf;
}

$held = conn();
start_call($held, 'slow__sleep', { ms => 1 }, 'tok-1');
my $got = read_until($held, qr/notifications\/progress.*\n\n.*notifications\/progress/s, 10);
like($got, qr{^HTTP/1.1 200.*text/event-stream}s, 'a call with a progress token is answered as SSE');
my @notes = $got =~ /^data: (\{.*"notifications\/progress".*\})$/mg;
ok(@notes >= 2, 'progress notifications arrive while the call is held: ' . scalar @notes);
my $n1 = eval { $json->decode($notes[0]) } // {};
is($n1->{params}{progressToken}, 'tok-1', 'with the progress token');
like($n1->{params}{message}, qr/^waiting for approval [0-9a-f-]{36}/, 'saying what it waits for');
($rec) = wait_pending('sleep', 1);
api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"approve"}');
$got .= read_until($held, qr/slept 1/, 10);
like($got, qr/"id":7,"result":\{"content":\[\{"text":"slept 1"/, 'then the result, on the same stream');

# ---- a client that goes away --------------------------------------------------------------
$held = conn();
start_call($held, 'slow__sleep', { ms => 1 });
($rec) = wait_pending('sleep', 1);
close $held;
Time::HiRes::sleep(0.5);
(undef, $b) = api(GET => "/api/approvals/$rec->{approval_id}");
is($b->{state}, 'pending', 'a call whose client went away leaves its record pending');
($st, $b) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"deny"}');
is($st, 200, 'which can still be resolved');

# ---- the sweep expires a pending record whose waiter is gone (§10 #23) --------------------
$held = conn();
start_call($held, 'add', { a => 0, b => 0 });
($rec) = wait_pending('add', 1);
close $held;
my $expired;
for (1 .. 100 * $SLOW) {
    (undef, $b) = api(GET => "/api/approvals/$rec->{approval_id}");
    last if ($expired = $b->{state} eq 'expired');
    Time::HiRes::sleep(0.1);
}
ok($expired, 'expired by the sweep once past its time, no one waiting and no resolve');

# ---- a reload: the held call completes in its old worker ------------------------------------
$held = conn();
start_call($held, 'slow__sleep', { ms => 1 });
($rec) = wait_pending('sleep', 1);
my %old = map { $_ => 1 } Hangar::Test::worker_pids(master_pid());
kill 'HUP', master_pid();
my @new;
for (1 .. 100 * $SLOW) {
    @new = grep { !$old{$_} } Hangar::Test::worker_pids(master_pid());
    last if @new >= 2;
    Time::HiRes::sleep(0.1);
}
is(scalar @new, 2, 'reloaded: two new workers');
(undef, $b) = api(GET => "/api/approvals/$rec->{approval_id}");
is($b->{state}, 'pending', 'the record is still pending after the reload');
($st) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"approve"}');
is($st, 200, 'resolved by a new worker');
($st, $h, $b) = recv_resp($held);
like($b, qr/slept 1/, 'the old worker dispatches the held call');
ok($old{ $h->{'x-worker'} }, 'answered by an old worker');

# ---- the pass-through holds its tools/call the same way -----------------------------------
my (undef, $ph) = http_request(POST => '/mcp/math',
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}',
    \%mcp_h);
my $psid = $ph->{'mcp-session-id'};
ok($psid, 'a pass-through session');
http_request(POST => '/mcp/math', '{"jsonrpc":"2.0","method":"notifications/initialized"}',
             { %mcp_h, 'Mcp-Session-Id' => $psid });
for my $decision (qw(approve deny)) {
    $held = conn();
    send_req($held, POST => '/mcp/math',
             ['{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}',
              { %mcp_h, 'Mcp-Session-Id' => $psid }]);
    ($rec) = wait_pending('add', 1);
    ok($rec, "pass-through tools/call held ($decision)");
    ($st) = api(POST => "/api/approvals/$rec->{approval_id}/resolve", qq({"decision":"$decision"}));
    is($st, 200, "resolved: $decision");
    ($st, $h, $b) = recv_resp($held);
    my @data = $b =~ /^data: (.*)$/mg;
    $r = eval { $json->decode(@data ? $data[-1] : $b) } // {};
    if ($decision eq 'approve') {
        is($r->{result}{content}[0]{text}, '3', 'approved: proxied to the server');
    } else {
        ok($r->{result}{isError}, 'denied: a tool error');
        like($r->{result}{content}[0]{text}, qr/"error_type":"approval_denied"/, 'approval_denied');
        is($r->{id}, 9, 'with the call\'s id');
    }
}

# ---- a restart denies what was pending -----------------------------------------------------------
$held = conn();
start_call($held, 'slow__sleep', { ms => 1 });
($rec) = wait_pending('sleep', 1);
close $held;
Time::HiRes::sleep(0.3);
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('approvals') if Hangar::Test::valgrind_on();
nginx_start({ %conf, keep_servroot => 1 });
(undef, $b) = api(GET => "/api/approvals/$rec->{approval_id}");
is($b->{state}, 'denied', 'after a restart a pending approval is denied');
is($b->{reason}, 'hangar restarted before a decision', 'with the reason');
is($b->{decided_by}, 'system', 'by the system');
(undef, $b) = api(GET => '/api/approvals?state=approved');
ok(@$b >= 13, 'decided records survive the restart: ' . scalar @$b);
my $written;
for (1 .. 50 * $SLOW) {
    $state = Hangar::Test::slurp("$ENV{TEST_NGINX_STATE_DIR}/hangar-state.json");
    last if ($written = $state !~ /"state":"pending"/);
    Time::HiRes::sleep(0.1);
}
ok($written, 'and the state file no longer has a pending record');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('approvals') if Hangar::Test::valgrind_on();
no_orphans();
no_alerts();

# ---- at most 1,000 records: a new one takes the place of the oldest decided one --------------
my @seed = map { {
    approval_id => sprintf('00000000-0000-4000-8000-%012d', $_), provider_id => 'math',
    tool_name => 'add', arguments => { a => $_ }, arguments_hash => 'a' x 64,
    state => ($_ % 2 ? 'approved' : 'denied'), channel => 'event_stream',
    requested_ms => 1700000000000 + $_, expires_ms => 1700000300000 + $_,
    decided_ms => 1700000100000 + $_, decided_by => 'seed', reason => undef,
    correlation_id => undef, requested_by => undef, tenant_id => undef } } 0 .. 999;
nginx_start({ %conf, user_files => $conf{user_files}
    . ">>> state/hangar-state.json\n"
    . $json->encode({ version => 1, mcp_servers => {},
                      approvals => { version => 1, approvals => \@seed } }) });
(undef, $b) = api(GET => '/api/approvals?state=denied');
is(scalar @$b, 500, '1,000 kept records loaded: 500 denied');
is($b->[0]{approval_id}, '00000000-0000-4000-8000-000000000998', 'newest first');
($st) = http_request(POST => '/api/mcp_servers/math/start');
$sid = session();
$held = conn();
start_call($held, 'add', { a => 5, b => 5 });
($rec) = wait_pending('add', 1);
ok($rec, 'a call is held with 1,000 records kept');
($st) = api(GET => '/api/approvals/00000000-0000-4000-8000-000000000000');
is($st, 404, 'the oldest decided record made room');
($st) = api(GET => '/api/approvals/00000000-0000-4000-8000-000000000001');
is($st, 200, 'the next one is kept');
api(POST => "/api/approvals/$rec->{approval_id}/resolve", '{"decision":"approve"}');
($st, $h, $b) = recv_resp($held);
like($b, qr/"text":"10"/, 'and the call goes on once approved');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('approvals') if Hangar::Test::valgrind_on();
no_orphans();

# ---- tenants: a record is seen and resolved only by its tenant (auth on) ------------------
my %key = map { $_ => "mcp_test_approval_${_}_" . ('k' x 20) } qw(admin acme other viewer);
nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\n"
    . "auth:\n  enabled: true\n  api_keys:\n"
    . "    - {name: admin, principal_id: admin, key: $key{admin}}\n"
    . "    - {name: acme, principal_id: alice, key: $key{acme}, tenant_id: acme}\n"
    . "    - {name: other, principal_id: carol, key: $key{other}, tenant_id: other}\n"
    . "    - {name: viewer, principal_id: vic, key: $key{viewer}}\n"
    . "  role_assignments:\n"
    . "    - {principal: admin, role: admin}\n"
    . "    - {principal: alice, role: provider-admin}\n"
    . "    - {principal: carol, role: provider-admin}\n"
    . "    - {principal: vic, role: viewer}\n"
    . "mcp_servers:\n"
    . "  math:\n    command: [perl, $SERVER, --name, math, --tools, 'add,echo']\n"
    . "    tools: {approval_list: [add]}\n" });
sub kapi ($$$;$) {
    my ($who, $m, $u, $body) = @_;
    my ($st, $h, $b) = http_request($m, $u, $body,
        { 'X-API-Key' => $key{$who}, defined $body ? ('Content-Type' => 'application/json') : () });
    return ($st, eval { $json->decode($b) } // $b);
}
($st) = kapi(admin => POST => '/api/mcp_servers/math/start');
is($st, 200, 'auth on: math started');
(undef, $h) = http_request(POST => '/mcp',
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}',
    { %mcp_h, 'X-API-Key' => $key{acme} });
my $asid = $h->{'mcp-session-id'};
$held = conn();
send_req($held, POST => '/mcp', [call_body('add', { a => 20, b => 22 }),
                                 { %mcp_h, 'Mcp-Session-Id' => $asid, 'X-API-Key' => $key{acme} }]);
my $tid;
for (1 .. 100 * $SLOW) {
    (undef, $b) = kapi(acme => GET => '/api/approvals');
    last if ref $b eq 'ARRAY' && @$b && ($tid = $b->[0]{approval_id});
    Time::HiRes::sleep(0.05);
}
ok($tid, "alice's call is held");
(undef, $b) = kapi(acme => GET => "/api/approvals/$tid");
is($b->{tenant_id}, 'acme', 'tenant_id from the caller');
is($b->{requested_by}, 'alice', 'requested_by the principal');
(undef, $b) = kapi(other => GET => '/api/approvals');
is(scalar @$b, 0, "another tenant's list leaves it out");
($st) = kapi(other => GET => "/api/enterprise/approvals/$tid");
is($st, 404, 'another tenant gets 404 on GET');
($st, $b) = kapi(other => POST => "/api/approvals/$tid/resolve", '{"decision":"approve"}');
is($st, 404, 'and 404 on resolve');
($st) = kapi(admin => GET => "/api/approvals/$tid");
is($st, 404, 'a principal without the tenant too');
($st) = kapi(viewer => GET => '/api/approvals');
is($st, 403, 'without approval:read: 403');
($st) = http_request(GET => '/api/approvals');
is($st, 401, 'without credentials: 401');
($st, $b) = kapi(acme => POST => "/api/approvals/$tid/resolve", '{"decision":"approve","reason":"ok"}');
is($st, 200, 'its tenant resolves it');
($st, $h, $b) = recv_resp($held);
like($b, qr/"text":"42"/, 'the held call is dispatched');
(undef, $b) = kapi(acme => GET => "/api/approvals/$tid");
is($b->{decided_by}, 'alice', 'decided_by the authenticated principal');
is($b->{reason}, 'ok', 'with the reason');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('approvals') if Hangar::Test::valgrind_on();
no_alerts();
no_orphans();

Test::More::done_testing();
