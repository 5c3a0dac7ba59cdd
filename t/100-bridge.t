# hangar-bridge on its own (no nginx): one stdio MCP server served as MCP
# Streamable HTTP on a unix socket.  The upstream is t/servers/hangar-test-server.
use strict;
use warnings;
use FindBin;

use Test::More;
use IO::Socket::UNIX;
use JSON::PP;
use Time::HiRes qw(time sleep);
use POSIX qw(WNOHANG F_GETFD F_SETFD FD_CLOEXEC);

my $BRIDGE = "$FindBin::Bin/../build/hangar-bridge";
my $SERVER = "$FindBin::Bin/servers/hangar-test-server";

plan skip_all => "$BRIDGE is not built (make build)" unless -x $BRIDGE;

$SIG{PIPE} = 'IGNORE';

my $json = JSON::PP->new->canonical;
my (@dirs, @bridges, $ndir);

END {
    for my $b (@bridges) {
        next if $b->{reaped};
        kill 'KILL', $b->{pid};
        waitpid $b->{pid}, 0;
    }
    for my $d (@dirs) {
        unlink glob("$d/*");
        rmdir $d;
    }
}

# ------------------------------------------------------------- helpers

# Reads one line from a handle, or what came before EOF / the timeout.
sub read_line {
    my ($fh, $timeout) = @_;
    my ($buf, $end) = ('', time + $timeout);
    while ($buf !~ /\n/) {
        my $left = $end - time;
        last if $left <= 0;
        my $rin = '';
        vec($rin, fileno($fh), 1) = 1;
        next unless select(my $rout = $rin, undef, undef, $left) > 0;
        my $n = sysread($fh, $buf, 65536, length $buf);
        last unless $n;
    }
    return $buf;
}

# Starts a bridge with a pipe as --ready-fd; returns its handle with the
# ready report decoded.
sub start_bridge {
    my (%o) = @_;
    my $dir = "/tmp/hb-t-$$-" . ++$ndir;
    mkdir $dir or die "mkdir $dir: $!";
    push @dirs, $dir;
    my @cmd = $o{cmd} ? @{ $o{cmd} } : ($^X, $SERVER, @{ $o{args} || [] });

    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        close $r;
        # not prove's pipe: a bridge left behind must not hold it open
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/bridge.out";
        open STDERR, '>&', \*STDOUT;
        fcntl($w, F_SETFD, fcntl($w, F_GETFD, 0) & ~FD_CLOEXEC);
        no warnings 'exec';
        exec { $BRIDGE } $BRIDGE, '--id', $o{id} || 'test', '--socket', "$dir/s.sock",
             '--status', "$dir/status.json", '--ready-fd', fileno($w),
             @{ $o{opts} || [] }, '--', @cmd;
        POSIX::_exit(126);
    }
    close $w;
    my $line = read_line($r, $o{timeout} || 10);
    close $r;
    my $b = { pid => $pid, dir => $dir, sock => "$dir/s.sock",
              status_file => "$dir/status.json", ready_line => $line,
              ready => eval { decode_json($line) } || {} };
    push @bridges, $b;
    return $b;
}

# Waits for the bridge to exit; returns its wait status, or undef.
sub wait_bridge {
    my ($b, $timeout) = @_;
    my $end = time + ($timeout || 10);
    while (time < $end) {
        if (waitpid($b->{pid}, WNOHANG) == $b->{pid}) {
            $b->{reaped} = 1;
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub status_file {
    my ($b) = @_;
    open my $fh, '<', $b->{status_file} or return {};
    local $/;
    return eval { decode_json(<$fh>) } || {};
}

sub alive { my ($pid) = @_; return $pid && kill(0, $pid) ? 1 : 0 }

# Processes (not zombies) in process group $pgid.
sub group_members {
    my ($pgid) = @_;
    my @pids;
    for my $f (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $f or next;
        my $stat = <$fh>;
        next unless defined $stat && $stat =~ /^\d+ \(.*\)\s+(\S)\s+\d+\s+(\d+)/s;
        push @pids, ($f =~ m{/proc/(\d+)/})[0] if $2 == $pgid && $1 ne 'Z';
    }
    return @pids;
}

# --- a small HTTP/1.1 client over IO::Socket::UNIX

sub hconn {
    my ($b) = @_;
    my $s = IO::Socket::UNIX->new(Peer => $b->{sock})
        or die "connect $b->{sock}: $!";
    ${*$s}{buf} = '';
    return $s;
}

sub send_req {
    my ($s, $method, $path, $body, %h) = @_;
    my $req = "$method $path HTTP/1.1\r\nHost: bridge\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    if (defined $body) {
        $req .= "Content-Type: application/json\r\n";
        $req .= "Content-Length: " . length($body) . "\r\n"
            unless $h{'Transfer-Encoding'};
    }
    $req .= "\r\n" . (defined $body ? $body : '');
    syswrite($s, $req) == length $req or die "write: $!";
}

# More bytes into the socket's buffer; false on EOF or timeout.
sub fill {
    my ($s, $end) = @_;
    my $left = $end - time;
    return 0 if $left <= 0;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    return 0 unless select(my $rout = $rin, undef, undef, $left) > 0;
    my $n = sysread($s, ${*$s}{buf}, 65536, length ${*$s}{buf});
    return $n ? 1 : 0;
}

# Takes bytes up to and including $re off the buffer (or $n bytes).
sub take {
    my ($s, $what, $end) = @_;
    for (;;) {
        if (ref $what) {
            return $1 if ${*$s}{buf} =~ s/\A(.*?$what)//s;
        } elsif (length ${*$s}{buf} >= $what) {
            return substr(${*$s}{buf}, 0, $what, '');
        }
        fill($s, $end) or return undef;
    }
}

sub read_head {
    my ($s, $timeout) = @_;
    my $end = time + ($timeout || 10);
    my $head = take($s, qr/\r\n\r\n/, $end);
    return undef unless defined $head;
    my ($status) = $head =~ m{\AHTTP/1\.1 (\d{3})} or return undef;
    my %h;
    $h{ lc $1 } = $2 while $head =~ /^([^:\r\n]+):\s*(.*?)\r$/mg;
    return { status => $status, headers => \%h, end => $end };
}

# One chunk of a chunked body; undef at its end.
sub read_chunk {
    my ($s, $end) = @_;
    my $line = take($s, qr/\r\n/, $end);
    return undef unless defined $line && $line =~ /^([0-9a-fA-F]+)/;
    my $size = hex $1;
    if ($size == 0) {
        take($s, qr/\r\n/, $end);
        return undef;
    }
    my $data = take($s, $size + 2, $end);
    return defined $data ? substr($data, 0, $size) : undef;
}

sub read_response {
    my ($s, $timeout) = @_;
    my $r = read_head($s, $timeout) or return { status => 0, body => '' };
    my $h = $r->{headers};
    if (($h->{'transfer-encoding'} || '') =~ /chunked/) {
        $r->{body} = '';
        while (defined(my $c = read_chunk($s, $r->{end}))) { $r->{body} .= $c }
    } else {
        $r->{body} = take($s, $h->{'content-length'} || 0, $r->{end});
    }
    $r->{json} = eval { decode_json($r->{body}) } if length($r->{body} // '');
    return $r;
}

sub request {
    my ($s, $method, $path, $body, %h) = @_;
    send_req($s, $method, $path, $body, %h);
    return read_response($s);
}

# The next SSE event (decoded data) of a stream whose head was read.
sub next_event {
    my ($s, $timeout) = @_;
    my $end = time + ($timeout || 10);
    ${*$s}{sse} //= '';
    for (;;) {
        if (${*$s}{sse} =~ s/\A(.*?)\n\n//s) {
            my $ev = $1;
            my $data = join "\n", $ev =~ /^data: ?(.*)$/mg;
            return { raw => $data, msg => eval { decode_json($data) } };
        }
        my $c = read_chunk($s, $end);
        return undef unless defined $c;
        ${*$s}{sse} .= $c;
    }
}

my $n = 0;
sub call {
    my ($name, $args, $id) = @_;
    return $json->encode({ jsonrpc => '2.0', id => $id // ++$n, method => 'tools/call',
                           params => { name => $name, arguments => $args || {} } });
}

sub text_of { my ($m) = @_; return $m->{result}{content}[0]{text} // '' }

my @SSE = (Accept => 'application/json, text/event-stream');

# ------------------------------------------------------------- ready

sub rss { my ($pid) = @_; open my $fh, '<', "/proc/$pid/status" or return 0;
           for (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ } return 0 }

$ENV{HB_TEST_VAR} = 'passed through';
my $b = start_bridge(id => 'main', args => [qw(--garbage-on-start --stderr-noise 3)]);
my $r = $b->{ready};
my $idle_rss = rss($b->{pid});
is($r->{state}, 'ready', 'ready-fd reports ready') or diag $b->{ready_line};
is($r->{id}, 'main', 'status: id');
is($r->{bridge_pid}, $b->{pid}, 'status: bridge_pid');
ok($r->{server_pid} && alive($r->{server_pid}), 'status: server_pid is running');
is($r->{protocol_version}, '2025-11-25', 'status: protocol_version');
is($r->{init_result}{serverInfo}{name}, 'hangar-test-server', 'status: init_result');
ok($r->{started_at} > 1e9 && $r->{ready_at} >= $r->{started_at}, 'status: times');
ok(!defined $r->{exit_code} && !defined $r->{error}, 'status: no exit, no error');
like($r->{stderr_tail}, qr/started pid \d+\nnoise 1\nnoise 2\nnoise 3\z/, 'status: stderr_tail');
is_deeply(status_file($b), $r, 'status file = ready report');
ok(-S $b->{sock}, 'socket is listening');
is((stat $b->{sock})[2] & 0777, 0600, 'socket mode 0600');

# ------------------------------------------------------------- basic MCP

my $c = hconn($b);
my $res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":"i-1","method":"initialize",'
    . '"params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}');
is($res->{status}, 200, 'initialize: 200');
like($res->{headers}{'mcp-session-id'}, qr/^b$b->{pid}-1-[0-9a-f]{16}$/, 'initialize: Mcp-Session-Id');
is($res->{json}{id}, 'i-1', 'initialize: the client id');
is_deeply($res->{json}{result}, $r->{init_result}, 'initialize: the cached result');

$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","method":"notifications/initialized"}');
is("$res->{status} $res->{body}", '202 ', 'notifications/initialized: 202');

$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
is($res->{status}, 200, 'tools/list: 200');
is($res->{headers}{'content-type'}, 'application/json', 'tools/list: JSON');
is($res->{json}{id}, 2, 'tools/list: id');
is(scalar(grep { $_->{name} eq 'echo' } @{ $res->{json}{result}{tools} || [] }), 1,
   'tools/list: has echo');

$res = request($c, POST => '/mcp', call(echo => { text => 'hello' }, 'e-1'));
is($res->{json}{id}, 'e-1', 'echo: string id restored');
is(text_of($res->{json}), 'hello', 'echo: result');

$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":12345678901234567890,"method":"ping"}');
like($res->{body}, qr/"id":12345678901234567890\b/, 'ping: big number id restored exactly');
is_deeply($res->{json}{result}, {}, 'ping: forwarded');

$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}');
is($res->{status}, 202, 'notification: 202');

$res = request($c, POST => '/mcp', call(error => { code => -32099, message => 'nope' }, 9));
is_deeply($res->{json}{error}, { code => -32099, message => 'nope' }, 'JSON-RPC error relayed');

$res = request($c, POST => '/mcp', call(env => { name => 'HB_TEST_VAR' }));
is(text_of($res->{json}), 'passed through', 'the environment reaches the server');

# two requests in one write: answered in order
syswrite($c, join '', map { "POST /mcp HTTP/1.1\r\nHost: b\r\nContent-Length: "
                             . length($_) . "\r\n\r\n$_" }
              call(sleep => { ms => 100 }, 'first'), call(echo => { text => 'x' }, 'second'));
is(read_response($c)->{json}{id}, 'first', 'pipelined: first answer first');
is(read_response($c)->{json}{id}, 'second', 'pipelined: then the second');

# big messages both ways, and an overlong stderr line
my $text = 'y' x (1024 * 1024);
$res = request($c, POST => '/mcp', call(echo => { text => $text }));
ok(text_of($res->{json}) eq $text, 'a 1 MiB message both ways');
$res = request($c, POST => '/mcp', call(stderr => { lines => 1, text => 'z' x 20000 }));
is(text_of($res->{json}), 'wrote 1 lines', 'long stderr line written');

# chunked request body
send_req($c, POST => '/mcp', undef, 'Transfer-Encoding' => 'chunked',
         'Content-Type' => 'application/json');
my $body = call(echo => { text => 'chunky' }, 31);
syswrite($c, sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", 10, substr($body, 0, 10),
                     length($body) - 10, substr($body, 10)));
$res = read_response($c);
is(text_of($res->{json}), 'chunky', 'chunked request body');

# ------------------------------------------------------------- errors

$res = request($c, POST => '/mcp', '{"jsonrpc":');
is($res->{status}, 400, 'malformed JSON: 400');
is($res->{json}{error}{code}, -32700, 'malformed JSON: -32700');
$res = request($c, POST => '/mcp', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]');
is("$res->{status} $res->{json}{error}{code}", '400 -32600', 'batch: 400 -32600');
$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":"s-999","result":{}}');
is($res->{status}, 400, 'response with an unknown id: 400');
$res = request($c, POST => '/mcp', ('[' x 100000) . (']' x 100000));
is($res->{status}, 400, 'deeply nested JSON: 400, no crash');
$res = request($c, GET => '/mcp');
is($res->{status}, 405, 'GET /mcp without Accept: 405');
$res = request($c, DELETE => '/mcp');
is($res->{status}, 200, 'DELETE /mcp: 200');
$res = request($c, GET => '/nowhere');
is($res->{status}, 404, 'unknown path: 404');

my $big = hconn($b);
send_req($big, POST => '/mcp', undef, 'Content-Length' => 17 * 1024 * 1024);
$res = read_response($big);
is($res->{status}, 413, 'body over 16 MiB: 413');

my $bad = hconn($b);
syswrite($bad, "NONSENSE\r\n\r\n");
$res = read_response($bad);
is($res->{status}, 400, 'malformed HTTP: 400');
ok(!fill($bad, time + 2), 'malformed HTTP: connection closed');

# ------------------------------------------------------------- concurrency

my @cc = map { hconn($b) } 1 .. 3;
send_req($cc[0], POST => '/mcp', call(sleep => { ms => 300 }, 1));
send_req($cc[1], POST => '/mcp', call(echo => { text => 'second' }, '1'));
send_req($cc[2], POST => '/mcp', call(echo => { text => 'third' }, 1));
my $t0 = time;
my @res = map { read_response($cc[$_]) } 2, 1, 0;
ok(time - $t0 >= 0.25, 'concurrency: the sleep took its time');
is(text_of($res[0]{json}), 'third', 'concurrency: conn 3 gets its own answer');
like($res[0]{body}, qr/"id":1[,}]/, 'concurrency: conn 3 numeric id 1');
is(text_of($res[1]{json}), 'second', 'concurrency: conn 2 gets its own answer');
like($res[1]{body}, qr/"id":"1"/, 'concurrency: conn 2 string id "1"');
is(text_of($res[2]{json}), 'slept 300', 'concurrency: conn 1 gets the sleep result');
like($res[2]{body}, qr/"id":1[,}]/, 'concurrency: conn 1 numeric id 1');

# many in flight on many connections
my @many = map { hconn($b) } 1 .. 20;
send_req($many[$_], POST => '/mcp', call(echo => { text => "m$_" }, 7)) for 0 .. $#many;
my $ok = grep { my $x = read_response($many[$_]); text_of($x->{json}) eq "m$_" && $x->{json}{id} == 7 }
         0 .. $#many;
is($ok, 20, '20 requests in flight with the same id');
close $_ for @many, @cc;

# ------------------------------------------------------------- SSE

my $p = hconn($b);
send_req($p, POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => 'p1', method => 'tools/call',
    params => { name => 'progress', arguments => { steps => 3, interval_ms => 30 },
                _meta => { progressToken => 'tok-1' } } }), @SSE);
my $h = read_head($p);
is($h->{status}, 200, 'progress: 200');
is($h->{headers}{'content-type'}, 'text/event-stream', 'progress: event stream');
is($h->{headers}{'cache-control'}, 'no-cache', 'progress: Cache-Control');
my @ev;
while (my $e = next_event($p)) { push @ev, $e->{msg} }
is(scalar @ev, 4, 'progress: 3 notifications and the result');
is_deeply([ map { $_->{params}{progress} } @ev[0 .. 2] ], [1, 2, 3], 'progress: in order');
is_deeply([ map { $_->{params}{progressToken} } @ev[0 .. 2] ], [('tok-1') x 3],
          'progress: the client token restored');
is($ev[3]{id}, 'p1', 'progress: the result last, with its id');
is(text_of($ev[3]), 'done 3', 'progress: result');
$res = request($p, POST => '/mcp', call(echo => { text => 'after sse' }));
is(text_of($res->{json}), 'after sse', 'keep-alive after an SSE response');

# a call whose result comes alone, with SSE accepted: one plain JSON answer
# (no stream head, chunks and end written apart)
$res = request($p, POST => '/mcp', call(echo => { text => 'lone' }, 'j1'), @SSE);
is($res->{headers}{'content-type'}, 'application/json', 'lone result: JSON, not a stream');
is($res->{headers}{'content-length'}, length($res->{body}), 'lone result: Content-Length');
ok(!exists $res->{headers}{'transfer-encoding'}, 'lone result: not chunked');
is("$res->{json}{id} " . text_of($res->{json}), 'j1 lone', 'lone result: the answer');
$res = request($p, POST => '/mcp', call(echo => { text => 'next' }), @SSE);
is(text_of($res->{json}), 'next', 'lone result: keep-alive after it');

# GET stream: server-to-client request and notifications, to a session
# that declared sampling
$res = request(hconn($b), POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"initialize",'
    . '"params":{"protocolVersion":"2025-06-18","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"0"}}}');
my $gsid = $res->{headers}{'mcp-session-id'};
my $g = hconn($b);
send_req($g, GET => '/mcp', undef, Accept => 'text/event-stream', 'Mcp-Session-Id' => $gsid);
$h = read_head($g);
is($h->{status}, 200, 'GET stream: 200');
sleep 0.1;

my $s = hconn($b);
send_req($s, POST => '/mcp', call(sample => { prompt => 'say hi' }, 0), 'Mcp-Session-Id' => $gsid);
my $e = next_event($g);
is($e->{msg}{method}, 'sampling/createMessage', 'sample: request on the GET stream');
like($e->{msg}{id} // '', qr/^s-\d+$/, 'sample: bridge id s-<n>');
my $ans = hconn($b);
my $answer = $json->encode({ jsonrpc => '2.0', id => $e->{msg}{id},
    result => { role => 'assistant', model => 'm', content => { type => 'text', text => 'hello back' } } });
$res = request($ans, POST => '/mcp', $answer);
is($res->{status}, 400, 'sample: an answer from no session is refused');
$res = request($ans, POST => '/mcp', $answer, 'Mcp-Session-Id' => "${gsid}x");
is($res->{status}, 400, 'sample: an answer from another session is refused');
$res = request($ans, POST => '/mcp', $answer, 'Mcp-Session-Id' => $gsid);
is($res->{status}, 202, 'sample: the answer is accepted');
$res = read_response($s);
is($res->{json}{id}, 0, 'sample: tool result with id 0');
is(text_of($res->{json}), 'sampled: hello back', 'sample: round trip');
$res = request($ans, POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => $e->{msg}{id}, result => {} }),
              'Mcp-Session-Id' => $gsid);
is($res->{status}, 400, 'sample: a second answer is refused');

$res = request($s, POST => '/mcp', call(notify_list_changed => {}));
is(text_of($res->{json}), 'ok', 'notify_list_changed: result');
$e = next_event($g);
is($e->{msg}{method}, 'notifications/tools/list_changed', 'list_changed reaches the GET stream');

$res = request($s, POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => 'pj', method => 'tools/call',
    params => { name => 'progress', arguments => { steps => 1, interval_ms => 1 }, _meta => { progressToken => 5 } } }));
is(text_of($res->{json}), 'done 1', 'progress without SSE: just the result');

close $g;
sleep 0.1;
$res = request($s, POST => '/mcp', call(sample => { prompt => 'anyone?' }));
like(text_of($res->{json}), qr/sampling failed: no connected client supports sampling/,
     'sample without a GET stream: the server is answered at once');

# ------------------------------------------------------------- logs, status

$res = request($s, POST => '/mcp', call(bad_output => {}));
is(text_of($res->{json}), 'bad output written', 'bad_output: result still arrives');
$res = request($s, GET => '/logs');
my @logs = @{ $res->{json}{logs} || [] };
ok((grep { $_->{stream} eq 'stdout' && $_->{content} eq 'this is not json (garbage on start)' } @logs),
   '/logs: garbage on start as stream stdout');
ok((grep { $_->{stream} eq 'stdout' && $_->{content} eq 'this is not json' } @logs),
   '/logs: bad output as stream stdout');
ok((grep { $_->{stream} eq 'stderr' && $_->{content} eq 'noise 2' } @logs), '/logs: stderr lines');
ok(!(grep { !($_->{recorded_at} > 1e9) } @logs), '/logs: recorded_at');
my ($long) = grep { $_->{content} =~ /^z{100}/ } @logs;
is(length($long->{content} // ''), 8192, '/logs: a long line is cut at 8192 bytes');
like($long->{content} // '', qr/z\.\.\.\z/, '/logs: ... marks the cut');
$res = request($s, GET => '/logs?lines=2');
is(scalar @{ $res->{json}{logs} }, 2, '/logs?lines=2: two entries');
is_deeply($res->{json}{logs}, [ @logs[-2, -1] ], '/logs?lines=2: the last two');

$res = request($s, GET => '/status');
is($res->{json}{state}, 'ready', '/status: ready');
is($res->{json}{pending}, 0, '/status: pending');
ok($res->{json}{clients} >= 1, '/status: clients');

# cancellation: mapped to the bridge id, and the request ends
my $cw = hconn($b);
send_req($cw, POST => '/mcp', call(sleep => { ms => 5000 }, 'cx'));
sleep 0.1;
$res = request($s, POST => '/mcp', $json->encode({ jsonrpc => '2.0', method => 'notifications/cancelled',
    params => { requestId => 'cx', reason => 'test' } }));
is($res->{status}, 202, 'cancel: 202');
$res = read_response($cw);
is_deeply([ $res->{json}{id}, $res->{json}{error}{code} ], ['cx', -32800], 'cancel: the request ends');
sleep 0.1;
$res = request($s, GET => '/logs');
ok((grep { $_->{stream} eq 'stderr' && $_->{content} =~ /^request \d+ cancelled$/ } @{ $res->{json}{logs} }),
   'cancel: the server cancelled the bridge id');
$res = request($s, POST => '/mcp', $json->encode({ jsonrpc => '2.0', method => 'notifications/cancelled',
    params => { requestId => 1 } }));
is($res->{status}, 202, 'cancel of an unknown id: 202, not forwarded');

my $rss = rss($b->{pid});
diag "bridge RSS: $idle_rss kB idle after start, $rss kB after the tests above";
ok($idle_rss && $idle_rss < 4096, 'bridge RSS idle is small');
ok($rss && $rss < 8192, 'bridge RSS after big messages is small');

# ------------------------------------------------------------- server requests: routing

# stdio carries no link between a server request and its call: it goes to
# the most recent call in flight (on an SSE stream) whose session declared
# the capability; with no call in flight, to a GET stream of the session
# of the last tools/call, if it declared it
my $rb = start_bridge(id => 'route', args => ['--log-tool'], opts => [qw(--request-timeout-ms 400)]);
is($rb->{ready}{state}, 'ready', 'route: ready');

sub init_session {
    my ($caps) = @_;
    my $r = request(hconn($rb), POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => 1,
        method => 'initialize', params => { protocolVersion => '2025-11-25', capabilities => $caps,
                                            clientInfo => { name => 't', version => '0' } } }));
    return $r->{headers}{'mcp-session-id'};
}
my $sa = init_session({ sampling => {} });
my $sb = init_session({});
my $sc = init_session({ sampling => {}, elicitation => {} });
ok($sa && $sb && $sc && $sa ne $sb && $sb ne $sc, 'route: a session per initialize');

my $ca = hconn($rb);
# a stream's head comes with its first event (a lone result is plain JSON)
send_req($ca, POST => '/mcp', call(sleep => { ms => 3000 }, 'a'), @SSE, 'Mcp-Session-Id' => $sa);
sleep 0.1;
my $cb = hconn($rb);
send_req($cb, POST => '/mcp', call(sample => { prompt => 'p1' }, 'b'), @SSE, 'Mcp-Session-Id' => $sb);
is((read_head($ca, 3) || {})->{status}, 200, 'route: A (sampling) has a call in flight');
$e = next_event($ca, 3);
is($e->{msg}{method}, 'sampling/createMessage', 'route: the request goes to A, the call that can answer');
$res = request(hconn($rb), POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => $e->{msg}{id},
    result => { content => { type => 'text', text => 'from A' } } }), 'Mcp-Session-Id' => $sb);
is($res->{status}, 400, 'route: B cannot answer what was sent to A');
$res = request(hconn($rb), POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => $e->{msg}{id},
    result => { content => { type => 'text', text => 'from A' } } }), 'Mcp-Session-Id' => $sa);
is($res->{status}, 202, 'route: A answers');
$res = read_response($cb, 3);
is($res->{status}, 200, 'route: B (no capabilities) calls a tool that samples');
is(text_of($res->{json}), 'sampled: from A', 'route: B\'s call gets the answer');
is($res->{headers}{'content-type'}, 'application/json',
   'route: B\'s answer: nothing streamed before it, plain JSON');

my $cc = hconn($rb);
send_req($cc, POST => '/mcp', call(sleep => { ms => 3000 }, 'c'), @SSE, 'Mcp-Session-Id' => $sc);
sleep 0.1;
send_req($cb, POST => '/mcp', call(sample => { prompt => 'p2' }, 'b2'), @SSE, 'Mcp-Session-Id' => $sb);
read_head($cc, 3);
$e = next_event($cc, 3);
is($e->{msg}{method}, 'sampling/createMessage', 'route: to C now, the most recent call that can answer');
$t0 = time;
$res = read_response($cb, 5);
is(text_of($res->{json}), 'sampling failed: no client answered the request within 400 ms',
   'timeout: unanswered, the server gets an error');
ok(time - $t0 < 3, 'timeout: after the timeout, not later');
$res = request(hconn($rb), GET => '/status');
is($res->{json}{server_requests}, 0, 'timeout: nothing left waiting');

# log messages go with the most recent call
send_req($cb, POST => '/mcp', call(log => { lines => 2 }, 'l'), @SSE, 'Mcp-Session-Id' => $sb);
read_head($cb);
is_deeply([ map { next_event($cb)->{msg}{params}{data} } 1 .. 2 ], ['log 1', 'log 2'],
          'notifications/message: on the stream of the call in flight');
is(text_of(next_event($cb)->{msg}), 'logged 2', 'notifications/message: then the result');
next_event($cb);
is(next_event($ca, 5)->{msg}{id}, 'a', 'route: A\'s call ends normally');
is(next_event($cc, 5)->{msg}{id}, 'c', 'route: C\'s call ends normally');

# outside calls: a GET stream of a session that can answer
my $gb = hconn($rb);
send_req($gb, GET => '/mcp', undef, Accept => 'text/event-stream', 'Mcp-Session-Id' => $sb);
read_head($gb);
my $ga = hconn($rb);
send_req($ga, GET => '/mcp', undef, Accept => 'text/event-stream', 'Mcp-Session-Id' => $sa);
read_head($ga);
sleep 0.1;
# only to the session of the last tools/call: B (no sampling) called last
send_req($cb, POST => '/mcp', call(sample => { prompt => 'p3' }, 'b3'), 'Mcp-Session-Id' => $sb);
like(text_of(read_response($cb)->{json}), qr/no connected client supports sampling/,
     'outside calls: B called last and cannot answer, the server gets an error');
my $cj = hconn($rb);
send_req($cj, POST => '/mcp', call(sample => { prompt => 'p3' }, 'a3'), 'Mcp-Session-Id' => $sa);
$e = next_event($ga, 3);
is($e->{msg}{method}, 'sampling/createMessage',
   'outside calls: to the GET stream of A, whose call was last (B\'s request never went there)');
request(hconn($rb), POST => '/mcp', $json->encode({ jsonrpc => '2.0', id => $e->{msg}{id},
    result => { content => { type => 'text', text => 'via GET' } } }), 'Mcp-Session-Id' => $sa);
is(text_of(read_response($cj)->{json}), 'sampled: via GET', 'outside calls: answered');

# the same id in flight in two sessions: a cancellation is of its session's
my $da = hconn($rb);
send_req($da, POST => '/mcp', call(sleep => { ms => 5000 }, 'dup'), 'Mcp-Session-Id' => $sa);
my $db = hconn($rb);
send_req($db, POST => '/mcp', call(sleep => { ms => 300 }, 'dup'), 'Mcp-Session-Id' => $sb);
sleep 0.1;
$res = request(hconn($rb), POST => '/mcp', $json->encode({ jsonrpc => '2.0', method => 'notifications/cancelled',
    params => { requestId => 'dup' } }), 'Mcp-Session-Id' => $sa);
is($res->{status}, 202, 'cancel in a session: 202');
$res = read_response($da);
is_deeply([ $res->{json}{id}, $res->{json}{error}{code} ], ['dup', -32800],
          'cancel in a session: its call with that id ends');
is(text_of(read_response($db)->{json}), 'slept 300', 'cancel in a session: the other session\'s is untouched');

# a session that ended can answer nothing
$res = request(hconn($rb), DELETE => '/mcp', undef, 'Mcp-Session-Id' => $sa);
is($res->{status}, 200, 'DELETE ends a session');
close $ga;
$res = request(hconn($rb), POST => '/mcp', call(sample => { prompt => 'p4' }), 'Mcp-Session-Id' => $sb);
like(text_of($res->{json}), qr/no connected client supports sampling/,
     'with no session that can answer, the server is answered at once');
$res = request(hconn($rb), GET => '/status');
is($res->{json}{sessions}, 2, 'status: the sessions left');
kill 'TERM', $rb->{pid};
is(wait_bridge($rb), 0, 'route: stopped');

# ------------------------------------------------------------- /shutdown

my $server = $r->{server_pid};
$res = request($s, POST => '/shutdown');
is_deeply($res->{json}, { stopping => JSON::PP::true }, '/shutdown: 200 stopping');
is(wait_bridge($b), 0, '/shutdown: bridge exits 0');
is(status_file($b)->{state}, 'stopped', '/shutdown: status stopped');
ok(!-e $b->{sock}, '/shutdown: socket removed');
ok(!alive($server), '/shutdown: server gone');

# ------------------------------------------------------------- crash

$b = start_bridge(id => 'crash');
is($b->{ready}{state}, 'ready', 'crash: ready');
$server = $b->{ready}{server_pid};
my $w = hconn($b);
send_req($w, POST => '/mcp', call(sleep => { ms => 10000 }, 'w'), @SSE);
sleep 0.2;
$c = hconn($b);
$t0 = time;
$res = request($c, POST => '/mcp', call(crash => { code => 5 }, 'c'));
is($res->{json}{id}, 'c', 'crash: the pending request fails with its id');
is_deeply($res->{json}{error}, { code => -32000, message => 'MCP server exited with code 5' },
          'crash: -32000 with the exit code');
$res = read_response($w);
is($res->{status}, 200, 'crash: a pending request that accepted SSE');
is($res->{json}{error}{code}, -32000, 'crash: the pending SSE request fails too');
is(wait_bridge($b), 0, 'crash: bridge exits 0');
ok(time - $t0 < 3, 'crash: seen at once');
my $st = status_file($b);
is($st->{state}, 'exited', 'crash: status exited');
is($st->{exit_code}, 5, 'crash: exit_code');
like($st->{stderr_tail}, qr/crashing with 5/, 'crash: stderr_tail');
ok(!IO::Socket::UNIX->new(Peer => $b->{sock}),
   'crash: nobody listens (the socket is removed by whoever watches the bridge)');
ok(!alive($server), 'crash: server reaped (no zombie)');

# ------------------------------------------------------------- start failures

$b = start_bridge(id => 'eos', args => [qw(--exit-on-start 7)]);
is($b->{ready}{state}, 'failed', 'exit-on-start: failed') or diag $b->{ready_line};
is($b->{ready}{exit_code}, 7, 'exit-on-start: exit_code 7');
like($b->{ready}{stderr_tail}, qr/fatal: exiting on start/, 'exit-on-start: stderr_tail');
is(wait_bridge($b), 3 << 8, 'exit-on-start: bridge exit status 3');
is(status_file($b)->{state}, 'failed', 'exit-on-start: status file');

$b = start_bridge(id => 'slow', args => [qw(--slow-init 5000)],
                  opts => [qw(--init-timeout-ms 300 --grace-ms 1000)]);
is($b->{ready}{state}, 'failed', 'slow init: failed');
like($b->{ready}{error}, qr/timed out/, 'slow init: timeout error');
is(wait_bridge($b), 3 << 8, 'slow init: exit status 3');
ok(!alive($b->{ready}{server_pid}), 'slow init: server gone');

$b = start_bridge(id => 'missing', cmd => ['/nonexistent/mcp-server', '--x']);
is($b->{ready}{state}, 'failed', 'missing binary: failed');
is($b->{ready}{exit_code}, 127, 'missing binary: exit_code 127');
like($b->{ready}{stderr_tail}, qr/cannot execute \/nonexistent\/mcp-server/,
     'missing binary: cannot execute');
is(wait_bridge($b), 3 << 8, 'missing binary: exit status 3');

$b = start_bridge(id => 'cwd', opts => ['--cwd', '/nonexistent/dir']);
is($b->{ready}{state}, 'failed', 'bad --cwd: failed');
like($b->{ready}{stderr_tail}, qr/cannot chdir to \/nonexistent\/dir/, 'bad --cwd: stderr_tail');
is(wait_bridge($b), 3 << 8, 'bad --cwd: exit status 3');

# ------------------------------------------------------------- huge lines

# a minimal server that writes notifications of any size
my $MINI = <<'EOT';
use JSON::PP; $| = 1;
while (my $l = <STDIN>) {
    my $m = decode_json($l);
    next unless defined $m->{id};
    if ($m->{method} eq 'big') {
        print '{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"',
              'x' x $m->{params}{n}, '"}}', "\n";
    }
    print encode_json({ jsonrpc => '2.0', id => $m->{id}, result => $m->{method} eq 'initialize'
        ? { protocolVersion => '2024-11-05', capabilities => {}, serverInfo => { name => 'mini' } }
        : { n => $m->{params}{n} } }), "\n";
}
EOT
$b = start_bridge(id => 'mini', cmd => [$^X, '-e', $MINI]);
is($b->{ready}{protocol_version}, '2024-11-05', 'mini: the server\'s protocol version is accepted');
$g = hconn($b);
send_req($g, GET => '/mcp', undef, Accept => 'text/event-stream');
read_head($g);
$c = hconn($b);
$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"big","params":{"n":2000000}}');
is($res->{json}{result}{n}, 2000000, 'mini: answer after a 2 MB notification');
$e = next_event($g);
is(length($e->{raw}), 2000000 + 71, 'mini: the 2 MB notification on the GET stream');
$res = request($c, POST => '/mcp', '{"jsonrpc":"2.0","id":2,"method":"big","params":{"n":17000000}}');
is($res->{json}{result}{n}, 17000000, 'mini: answer after a 17 MB line');
$res = request($c, GET => '/logs');
ok((grep { $_->{stream} eq 'bridge' && $_->{content} =~ /dropped a message of more than/ } @{ $res->{json}{logs} }),
   'mini: the line over 16 MiB is dropped and logged');
$res = request($c, GET => '/status');
is($res->{json}{state}, 'ready', 'mini: still ready');
diag "bridge RSS after a 17 MB line: " . rss($b->{pid}) . " kB";
kill 'TERM', $b->{pid};
is(wait_bridge($b), 0, 'mini: stopped');

# ------------------------------------------------------------- SIGTERM

# the grandchild ignores SIGTERM: only the group SIGKILL ends it
$b = start_bridge(id => 'term', opts => [qw(--grace-ms 1000)],
    cmd => ['sh', '-c', "trap '' TERM; sleep 1000 & trap - TERM; exec $^X $SERVER"]);
is($b->{ready}{state}, 'ready', 'SIGTERM: ready');
my $pgid = $b->{ready}{server_pid};
my @members = group_members($pgid);
ok(@members >= 2, 'SIGTERM: server and grandchild in their own group') or diag "@members";
ok(!(grep { $_ == $b->{pid} } @members), 'SIGTERM: the bridge is not in it');
$w = hconn($b);
send_req($w, POST => '/mcp', call(sleep => { ms => 10000 }, 'x'));
sleep 0.1;
kill 'TERM', $b->{pid};
$res = read_response($w);
is_deeply($res->{json}{error}, { code => -32000, message => 'MCP server stopped' },
          'SIGTERM: pending request fails');
is(wait_bridge($b), 0, 'SIGTERM: bridge exits 0');
is(status_file($b)->{state}, 'stopped', 'SIGTERM: status stopped');
# SIGKILL is delivered asynchronously: give it a moment
my $t1 = time;
sleep 0.05 while group_members($pgid) && time - $t1 < 2;
is_deeply([ group_members($pgid) ], [], 'SIGTERM: the whole process group is gone');
ok(!-e $b->{sock}, 'SIGTERM: socket removed');

done_testing();
