# Rate limits (hangar-security.md §7) and the failed-authentication
# lockout (§1.6), kept in the registry's zone: both workers count against
# the same token buckets and trackers.  nginx's realip module makes
# requests come from other addresses (X-Real-IP), so that per-address keys
# can be shown.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

Test::More::plan(skip_all => 'hangar-bridge not built')
    unless -x "$REPO/build/hangar-bridge";

my $http = <<'CONF';
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
CONF

my $locations = <<'CONF';
location /api/ { hangar_api; add_header X-Worker $pid always; }
location = /mcp { hangar_mcp; add_header X-Worker $pid always; }
location ~ ^/mcp/(?<server>[^/]+)$ { hangar_pass $server; }
CONF

# A second port with reuseport: each worker listens on its own socket and
# the kernel spreads new connections over them, however busy they are, so
# that a connection to each worker is found in a few tries.
my $WPORT = Hangar::Test::free_port();
$http .= "    server {\n        listen 127.0.0.1:$WPORT reuseport;\n"
       . join('', map { "        $_\n" } split /\n/, $locations) . "    }\n";

# from an address (X-Real-IP), on a fresh connection
sub from ($$$;$$) {
    my ($ip, $method, $uri, $body, $h) = @_;
    return http_request($method, $uri, $body,
                        { 'X-Real-IP' => $ip, %{ $h || {} } });
}

# Requests written at once on one keep-alive connection; their responses
# ([status, \%headers, body], in order).  Responses have a Content-Length.
sub pipelined ($@) {
    my ($ip, @reqs) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port(),
                                     Timeout => 10) or die "connect: $!";
    my $raw = join '', map {
        Hangar::Test::build_request($_->[0], $_->[1], 'HTTP/1.1', $_->[2],
            [['X-Real-IP', $ip], ['Connection', 'keep-alive']])
    } @reqs;
    syswrite($sock, $raw);
    my ($buf, @res) = ('');
    my $sel = IO::Select->new($sock);
    while (@res < @reqs && $sel->can_read(30)) {
        sysread($sock, $buf, 65536, length $buf) or last;
        while ((my $end = index($buf, "\r\n\r\n")) >= 0) {
            my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
            my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1, $2) : () } @lines;
            my $len = $h{'content-length'} // 0;
            last if length($buf) < $end + 4 + $len;
            my ($st) = $line =~ /^HTTP\/1\.1 (\d+)/;
            push @res, [$st, \%h, substr($buf, $end + 4, $len)];
            substr($buf, 0, $end + 4 + $len, '');
        }
    }
    return @res;
}

# one request on a keep-alive connection: [status, \%headers, body]
sub ka ($$$$;$) {
    my ($sock, $ip, $method, $uri, $key) = @_;
    my @h = (['X-Real-IP', $ip], ['Connection', 'keep-alive']);
    push @h, ['X-API-Key', $key] if defined $key;
    syswrite($sock, Hangar::Test::build_request($method, $uri, 'HTTP/1.1',
                                                undef, \@h));
    my $buf = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(30)) {
        sysread($sock, $buf, 65536, length $buf) or last;
        my $end = index($buf, "\r\n\r\n");
        next if $end < 0;
        my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
        my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1, $2) : () } @lines;
        my $len = $h{'content-length'} // 0;
        next if length($buf) < $end + 4 + $len;
        my ($st) = $line =~ /^HTTP\/1\.1 (\d+)/;
        return [$st, \%h, substr($buf, $end + 4, $len)];
    }
    return [0, {}, "no answer: $buf"];
}

# A keep-alive connection to each worker: connections to the reuseport
# port are opened (and held) until both workers have answered one.
sub worker_conns ($) {
    my $uri = shift;
    my (%conn, @held);
    for (1 .. 60) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $WPORT, Timeout => 10)
            or die "connect: $!";
        push @held, $sock;
        my $r = ka($sock, '127.0.0.1', GET => $uri);
        $conn{ $r->[1]{'x-worker'} // '?' } //= $sock;
        last if keys %conn == 2;
    }
    return %conn;
}

# ---- REST commands: one bucket per client, shared by the workers -------

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => <<"FILES",
>>> conf/hangar.yaml
rate_limit:
  rps: 0.001
  burst: 5
  calls: {rps: 0.001, burst: 4}
  tools: {rps: 0.001, burst: 2}
  max_buckets: 50
mcp_servers:
  math:
    command: [perl, $SERVER, --name, math]
FILES
});

# A fast sequence from one address, alternating between the workers:
# exactly the burst passes (rps 0.001 adds no token in the time of a test).
my %wc = worker_conns('/api/mcp_servers');
my @wk = sort keys %wc;
is(scalar @wk, 2, 'a connection to each worker');
my @codes = map { ka($wc{ $wk[$_ % 2] }, '127.0.0.2', DELETE => "/api/mcp_servers/n$_")->[0] } 0 .. 15;
is(join(',', @codes), join(',', (404) x 5, (429) x 11),
   'exactly the burst (5) of 16 commands over both workers passed');
close $_ for values %wc;

my ($st, $h, $body) = from('127.0.0.2', POST => '/api/mcp_servers',
    '{"mcp_server_id":"x","mode":"subprocess","command":["x"]}',
    { 'Content-Type' => 'application/json' });
is($st, 429, 'a create is a command too');
like($body, qr/\A\{"error":"RateLimitExceeded","message":"Rate limit exceeded: more than 5 requests at once \(0\.001 per second\) for this principal; retry in (\d+)s","status_code":429,"details":\{"limit":5,"retry_after":(\d+),"scope":"principal"\}\}\z/,
     'the 429 flat envelope with details');
my ($msg_retry, $det_retry) = $body =~ /retry in (\d+)s.*"retry_after":(\d+)/;
is($h->{'retry-after'}, $det_retry, 'Retry-After is the retry_after of the details');
ok(($det_retry // 0) >= 990 && $det_retry <= 1000, "retry_after is the wait for one token ($det_retry s)");
($st) = from('127.0.0.2', GET => '/api/mcp_servers/x');
is($st, 404, 'the server was not created');

# reads and the routes the original does not limit
my @reads = map { (from('127.0.0.2', GET => '/api/mcp_servers'))[0] } 1 .. 8;
is(join(',', @reads), join(',', (200) x 8), 'GETs are not limited');
($st) = from('127.0.0.2', POST => '/api/sessions/s1/suspend', '{}',
             { 'Content-Type' => 'application/json' });
isnt($st, 429, "a session suspension is not limited ($st)");
($st) = from('127.0.0.2', DELETE => '/api/sessions/s1/suspend');
isnt($st, 429, "nor its resumption ($st)");

# another address has its own bucket
@codes = map { (from('127.0.0.3', DELETE => "/api/mcp_servers/n$_"))[0] } 1 .. 7;
is(join(',', @codes), '404,404,404,404,404,429,429', 'another address: its own 5');

# Concurrent: four clients at once from one address, over both workers.
my @kids;
for my $k (1 .. 4) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my @c = map { (from('127.0.0.9', DELETE => "/api/mcp_servers/c$k$_"))[0] // 0 } 1 .. 6;
        print {$w} join(',', @c);
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [$pid, $r];
}
my @all;
for (@kids) {
    my ($pid, $r) = @$_;
    local $/;
    push @all, split /,/, (<$r> // '');
    waitpid $pid, 0;
}
is(scalar @all, 24, '24 concurrent commands answered');
is(scalar(grep { $_ == 404 } @all), 5, 'exactly 5 of them passed, across both workers');
is(scalar(grep { $_ == 429 } @all), 19, 'the other 19 got 429');

# ---- tools/call: per principal and per (principal, tool) ---------------

sub mcp ($$;$) {
    my ($ip, $msg, $sid) = @_;
    my %hd = ('Content-Type' => 'application/json',
              'Accept' => 'application/json, text/event-stream');
    $hd{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $h, $b) = from($ip, POST => '/mcp', $msg, \%hd);
    return ($st, $h, eval { $json->decode($b) } // $b);
}

sub session ($) {
    my $ip = shift;
    my ($st, $h) = mcp($ip, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}');
    return $h->{'mcp-session-id'};
}

my $n = 10;
sub call ($$$) {
    my ($ip, $sid, $tool) = @_;
    my $args = { add => '{"a":2,"b":3}', echo => '{"text":"hi"}',
                 env => '{"name":"HOME"}' }->{$tool} // '{}';
    return mcp($ip, qq({"jsonrpc":"2.0","id":@{[ $n++ ]},"method":"tools/call","params":{"name":"$tool","arguments":$args}}), $sid);
}

# warm the server once so that its tools are known
http_request(POST => "/api/mcp_servers/math/$_") for qw(start stop);

my $sid = session('127.0.0.4');
ok($sid, 'a front-door session');
my @r = map { [call('127.0.0.4', $sid, 'add')] } 1 .. 3;
is($r[0][2]{result}{content}[0]{text}, '5', 'add 1 passes');
is($r[1][2]{result}{content}[0]{text}, '5', 'add 2 passes');
is($r[2][0], 200, 'the refused call is an HTTP 200 ...');
is($r[2][2]{error}{code}, -32029, '... with a JSON-RPC error');
like($r[2][2]{error}{message} // '', qr/^Rate limit exceeded: more than 2 requests at once \(0\.001 per second\) for this tool; retry in \d+s$/,
     'the per-tool bucket (burst 2) refused the third add');
is($r[2][2]{error}{data}{limit}, 2, 'its data has the limit');
ok($r[2][1]{'retry-after'} && $r[2][1]{'retry-after'} == $r[2][2]{error}{data}{retry_after},
   'and Retry-After is the retry_after of the data');

# the refused add took nothing from the principal's bucket (4 calls)
@r = map { [call('127.0.0.4', $sid, $_)] } qw(echo pid env);
is($r[0][2]{result}{content}[0]{text}, 'hi', 'echo passes (call 3 of 4)');
like($r[1][2]{result}{content}[0]{text} // '', qr/^\d+$/, 'pid passes (call 4 of 4)');
like($r[2][2]{error}{message} // '', qr/more than 4 requests at once .* for this principal;/,
     'the fifth call, of a tool not called before, is refused by the principal bucket');

# another client still calls add
my $sid2 = session('127.0.0.5');
@r = call('127.0.0.5', $sid2, 'add');
is($r[2]{result}{content}[0]{text}, '5', 'another address calls add');

# the pass-through takes from the same buckets
sub pass_call ($$) {
    my ($ip, $tool) = @_;
    my ($st, $h, $b) = from($ip, POST => '/mcp/math',
        qq({"jsonrpc":"2.0","id":@{[ $n++ ]},"method":"tools/call","params":{"name":"$tool","arguments":{"a":2,"b":3}}}),
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream' });
    return ($st, $h, $b);
}
my @p = map { [pass_call('127.0.0.6', 'add')] } 1 .. 3;
like($p[0][2] // '', qr/"text":"5"/, 'pass-through: add 1 passes');
like($p[1][2] // '', qr/"text":"5"/, 'pass-through: add 2 passes');
is($p[2][0], 429, 'pass-through: the third add is refused with 429');
like($p[2][2] // '', qr/"code":-32029.*Rate limit exceeded: more than 2 requests at once/s,
     '... and the JSON-RPC error of the per-tool bucket');
ok($p[2][1]{'retry-after'}, '... with Retry-After');
@p = pass_call('127.0.0.7', 'add');
like($p[2] // '', qr/"text":"5"/, 'pass-through: another address still calls add');

# the REST bucket is not the tools/call bucket
($st) = from('127.0.0.4', DELETE => '/api/mcp_servers/nope');
is($st, 404, 'REST commands of a client count apart from its calls');

is(nginx_stop(), '', 'nginx stopped');

# ---- the bucket table is bounded: the least recently used goes --------

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => <<"FILES",
>>> conf/hangar.yaml
rate_limit:
  rps: 0.001
  burst: 1
  max_buckets: 2
FILES
});

($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 1: its one command');
($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 429, 'client 1: then 429');
($st) = from('127.0.1.2', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 2: its one command (2 buckets)');
($st) = from('127.0.1.3', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 3: its one command; client 1 was evicted');
($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 1 starts over with a full bucket');
($st) = from('127.0.1.3', DELETE => '/api/mcp_servers/a');
is($st, 429, 'client 3 kept its empty bucket (it was used most recently)');

is(nginx_stop(), '', 'nginx stopped');

# ---- the defaults: 10 per second (the burst is shown in TEST 13 of
# t/251-limits-config.t); the suite's harness opens the limits wide, so
# this block sets the rate back to its default --------------------------

nginx_start({
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    env         => "MCP_RATE_LIMIT_RPS=\nMCP_RATE_LIMIT_BURST=1\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers: {}\n",
});

my @res = pipelined('127.0.2.1', map { [DELETE => "/api/mcp_servers/p$_"] } 1 .. 20);
is(scalar @res, 20, '20 pipelined commands answered');
is($res[0][0], 404, 'the first passed');
my ($limited) = grep { $_->[0] == 429 } @res;
like($limited->[2] // '', qr/\A\{"error":"RateLimitExceeded","message":"Rate limit exceeded: more than 1 requests at once \(10 per second\) for this principal; retry in 1s","status_code":429,"details":\{"limit":1,"retry_after":1,"scope":"principal"\}\}\z/,
     'a later one got 429: the rate is 10 per second, a token in 1 s at most');
is($limited->[1]{'retry-after'}, '1', 'Retry-After: 1 (never 0)');

is(nginx_stop(), '', 'nginx stopped');

no_alerts();

# ---- the failed-authentication lockout -----------------------------------

my $GOOD = 'mcp_good_key_0123456789abcdef';
my $BAD = 'mcp_bad_key_0123456789abcdefgh';

sub auth_yaml ($) {
    my $rl = shift;
    return ">>> conf/hangar.yaml\nauth:\n  enabled: true\n$rl"
         . "  api_keys:\n    - {name: good, principal_id: admin, key: \"$GOOD\"}\n"
         . "  role_assignments:\n    - {principal: admin, role: admin}\n"
         . "mcp_servers: {}\n";
}

sub attempt ($;$) {
    my ($ip, $key) = @_;
    my ($st, $h, $b) = from($ip, GET => '/api/mcp_servers', undef,
                            defined $key ? { 'X-API-Key' => $key } : {});
    return [$st, $h, $b];
}

sub locked ($) { ($_[0][2] // '') =~ /Too many auth attempts/ }

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => auth_yaml(''),
});

# a keep-alive connection to each worker (the probe has no credential,
# which is not a failed attempt)
my %conn = worker_conns('/api/system/me');
my @w = sort keys %conn;
is(scalar @w, 2, 'a connection to each worker');

my @st;
for (1 .. 5) {
    push @st, ka($conn{$_}, '127.0.0.2', GET => '/api/mcp_servers', $BAD) for @w;
}
is(join(',', map { $_->[0] } @st), join(',', (401) x 10), '10 bad keys, 5 on each worker: 401');
is(scalar(grep { locked($_) } @st), 0, 'none of them was refused by the lockout');
like($st[0][2], qr/"message":"Invalid API key"/, 'they are refused as invalid keys');

my $r = ka($conn{ $w[0] }, '127.0.0.2', GET => '/api/mcp_servers', $BAD);
is($r->[0], 401, 'the 11th attempt: 401');
like($r->[2], qr/"message":"Too many auth attempts\. Retry in 300s\."/, 'locked out for 300 s');
like($r->[2], qr/"details":\{"auth_method":"rate_limit","retry_after":300\.0\}/, 'details name the lockout');
is($r->[1]{'retry-after'}, '300', 'Retry-After: 300');

$r = ka($conn{ $w[1] }, '127.0.0.2', GET => '/api/mcp_servers', $GOOD);
is($r->[0], 401, 'the other worker refuses the good key of the locked address');
ok(locked($r), '... because of the lockout');
$r = attempt('127.0.0.2');
ok(locked($r), 'a request without a credential from there is refused as locked too');
close $_ for values %conn;

$r = attempt('127.0.0.3', $GOOD);
is($r->[0], 200, 'another address is not locked (the key is the address)');

my @none = map { attempt('127.0.0.4') } 1 .. 12;
is(scalar(grep { $_->[0] == 401 && $_->[2] =~ /MissingCredentialsError|Authentication required/ } @none), 12,
   '12 requests without a credential: 401');
is(attempt('127.0.0.4', $GOOD)->[0], 200, 'they were not failed attempts');

# a success deletes the tracker
my @f = map { attempt('127.0.0.5', $BAD) } 1 .. 9;
is(attempt('127.0.0.5', $GOOD)->[0], 200, '9 failures, then a success');
push @f, map { attempt('127.0.0.5', $BAD) } 1 .. 9;
is(attempt('127.0.0.5', $GOOD)->[0], 200, '9 more failures, then a success: not locked');
is(scalar(grep { locked($_) } @f), 0, 'the success started the count over');

is(nginx_stop(), '', 'nginx stopped');
my $log = Hangar::Test::slurp(servroot() . '/logs/error.log');
like($log, qr/\[warn\].*hangar: 127\.0\.0\.2 locked out of authentication for 300 s after too many failures \(lockout 1\)/,
     'the lockout is logged');
no_alerts();

# ---- with auth on, the rate limits count per principal ---------------

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => ">>> conf/hangar.yaml\nrate_limit: {rps: 0.001, burst: 2}\n"
                 . "auth:\n  enabled: true\n  api_keys:\n"
                 . "    - {name: one, principal_id: alice, key: \"$GOOD\"}\n"
                 . "    - {name: two, principal_id: bob, key: \"${GOOD}2\"}\n"
                 . "  role_assignments:\n    - {principal: alice, role: admin}\n"
                 . "    - {principal: bob, role: admin}\n",
});

sub del_as ($$) {
    my ($ip, $key) = @_;
    return (from($ip, DELETE => '/api/mcp_servers/none', undef,
                 { 'X-API-Key' => $key }))[0];
}
is(join(',', map { del_as('127.0.5.1', $GOOD) } 1 .. 3), '404,404,429',
   'alice: her 2 commands, then 429');
is(del_as('127.0.5.2', $GOOD), 429, 'alice from another address: the same bucket');
is(del_as('127.0.5.1', "${GOOD}2"), 404, 'bob from alice\'s address: his own bucket');
is(nginx_stop(), '', 'nginx stopped');
no_alerts();

# ---- expiry and escalation, with small values ---------------------------

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => auth_yaml("  rate_limit: {max_attempts: 2, window_seconds: 60, lockout_seconds: 1}\n"),
});

@f = map { attempt('127.0.0.6', $BAD) } 1 .. 2;
is(scalar(grep { locked($_) } @f), 0, '2 failures (max_attempts 2)');
$r = attempt('127.0.0.6', $GOOD);
like($r->[2], qr/Retry in 1s\./, 'the third attempt starts a 1 s lockout');
Time::HiRes::sleep(1.3);
@f = map { attempt('127.0.0.6', $BAD) } 1 .. 2;
is(scalar(grep { locked($_) } @f), 0, 'after 1 s the address may try again (2 failures)');
$r = attempt('127.0.0.6', $BAD);
like($r->[2], qr/Retry in 2s\./, 'the second lockout lasts twice as long');
ok(locked(attempt('127.0.0.6', $GOOD)), 'a good key is refused while it lasts');
Time::HiRes::sleep(2.3);
is(attempt('127.0.0.6', $GOOD)->[0], 200, 'it expires: a good key passes');
@f = map { attempt('127.0.0.6', $BAD) } 1 .. 2;
$r = attempt('127.0.0.6', $BAD);
like($r->[2], qr/Retry in 1s\./, 'the success reset the escalation: 1 s again');

is(nginx_stop(), '', 'nginx stopped');
$log = Hangar::Test::slurp(servroot() . '/logs/error.log');
like($log, qr/hangar: authentication lockout of 127\.0\.0\.6 ended/, 'the end of a lockout is logged');
like($log, qr/127\.0\.0\.6 locked out of authentication for 2 s after too many failures \(lockout 2\)/,
     'the escalated lockout is logged');
no_alerts();

# ---- the tracker table is bounded ----------------------------------------

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => auth_yaml("  rate_limit: {max_attempts: 2, lockout_seconds: 300, max_trackers: 2}\n"),
});

# full of unlocked trackers: the oldest makes room
attempt($_, $BAD) for qw(127.0.3.1 127.0.3.2 127.0.3.3);
$r = attempt('127.0.3.1', $BAD);
ok(!locked($r), 'a third address evicted the oldest tracker (127.0.3.1)');
$r = attempt('127.0.3.1', $BAD);
ok(!locked($r), '127.0.3.1 starts over: its second failure');
$r = attempt('127.0.3.1', $BAD);
ok(locked($r), 'and it is locked at the next attempt, as any address');

is(nginx_stop(), '', 'nginx stopped');
no_alerts();

nginx_start({
    workers     => 2,
    timeout     => 30,
    http_config => $http,
    config      => $locations,
    user_files  => auth_yaml("  rate_limit: {max_attempts: 2, lockout_seconds: 300, max_trackers: 2}\n"),
});

for my $ip (qw(127.0.4.1 127.0.4.2)) {
    attempt($ip, $BAD) for 1 .. 2;
    ok(locked(attempt($ip, $BAD)), "$ip locked");
}
@f = map { attempt('127.0.4.3', $BAD) } 1 .. 6;
is(join(',', map { $_->[0] } @f), join(',', (401) x 6), 'a third address: its bad keys are refused');
is(scalar(grep { locked($_) } @f), 0, 'but not counted while every tracker is locked (fail open)');
ok(locked(attempt('127.0.4.1', $GOOD)), 'the locked addresses stay locked');
ok(locked(attempt('127.0.4.2', $GOOD)), '(both)');

is(nginx_stop(), '', 'nginx stopped');
$log = Hangar::Test::slurp(servroot() . '/logs/error.log');
my @alerts = $log =~ /\[alert\][^\n]*/g;
ok(@alerts >= 1 && @alerts <= 2, 'one [alert] per worker at most, not one per attempt: ' . scalar(@alerts));
like($alerts[0] // '', qr/failed authentication from 127\.0\.4\.3 not counted: the lockout table of zone "hangar" is full/,
     'the alert says why');
no_alerts(qr/not counted: the lockout table/);

Test::More::done_testing();
