# Server-to-client requests (sampling, elicitation, roots), log messages
# and cancellation during a call: the official SDK client with its
# handlers against server-everything (stdio behind the bridge) through the
# front door /mcp and through the pass-through /mcp/<server>; answers
# POSTed to either worker; hostile answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK && -f $EV;

my $json = JSON::PP->new->canonical;

my %ALL = (sampling => {}, elicitation => { form => {}, url => {} }, roots => { listChanged => JSON::PP::true });

# the SDK peer: one JSON line per step
sub peer ($$$) {
    my ($path, $caps, $steps) = @_;
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . $path;
    my @lines = `$NODE $REPO/t/servers/sdk-peer.mjs $url '@{[ $json->encode($caps) ]}' '@{[ $json->encode($steps) ]}' 2>&1`;
    my @out = map { eval { $json->decode($_) } // { raw => $_ } } @lines;
    diag(join '', map { $_->{raw} } grep { $_->{raw} } @out) if grep { $_->{raw} } @out;
    return @out;
}

# GET /status of a server's bridge, on its unix socket
sub bridge_status ($) {
    my ($name) = @_;
    for my $sock (glob(servroot() . "/state/run/*.sock")) {
        my $c = IO::Socket::UNIX->new(Peer => $sock) or next;
        print $c "GET /status HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
        local $/;
        my $r = <$c> // '';
        $r =~ s/\A.*?\r\n\r\n//s;
        my $st = eval { $json->decode($r) } // {};
        return $st if ($st->{id} // '') eq $name;
    }
    return {};
}

sub text_of { my ($o) = @_; return join "\n", map { $_->{text} // '' } @{ $o->{result}{content} || [] } }

# a remote peer: server-everything over Streamable HTTP, on 127.0.0.1
my $rport = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1)->sockport;
my $remote = fork // die;
if (!$remote) {
    $ENV{PORT} = $rport;
    $ENV{NODE_OPTIONS} = "--require $REPO/t/servers/bind-localhost.cjs";
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec $NODE, $EV, 'streamableHttp';
    exit 127;
}
END { local $?; if ($remote) { kill "TERM", $remote; waitpid $remote, 0 } }
my $rdeadline = time + 20;
sleep 0.1 until IO::Socket::INET->new(PeerAddr => "127.0.0.1:$rport") || time > $rdeadline;

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "add_header X-Worker \$pid always;\n"
                 . "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location = /mcpp { hangar_mcp; hangar_mcp_naming prefixed; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  everything:\n    command: [$NODE, $EV, stdio]\n"
                 . "  perl:\n    command: [perl, $REPO/t/servers/hangar-test-server, --log-tool,"
                 . " --tools, 'log,sample,sleep,echo']\n"
                 . "  remote:\n    mode: remote\n    endpoint: http://127.0.0.1:$rport/mcp\n",
});

# both started, and server-everything's tools for a client with every
# capability registered (it adds them after initialize)
http_request(POST => "/api/mcp_servers/$_/start", '') for qw(everything perl remote);
my $tools = '';
my $deadline = time + (Hangar::Test::valgrind_on() ? 180 : 30);
my $rtools = '';
until ($tools =~ /trigger-url-elicitation/ && $tools =~ /"log"/
       && $rtools =~ /trigger-url-elicitation/ || time > $deadline) {
    sleep 0.3;
    (undef, undef, $tools) = http_request(GET => '/api/mcp_servers/everything/tools', undef);
    (undef, undef, $rtools) = http_request(GET => '/api/mcp_servers/remote/tools', undef);
    $tools .= (http_request(GET => '/api/mcp_servers/perl/tools', undef))[2];
}
like($tools, qr/"log"/, 'the servers started');
like($tools, qr/trigger-sampling-request/, 'the stdio server offers its sampling tool: the bridge declared sampling');
like($tools, qr/trigger-elicitation-request/, '... elicitation (form)');
like($tools, qr/trigger-url-elicitation/, '... elicitation (url)');
like($tools, qr/get-roots-list/, '... roots');
like($rtools, qr/trigger-url-elicitation.*get-roots-list|get-roots-list.*trigger-url-elicitation/s,
     'the remote too: the module declared sampling, elicitation and roots');

# ---------------------------------------------------------------- the SDK client

my @CALLS = (
    { call => 'trigger-sampling-request', arguments => { prompt => 'tell a joke', maxTokens => 50 } },
    { call => 'trigger-elicitation-request', arguments => {} },
    { call => 'trigger-url-elicitation', arguments => { url => 'https://example.com/consent' } },
    { call => 'get-roots-list', arguments => {} },
);

sub full_peer ($$$$$;$) {
    my ($label, $path, $prefix, $cancel, $after, $roots_outside) = @_;

    my @o = peer($path, \%ALL, [(map { { %$_, call => "$prefix$_->{call}" } } @CALLS),
                                { %$cancel, cancelAfterMs => 700 }, $after]);
    my ($sample, $form, $url, $roots, $cancelled, $next) = @o[1 .. 6];

    like(text_of($sample), qr/client sampled: .*tell a joke/,
         "$label: sampling answered by the client's handler, its text in the result")
        or diag($json->encode($sample));
    is_deeply($sample->{asked}, ['sampling/createMessage'], "$label: the client was asked once");
    like(text_of($form), qr/User provided the requested information/,
         "$label: elicitation (form) answered") or diag($json->encode($form));
    is_deeply($form->{asked}, ['elicitation/create:form'], "$label: ... in form mode");
    ok(!$url->{error} && !$url->{result}{isError}, "$label: elicitation (url) answered")
        or diag($json->encode($url));
    is_deeply($url->{asked}, ['elicitation/create:url'], "$label: ... in url mode");
    if ($roots_outside) {
        # server-everything over HTTP sends roots/list on its GET stream,
        # not the call's: outside any call, it goes to the GET stream of
        # the session that called last (the SDK client holds one)
        like(text_of($roots), qr{file:///srv/hangar-root},
             "$label: roots/list outside the call reaches the client's GET stream and is answered")
            or diag($json->encode($roots));
    } else {
        like(text_of($roots), qr{file:///srv/hangar-root}, "$label: roots/list answered")
            or diag($json->encode($roots));
    }
    ok($cancelled->{error}, "$label: the cancelled call ends for the client")
        or diag($json->encode($cancelled));
    ok(($cancelled->{ms} // 1e9) < 5000, "$label: ... at once ($cancelled->{ms} ms)");
    ok(text_of($next) ne '' && !$next->{result}{isError}, "$label: the next call works")
        or diag($json->encode($next));
}

sub log_peer ($$$) {
    my ($label, $path, $tool) = @_;

    my @o = peer($path, \%ALL, [{ setLevel => 'debug' }, { call => $tool, arguments => { lines => 3 } }]);
    is(text_of($o[2]), 'logged 3', "$label: a call that logs") or diag($json->encode(\@o));
    is_deeply([ map { $_->{data} } @{ $o[2]{logs} || [] } ], ['log 1', 'log 2', 'log 3'],
              "$label: its notifications/message reach the client during the call");
}

full_peer('front door', '/mcpp', 'everything__', { call => 'perl__sleep', arguments => { ms => 20000 } },
          { call => 'perl__sample', arguments => { prompt => 'after' } });
log_peer('front door', '/mcpp', 'perl__log');
my $bs = bridge_status('perl');
is_deeply([ $bs->{pending}, $bs->{server_requests} ], [0, 0],
          'front door: nothing left pending in the bridge after the cancel');

my ($st, $h, $b) = http_request(GET => '/api/mcp_servers/perl/logs?lines=50', undef);
like($b, qr/request \d+ cancelled/, 'front door: the server got the cancellation, with its own id');

full_peer('pass-through', '/mcp/everything', '',
          { call => 'trigger-long-running-operation', arguments => { duration => 20, steps => 20 } },
          { call => 'get-sum', arguments => { a => 2, b => 3 } });
log_peer('pass-through', '/mcp/perl', 'log');
$bs = bridge_status('everything');
is_deeply([ $bs->{pending}, $bs->{server_requests} ], [0, 0],
          'pass-through: nothing left pending in the bridge after the cancel');
is($bs->{sessions}, 1, 'pass-through: the sessions the clients ended are gone, the module\'s stays');

# a remote server: its requests come on the call's stream, answers go back
# in the module's session with it
full_peer('front door, remote', '/mcpp', 'remote__',
          { call => 'remote__trigger-long-running-operation', arguments => { duration => 20, steps => 20 } },
          { call => 'remote__get-sum', arguments => { a => 2, b => 3 } }, 1);

# ---------------------------------------------------------------- without the capability

for my $p (['front door', '/mcpp', 'everything__'], ['pass-through', '/mcp/everything', ''],
           ['front door, remote', '/mcpp', 'remote__']) {
    my @o = peer($p->[1], { sampling => {} }, [{ call => "$p->[2]trigger-elicitation-request", arguments => {} },
                                               { call => "$p->[2]trigger-url-elicitation",
                                                 arguments => { url => 'https://example.com/x' } }]);
    for my $r (@o[1, 2]) {
        my $why = $r->{error} // text_of($r);
        ok($r->{error} || $r->{result}{isError}, "$p->[0], no elicitation: $r->{call} fails")
            or diag($json->encode($r));
        like($why, qr/does not support elicitation|no connected client supports elicitation/,
             "$p->[0], no elicitation: ... with a clear message");
        ok(($r->{ms} // 1e9) < 5000, "$p->[0], no elicitation: ... at once ($r->{ms} ms)");
        is_deeply($r->{asked}, [], "$p->[0], no elicitation: the client is never asked");
    }
}

# ---------------------------------------------------------------- raw HTTP, two workers

# a keep-alive connection, and one request/response on it
sub conn () {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) // die "connect: $!";
}

sub send_post ($$$) {
    my ($c, $body, $sid) = @_;
    print $c "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           . "Accept: application/json, text/event-stream\r\n"
           . ($sid ? "Mcp-Session-Id: $sid\r\nMCP-Protocol-Version: 2025-11-25\r\n" : '')
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

sub read_head ($) {
    my ($c) = @_;
    my $head = '';
    while ($head !~ /\r\n\r\n\z/) {
        sysread($c, my $ch, 1) or last;
        $head .= $ch;
    }
    my %h = map { lc } $head =~ /^([^:\r\n]+):\s*(.*?)\r$/mg;
    my ($status) = $head =~ /^HTTP\/1\.1 (\d+)/;
    return ($status // 0, \%h);
}

sub read_chunk ($) {
    my ($c) = @_;
    my $line = '';
    while ($line !~ /\r\n\z/) { sysread($c, my $ch, 1) or return undef; $line .= $ch }
    $line =~ s/[\r\n;].*//s;
    my $n = hex $line;
    my $data = '';
    while (length $data < $n + 2) { sysread($c, $data, $n + 2 - length $data, length $data) or return undef }
    return $n ? substr($data, 0, $n) : undef;
}

# a whole response (Content-Length or chunked); SSE events decoded
sub response ($) {
    my ($c) = @_;
    my ($status, $h) = read_head($c);
    my $body = '';
    if (($h->{'transfer-encoding'} // '') =~ /chunked/) {
        while (defined(my $d = read_chunk($c))) { $body .= $d }
    } else {
        my $n = $h->{'content-length'} // 0;
        while (length $body < $n) { sysread($c, $body, $n - length $body, length $body) or last }
    }
    return ($status, $h, $body);
}

sub rpc ($$;$) {
    my ($body, $sid, $c) = @_;
    $c //= conn();
    send_post($c, ref $body ? $json->encode($body) : $body, $sid);
    my ($st, $h, $b) = response($c);
    return ($st, $h, eval { $json->decode($b) } // $b);
}

sub session ($) {
    my ($caps) = @_;
    my ($st, $h) = rpc({ jsonrpc => '2.0', id => 1, method => 'initialize',
                         params => { protocolVersion => '2025-11-25', capabilities => $caps,
                                     clientInfo => { name => 'raw', version => '0' } } }, undef);
    rpc({ jsonrpc => '2.0', method => 'notifications/initialized' }, $h->{'mcp-session-id'});
    return $h->{'mcp-session-id'};
}

# the next SSE event on a POST stream whose head was read
sub next_event ($) {
    my ($c) = @_;
    ${*$c}{sse} //= '';
    my $event;
    until (defined $event) {
        if (${*$c}{sse} =~ s/\A(.*?)\n\n//s) {
            $event = $1;
            last;
        }
        my $d = read_chunk($c);
        return undef unless defined $d;
        ${*$c}{sse} .= $d;
    }
    my ($data) = $event =~ /^data: ?(.*)$/m;
    return eval { $json->decode($data) };
}

# a connection served by the worker other than $pid (a ping tells)
sub other_worker ($$) {
    my ($pid, $sid) = @_;
    for (1 .. 100) {
        my $c = conn();
        my ($st, $h) = rpc({ jsonrpc => '2.0', id => 'p', method => 'ping' }, $sid, $c);
        return $c if ($h->{'x-worker'} // $pid) ne $pid;
    }
    return undef;
}

my $sid = session({ sampling => {} });
like($sid, qr/^hs3-/, 'raw: a session with sampling');

my $call = conn();
send_post($call, $json->encode({ jsonrpc => '2.0', id => 7, method => 'tools/call',
                                 params => { name => 'sample', arguments => { prompt => 'two workers' } } }), $sid);
my ($cst, $ch) = read_head($call);
is($cst, 200, 'raw: the call answers 200');
is($ch->{'content-type'}, 'text/event-stream', 'raw: as a stream, for the server request');
my $ev = next_event($call);
is($ev->{method}, 'sampling/createMessage', 'raw: the sampling request arrives on the call\'s stream');
like($ev->{id} // '', qr/^hangar1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[0-9a-f]{32}$/,
     'raw: with an id any worker routes back');
is($ev->{params}{messages}[0]{content}{text}, 'two workers', 'raw: the request as the server sent it');

my $other = other_worker($ch->{'x-worker'}, $sid);
ok($other, "raw: a connection to the worker other than $ch->{'x-worker'}");

# hostile answers first: none of them reaches the server or hurts anyone
my $sid2 = session({ sampling => {} });
my @bad = (
    [ 'an id it never got', { jsonrpc => '2.0', id => 'hangar1.cGVybA.MA.' . ('0' x 32), result => {} }, $sid ],
    [ 'a malformed id', { jsonrpc => '2.0', id => 'hangar1.!!', result => {} }, $sid ],
    [ 'a number id', { jsonrpc => '2.0', id => 0, result => {} }, $sid ],
    [ 'a bridge-style id', { jsonrpc => '2.0', id => 's-1', result => {} }, $sid ],
    [ 'an id of another session', { jsonrpc => '2.0', id => $ev->{id}, result => {} }, $sid2 ],
    [ 'an overlong id', { jsonrpc => '2.0', id => 'hangar1.' . ('A' x 100000), result => {} }, $sid ],
    [ 'a JSON body for an id', '{"jsonrpc":"2.0","id":{"a":1},"result":{}}', $sid ],
);
for my $bad (@bad) {
    my ($st, $h, $r) = rpc($bad->[1], $bad->[2]);
    ok($st >= 400 && $st < 500, "hostile: $bad->[0] gets $st");
}
my ($st2, $h2, $r2) = rpc({ jsonrpc => '2.0', id => $ev->{id}, result => {} }, undef);
is($st2, 400, 'hostile: an answer without a session: 400');

my ($ast, $ah) = rpc({ jsonrpc => '2.0', id => $ev->{id},
                       result => { role => 'assistant', model => 'm',
                                   content => { type => 'text', text => 'from the other worker' } } },
                     $sid, $other);
is($ast, 202, 'raw: the answer, on the other worker, is accepted');
isnt($ah->{'x-worker'}, $ch->{'x-worker'}, 'raw: ... by the other worker');
my $final = next_event($call);
is($final->{id}, 7, 'raw: the call ends with its result');
is($final->{result}{content}[0]{text}, 'sampled: from the other worker',
   'raw: the server got the answer routed from the other worker');

($st2) = rpc({ jsonrpc => '2.0', id => $ev->{id}, result => {} }, $sid);
ok($st2 == 202 || $st2 == 400, "hostile: a second answer is taken or refused ($st2), and dropped upstream");
my @after = peer('/mcp', \%ALL, [{ call => 'sample', arguments => { prompt => 'still fine' } }]);
like(text_of($after[1]), qr/sampled: client sampled: still fine/, 'hostile: the front door still works');

# a client that hangs up mid-call: the server is told, the call ends
sub cancels () {
    my (undef, undef, $logs) = http_request(GET => '/api/mcp_servers/perl/logs?lines=200', undef);
    my @n = $logs =~ /request \d+ cancelled/g;
    return scalar @n;
}
my $before = cancels();
my $gone = conn();
send_post($gone, $json->encode({ jsonrpc => '2.0', id => 'gone', method => 'tools/call',
                                 params => { name => 'sleep', arguments => { ms => 30000 } } }), $sid);
sleep 0.5;
close $gone;
my $t_end = time + 10;
sleep 0.2 while cancels() == $before && time < $t_end;
is(cancels(), $before + 1, 'hang-up: the server got a cancellation of the call');
$bs = bridge_status('perl');
is($bs->{pending}, 0, 'hang-up: nothing left pending in the bridge');

is(nginx_stop(), "", "nginx stopped");
Hangar::Test::check_valgrind('server requests') if Hangar::Test::valgrind_on();
no_orphans();
no_alerts();
Test::More::done_testing();
