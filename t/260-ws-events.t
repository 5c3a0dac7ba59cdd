# GET /api/ws/events: the event stream on a WebSocket served by the module
# (hangar-core.md §5): handshake, subscribe and filters, events of every
# worker, a slow subscriber, keep-alive, close codes, hostile frames,
# resuming with ?since.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use Hangar::WS;

# the keep-alive is short here (also the wait for a pong): longer under
# valgrind, where a worker answers many times slower
my $ping = Hangar::Test::valgrind_on() ? '6s' : '1s';
my $http = <<"CONF";
    hangar_zone hangar 1m;
    hangar_state \$TEST_NGINX_STATE_DIR;
    hangar_events_ping $ping;
CONF

sub create {
    my ($id) = @_;
    my ($st) = http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"$id","mode":"subprocess","command":["node"]}));
    return $st;
}

sub subscribe {
    my ($ws, $msg) = @_;
    ws_send($ws, 1, $msg);
    return ws_json($ws, 5);
}

nginx_start({
    workers     => 2,
    timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
    env         => "MCP_CORS_ORIGINS=https://dash.example.com\n",
    http_config => $http,
    config      => "location /api/ { hangar_api; add_header X-Worker \$pid always; }\n",
});

# -- handshake ---------------------------------------------------------------
my ($ws, $st, $h) = ws_open('/api/ws/events');
is($st, 101, 'the handshake answers 101');
ok($h->{accept_ok}, 'Sec-WebSocket-Accept is SHA-1 of the key and the GUID');
like($h->{connection} // '', qr/upgrade/i, 'Connection: upgrade');
is(lc($h->{upgrade} // ''), 'websocket', 'Upgrade: websocket');

my $j = subscribe($ws, '{"type":"subscribe","event_types":["McpServerRegistered"],"mcp_server_ids":[]}');
is_deeply($j, { type => 'subscribed', event_types => ['McpServerRegistered'],
                mcp_server_ids => [] }, 'the first subscribe is acknowledged');

is(create("w$_"), 201, "create w$_") for 1 .. 6;
my @ev = ws_until($ws, sub { ($_[0]{mcp_server_id} // '') eq 'w6' }, 10);
my @reg = grep { ($_->{event_type} // '') eq 'McpServerRegistered' } @ev;
is(scalar @reg, 6, 'six McpServerRegistered events') or Test::More::diag(Test::More::explain(\@ev));
is(join(',', map { $_->{mcp_server_id} } @reg), join(',', map { "w$_" } 1 .. 6),
   'in order');
is(scalar(grep { $_->{event_type} ne 'McpServerRegistered' } @ev), 0,
   'nothing the filter excludes');
my $e = $reg[0];
ok($e->{event_id} =~ /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
   'event_id is a UUID');
ok($e->{occurred_at} > 1e9, 'occurred_at is epoch seconds');
ok(length($e->{produced_by} // ''), 'produced_by names the instance');
is($e->{source}, 'api', 'the payload is flat: source');
my @seq = map { $_->{seq} } @reg;
ok((grep { $seq[$_] <= $seq[$_ - 1] } 1 .. $#seq) == 0, 'seq increases');


# -- the creates went to both workers; their events all came here ---------
{
    my %w;
    my ($ws2) = ws_open('/api/ws/events');
    subscribe($ws2, '{"event_types":["McpServerRegistered"]}');
    for my $i (1 .. 12) {
        my ($st, $hh) = http_request(POST => '/api/mcp_servers',
            qq({"mcp_server_id":"x$i","mode":"subprocess","command":["node"]}));
        $w{ $hh->{'x-worker'} }++ if $st == 201;
    }
    is(scalar keys %w, 2, 'the servers were created through both workers');
    my @got = ws_until($ws2, sub { ($_[0]{mcp_server_id} // '') eq 'x12' }, 10);
    is(join(',', map { $_->{mcp_server_id} // '?' } @got),
       join(',', map { "x$_" } 1 .. 12),
       'one subscriber gets the events of both workers, in order');
}

# -- mcp_server_ids filters; another type with filter keys is ignored -------
{
    my ($w3) = ws_open('/api/ws/events');
    my $ack = subscribe($w3, '{"type":"subscribe","mcp_server_ids":["y2"]}');
    is_deeply($ack->{mcp_server_ids}, ['y2'], 'ack names the server filter');
    is_deeply($ack->{event_types}, [], 'and no type filter');
    ws_send($w3, 1, '{"type":"hello","mcp_server_ids":[],"event_types":["Nope"]}');
    ws_send($w3, 1, '{"type":"subscribe","mcp_server_ids":["y2","y3"]}');
    create("y$_") for 1 .. 4;
    http_request(DELETE => '/api/mcp_servers/y2');
    my @got = ws_until($w3, sub { ($_[0]{event_type} // '') eq 'McpServerDeregistered' }, 10);
    is(join(',', map { ($_->{type} // $_->{event_type}) . ':' . ($_->{mcp_server_id} // '') } @got),
       'McpServerRegistered:y2,McpServerRegistered:y3,McpServerStopped:y2,'
       . 'McpServerDeregistered:y2',
       'only y2 and y3 (a later subscribe applies silently; a message of '
       . 'another type carrying filters changes nothing)');
}

# -- bad handshakes ------------------------------------------------------------
{
    my (undef, $st, $hh) = ws_open('/api/ws/events', key => undef);
    is($st, 400, 'no Sec-WebSocket-Key: 400');
    like($hh->{body}, qr/"error":"ValidationError"/, 'with the envelope');
    (undef, $st) = ws_open('/api/ws/events', key => 'c2hvcnQ=');
    is($st, 400, 'a key that is not 16 bytes: 400');
    (undef, $st, $hh) = ws_open('/api/ws/events', version => 8,
                                headers => { 'Sec-WebSocket-Version' => 8 });
    is($st, 426, 'Sec-WebSocket-Version 8: 426');
    is($hh->{'sec-websocket-version'}, '13', 'naming the version spoken');
    (undef, $st, $hh) = ws_open('/api/ws/events', headers => { Upgrade => undef });
    is($st, 426, 'no Upgrade: 426');
    (undef, $st) = ws_open('/api/ws/events', headers => { Connection => 'keep-alive' });
    is($st, 400, 'no Connection: upgrade: 400');
    my ($pst) = http_request(POST => '/api/ws/events', '{}');
    is($pst, 405, 'POST: 405');
    (undef, $st, $hh) = ws_open('/api/ws/events',
                                headers => { Origin => 'https://evil.example' });
    is($st, 403, 'a page of an origin the API does not allow: 403');
    like($hh->{body}, qr/"error":"OriginNotAllowedError"/, 'with the envelope');
    my ($ow2);
    ($ow2, $st) = ws_open('/api/ws/events',
                          headers => { Origin => 'https://dash.example.com' });
    is($st, 101, 'an origin of MCP_CORS_ORIGINS gets the stream');
}

# -- ping/pong, keep-alive, close -------------------------------------------
{
    my ($w4) = ws_open('/api/ws/events');
    subscribe($w4, '{"type":"subscribe"}');
    ws_send($w4, 0x9, 'hello');
    my ($op, $p) = ws_recv($w4, 5);
    is($op, 0xa, 'a ping is answered with a pong');
    is($p, 'hello', 'carrying the ping payload');

    my $j = ws_json($w4, 5, raw => 1);
    is($j->{type}, 'ping', 'an idle stream gets a keep-alive {"type":"ping"}');
    ws_send($w4, 1, '{"type":"pong"}');
    $j = ws_json($w4, 5, raw => 1);
    is($j->{type}, 'ping', 'answered: the stream stays, the next ping comes');
    is(ws_close_code($w4, 5), '1008no pong',
       'a ping left unanswered closes with 1008');

    my ($w5) = ws_open('/api/ws/events');
    ws_send($w5, 0x8, pack('n', 1000) . 'bye');
    is(ws_close_code($w5, 5), '1000', 'a close 1000 is answered with 1000');
    is((ws_recv($w5, 5))[0], 'eof', 'and the server closes the connection');
}

# -- hostile frames --------------------------------------------------------------
my @hostile = (
    [ 'an unmasked frame', [[1, '{}', mask => 0]], '1002' ],
    [ 'RSV bits set', [[1, '{}', rsv => 4]], '1002' ],
    [ 'an unknown opcode', [[3, 'x']], '1002' ],
    [ 'a continuation with no message', [[0, 'x']], '1002' ],
    [ 'a new message inside a fragmented one', [[1, '{', fin => 0], [1, '}']], '1002' ],
    [ 'a fragmented ping', [[9, 'x', fin => 0]], '1002' ],
    [ 'a ping of 126 bytes', [[9, 'x' x 126]], '1002' ],
    [ 'a declared length of 1 GB', [[1, 'x', len => 1 << 30]], '1009' ],
    [ 'a frame over 16 KB', [[1, 'x' x 16385]], '1009' ],
    [ 'a message over 16 KB in fragments',
      [[1, 'x' x 9000, fin => 0], [0, 'x' x 9000]], '1009' ],
    [ 'a binary message', [[2, 'abc']], '1003' ],
    [ 'text that is not UTF-8', [[1, "\xc3\x28"]], '1007' ],
    [ 'text that is not JSON', [[1, 'not json']], '1007' ],
    [ 'a close code 999', [[8, pack('n', 999)]], '1002' ],
    [ 'a close frame of one byte', [[8, 'x']], '1002' ],
    [ 'too many filters',
      [[1, '{"type":"subscribe","event_types":[' . join(',', map { qq("t$_") } 1 .. 33) . ']}']],
      '1008' ],
);
for my $t (@hostile) {
    my ($name, $frames, $code) = @$t;
    my ($hw) = ws_open('/api/ws/events');
    ws_send($hw, @$_) for @$frames;
    my $got = ws_close_code($hw, 5) // 'none';
    is(substr($got, 0, 4), $code, "$name: close $code");
}
{
    my ($fw) = ws_open('/api/ws/events');
    ws_send($fw, 1, '{"type":"subs', fin => 0);
    ws_send($fw, 9, 'between');
    ws_send($fw, 0, 'cribe","event_types":', fin => 0);
    ws_send($fw, 0, '["A"]}');
    my (%op, $j);
    for (1 .. 2) {
        my ($op, $p) = ws_recv($fw, 5);
        $op{$op // 'none'} = $p;
    }
    is($op{0xa}, 'between', 'a ping between fragments is answered');
    $j = eval { JSON::PP::decode_json($op{1} // '') } // {};
    is_deeply($j->{event_types}, ['A'], 'a fragmented subscribe is assembled');

    my ($pw) = ws_open('/api/ws/events',
        after => "\x81\x80abcd");   # an empty masked text frame right behind
    my $c = ws_close_code($pw, 3);
    is($c // 'none', '1007a message must be JSON',
       'a frame sent with the handshake is read');
}
{
    # the longest filters of the worst bytes: every one escapes to 6 bytes
    my $t = '"' . ('\\u0001' x 47) . '"';
    my $i = '"' . ('\\u0002' x 64) . '"';
    my ($bw) = ws_open('/api/ws/events');
    my $ack = subscribe($bw, '{"type":"subscribe","event_types":['
                             . join(',', ($t) x 32) . '],"mcp_server_ids":['
                             . join(',', ($i) x 10) . ']}');
    is($ack->{type}, 'subscribed', 'filters of escaped bytes: a valid ack');
    ok(@{ $ack->{event_types} } >= 1 && @{ $ack->{mcp_server_ids} } < 10,
       'listing what fits of the filters');
    ws_send($bw, 0x9, 'still');
    my ($op, $p) = ws_recv($bw, 5);
    is($p, 'still', 'and the connection goes on');
}
my ($ok) = http_request(GET => '/api/mcp_servers');
is($ok, 200, 'the workers serve on after the hostile clients');

no_alerts();
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('the stream') if Hangar::Test::valgrind_on();

# -- a slow subscriber, resuming with ?since ---------------------------------
# A second server sends through a 4 KB socket buffer to a client reading
# through 4 KB: the subscriber that stops reading falls behind the ring.
my $slow = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1);
    my $p = $s->sockport; close $s; $p;
};
nginx_start({
    workers     => 2,
    timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    server { listen 127.0.0.1:$slow sndbuf=4k; "
                 . "location /api/ { hangar_api; } }\n",
    config      => "location /api/ { hangar_api; }\n",
});
{
    my ($sw) = ws_open('/api/ws/events', port => $slow, rcvbuf => 4096);
    my $ack = subscribe($sw, '{"type":"subscribe"}');
    is($ack->{type}, 'subscribed', 'the slow subscriber subscribed');

    my $rss = sub {
        my $sum = 0;
        $sum += (slurp_status($_) =~ /VmRSS:\s+(\d+)/)[0] // 0
            for Hangar::Test::worker_pids(master_pid());
        return $sum;
    };
    my $before = $rss->();
    my $n = 0;
    for my $i (1 .. 150) {
        $n++ if create("s$i") == 201;
        my ($st) = http_request(DELETE => "/api/mcp_servers/s$i");
        $n += 2 if $st == 200;       # McpServerStopped, McpServerDeregistered
    }
    is($n, 450, '450 events made while the subscriber did not read');
    my $grew = $rss->() - $before;
    Test::More::diag("workers' RSS grew by $grew kB");

    my @got = ws_until($sw, sub { ($_[0]{event_type} // '') eq 'McpServerDeregistered'
                                  && $_[0]{mcp_server_id} eq 's150' }, 20);
    my @warn = grep { ($_->{type} // '') eq 'warning' } @got;
    my @ev = grep { $_->{event_type} } @got;
    ok(@warn >= 1, 'the subscriber is told with a warning frame');
    is($warn[0]{reason}, 'slow_subscriber', 'naming the reason');
    my $dropped = 0;
    $dropped += $_->{dropped} for @warn;
    ok($dropped > 0, "the oldest were dropped ($dropped)");
    is($dropped + @ev, 450, 'every event was delivered or counted as dropped');
    my @seq = map { $_->{seq} } @ev;
    ok((grep { $seq[$_] <= $seq[$_ - 1] } 1 .. $#seq) == 0, 'what came is in order');
    is($ev[-1]{mcp_server_id}, 's150', 'the newest events were kept');
    my ($gap) = grep { $seq[$_] - $seq[$_ - 1] > 1 } 1 .. $#seq;
    ok(defined $gap, 'the gap is where the oldest queued events were dropped');

    # resume: events made while no one listened come after ?since=<seq>
    my $last = $ev[-1]{seq};
    close $sw->{sock};
    create("r$_") for 1 .. 3;
    my ($rw) = ws_open("/api/ws/events?since=$last");
    subscribe($rw, '{"event_types":["McpServerRegistered"]}');
    my @r = ws_until($rw, sub { ($_[0]{mcp_server_id} // '') eq 'r3' }, 10);
    is(join(',', map { $_->{mcp_server_id} // $_->{type} } @r), 'r1,r2,r3',
       '?since resumes with the events the client missed, in order');
    is($r[0]{seq}, $last + 1, 'from the sequence after the one it saw');

    # a sequence the ring no longer has: told first, then the stream goes on
    my ($ow) = ws_open('/api/ws/events?since=1');
    my $w = ws_json($ow, 5);
    is($w->{type}, 'warning', 'a since older than the ring: a warning first');
    is($w->{reason}, 'ring_passed', 'the ring moved past it');
    ok($w->{oldest_seq} > 2, "naming the oldest sequence available ($w->{oldest_seq})");
    is($w->{lost}, $w->{oldest_seq} - 2, 'and how many were lost');
    subscribe($ow, '{"event_types":["McpServerRegistered"]}');
    my @o = ws_until($ow, sub { ($_[0]{mcp_server_id} // '') eq 'r3' }, 10);
    ok(($o[0]{seq} // 0) >= $w->{oldest_seq},
       'the stream continues from the oldest event in the ring');
    ok((grep { ($_->{mcp_server_id} // '') eq 'r3' } @o), 'up to the newest event');

    my ($bad) = http_request(GET => '/api/ws/events?since=x',
        undef, { Upgrade => 'websocket', Connection => 'Upgrade',
                 'Sec-WebSocket-Version' => 13,
                 'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==' });
    is($bad, 422, 'since must be a number');
}
no_alerts();
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('a slow subscriber') if Hangar::Test::valgrind_on();

# -- auth: the stream needs audit:read --------------------------------------
{
    my %k = (aud => 'mcp_auditor_key_0123456789', dev => 'mcp_developer_key_0123456789');
    nginx_start({
        timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
        http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_config conf/hangar.yaml;\n",
        config      => "location /api/ { hangar_api; }\n",
        user_files  => ">>> conf/hangar.yaml\nauth:\n  enabled: true\n  api_keys:\n"
                     . "    - {name: a, principal_id: \"svc:a\", key: \"$k{aud}\"}\n"
                     . "    - {name: d, principal_id: \"svc:d\", key: \"$k{dev}\"}\n"
                     . "  role_assignments:\n    - {principal: \"svc:a\", role: auditor}\n"
                     . "    - {principal: \"svc:d\", role: developer}\nmcp_servers: {}\n",
    });
    my (undef, $st) = ws_open('/api/ws/events');
    is($st, 401, 'auth on: no credential is 401');
    (undef, $st) = ws_open('/api/ws/events', headers => { 'X-API-Key' => $k{dev} });
    is($st, 403, 'a developer (no audit:read) is 403');
    my ($aw);
    ($aw, $st) = ws_open('/api/ws/events', headers => { 'X-API-Key' => $k{aud} });
    is($st, 101, 'an auditor (audit:read) gets the stream');

    # ?token= (hangar-security.md §1.2, row 36): an "mcp_" token is a key
    my $tw;
    ($tw, $st) = ws_open("/api/ws/events?since=0&token=$k{aud}");
    is($st, 101, '?token=<an auditor key> gets the stream');
    my $tj = $tw && subscribe($tw, '{"event_types":["*"]}');
    is($tj && $tj->{type}, 'subscribed', 'and subscribes');
    ($tw, $st) = ws_open("/api/ws/events?token=Bearer%20$k{aud}");
    is($st, 101, 'a "Bearer " prefix in the value is kept, not doubled');
    my $bad = 'mcp_not_a_key_of_ours_4242424242';
    (undef, $st, my $bh) = ws_open("/api/ws/events?token=$bad");
    is($st, 401, 'a bad ?token= is refused before the upgrade: 401');
    like($bh->{body} // '', qr/"error":"\w+"/, 'with the envelope');
    (undef, $st) = ws_open("/api/ws/events?token=$k{dev}");
    is($st, 403, '?token=<a developer key> (no audit:read) is 403');
    (undef, $st) = ws_open("/api/ws/events?token=$k{aud}",
                           headers => { 'X-API-Key' => $k{dev} });
    is($st, 403, 'a key header wins over ?token=');
    (undef, $st) = ws_open("/api/ws/events?token=");
    is($st, 401, 'an empty ?token= is no credential');
    my ($ast) = http_request(GET => "/api/mcp_servers?token=mcp_elsewhere_0123456789");
    is($ast, 401, '?token= is for the event stream only');
    # nginx's own debug lines show the request as it arrived; every line
    # above debug, and the access log, come after the token is blanked
    my $logs = join('', grep { !/\[debug\]/ } split /^/,
                    Hangar::Test::slurp(servroot() . '/logs/error.log'))
             . Hangar::Test::slurp(servroot() . '/logs/access.log');
    like($logs, qr{GET /api/ws/events\?token=\*+ }, 'the access log has the '
         . 'request, its token blanked');
    unlike($logs, qr/\Q$_\E/, "no log names the token $_")
        for $k{dev}, $bad, substr($k{aud}, 4);
    no_alerts();
    is(nginx_stop(), '', 'nginx stopped');
    Hangar::Test::check_valgrind('auth') if Hangar::Test::valgrind_on();
}

# -- the lifecycle of a server and its calls, as events ------------------------
{
    my $SERVER = "$FindBin::Bin/servers/hangar-test-server";
    nginx_start({
        workers     => 2,
        timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
        http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_config conf/hangar.yaml;\n    hangar_mcp_naming prefixed;\n",
        config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                     . "  math:\n    command: [perl, $SERVER, --name, math]\n"
                     . "    health_check_interval_s: 5\n",
    });
    my ($lw) = ws_open('/api/ws/events');
    subscribe($lw, '{"type":"subscribe","mcp_server_ids":["math"]}');
    my ($st) = http_request(POST => '/api/mcp_servers/math/start');
    is($st, 200, 'math started');
    my @e = ws_until($lw, sub { ($_[0]{event_type} // '') eq 'McpServerStarted' }, 20);
    is(join(',', map { $_->{event_type} eq 'McpServerStateChanged'
                       ? "$_->{old_state}>$_->{new_state}" : $_->{event_type} } @e),
       'cold>initializing,initializing>ready,McpServerStarted',
       'a start: two state changes, then McpServerStarted');
    is($e[-1]{mode}, 'subprocess', 'McpServerStarted names the mode');
    ok($e[-1]{tools_count} > 3, 'the tools count');
    ok(exists $e[-1]{startup_duration_ms}, 'and the startup duration');

    my $json = JSON::PP->new;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    my (undef, $ih) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,'
        . '"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        . '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}', \%h);
    $h{'Mcp-Session-Id'} = $ih->{'mcp-session-id'};
    for my $c (['echo', '{"text":"hi"}'], ['error', '{"code":-32001,"message":"no"}']) {
        http_request(POST => '/mcp', qq({"jsonrpc":"2.0","id":2,"method":"tools/call",)
                     . qq("params":{"name":"math__$c->[0]","arguments":$c->[1]}}), \%h);
    }
    @e = ws_until($lw, sub { ($_[0]{event_type} // '') eq 'ToolInvocationFailed' }, 20);
    my ($ok) = grep { $_->{event_type} eq 'ToolInvocationCompleted' } @e;
    is($ok->{tool_name}, 'echo', 'ToolInvocationCompleted names the tool');
    ok(exists $ok->{duration_ms} && $ok->{result_size_bytes} > 0,
       'with its duration and result size');
    like($ok->{correlation_id} // '', qr/^[0-9a-f-]{36}$/, 'and a correlation id');
    is($e[-1]{tool_name}, 'error', 'ToolInvocationFailed for the JSON-RPC error');
    like($e[-1]{error_type} // '', qr/^-32[0-9]{3}$/,
         'with its error type: the JSON-RPC code, as the tool history has it');

    @e = ws_until($lw, sub { ($_[0]{event_type} // '') eq 'HealthCheckPassed' }, 20);
    is($e[-1]{event_type}, 'HealthCheckPassed', 'a health check passes: an event');
    is($e[-1]{mcp_server_id}, 'math', 'naming the server');

    ($st) = http_request(POST => '/api/mcp_servers/math/stop');
    @e = ws_until($lw, sub { ($_[0]{event_type} // '') eq 'McpServerStopped' }, 20);
    is(join(',', map { $_->{event_type} eq 'McpServerStateChanged'
                       ? "$_->{old_state}>$_->{new_state}" : $_->{event_type} } @e),
       'ready>cold,McpServerStopped', 'a stop: ready to cold, McpServerStopped');
    is($e[-1]{reason}, 'user_request', 'with the reason of the stop');
    no_alerts();
    is(nginx_stop(), '', 'nginx stopped');
    Hangar::Test::check_valgrind("a server's lifecycle") if Hangar::Test::valgrind_on();
}

sub slurp_status { my $f = "/proc/$_[0]/status"; open my $fh, '<', $f or return ''; local $/; <$fh> }

Test::More::done_testing();
