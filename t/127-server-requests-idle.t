# Server requests outside any call (issue 9 item 2): a request a server
# sends while no call of it is in flight goes to the GET stream of the
# front-door session whose call last went to that server, if that session
# holds a GET stream (in any worker) and declared the capability; else the
# server is answered with an error at once.  Never to another session, so
# never to another API key's.  Through the pass-through, the bridge applies
# the same rule to its own sessions.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my $SLOW = Hangar::Test::valgrind_on() ? 8 : 1;

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";

my %key = (a => 'mcp_test_alice_' . ('a' x 24), b => 'mcp_test_bob_' . ('b' x 24));

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 2m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "add_header X-Worker \$pid always;\n"
                 . "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "auth:\n  enabled: true\n  api_keys:\n"
                 . "    - {name: alice, principal_id: \"user:alice\", key: \"$key{a}\"}\n"
                 . "    - {name: bob, principal_id: \"user:bob\", key: \"$key{b}\"}\n"
                 . "  role_assignments:\n"
                 . "    - {principal: \"user:alice\", role: admin}\n"
                 . "    - {principal: \"user:bob\", role: admin}\n"
                 . "mcp_servers:\n"
                 . "  perl:\n    command: [perl, $SERVER, --tools, 'later_sample,later_result,echo']\n",
});

# ---- raw HTTP: a keep-alive connection stays with one worker ---------------

sub conn () {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) // die "connect: $!";
}

sub send_req ($$$$$) {
    my ($c, $method, $path, $body, $h) = @_;
    $body //= '';
    print $c "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           . join('', map { "$_: $h->{$_}\r\n" } sort keys %$h)
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

sub headers ($$) {
    my ($who, $sid) = @_;
    return { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
             Authorization => "Bearer $key{$who}",
             ($sid ? ('Mcp-Session-Id' => $sid, 'MCP-Protocol-Version' => '2025-11-25') : ()) };
}

# one JSON-RPC message POSTed; an SSE answer is reduced to its last event
sub rpc ($$$;$$) {
    my ($who, $body, $sid, $c, $path) = @_;
    $c //= conn();
    send_req($c, POST => $path // '/mcp', ref $body ? $json->encode($body) : $body, headers($who, $sid));
    my ($st, $h, $b) = response($c);
    if (($h->{'content-type'} // '') =~ /event-stream/) {
        my @d = $b =~ /^data: ?(.*)$/mg;
        $b = $d[-1] // '';
    }
    return ($st, $h, eval { $json->decode($b) } // $b);
}

sub session ($$;$) {
    my ($who, $caps, $path) = @_;
    my ($st, $h) = rpc($who, { jsonrpc => '2.0', id => 1, method => 'initialize',
                               params => { protocolVersion => '2025-11-25', capabilities => $caps,
                                           clientInfo => { name => 'idle', version => '0' } } },
                       undef, undef, $path);
    rpc($who, { jsonrpc => '2.0', method => 'notifications/initialized' }, $h->{'mcp-session-id'},
        undef, $path);
    return $h->{'mcp-session-id'};
}

sub call ($$$$;$$) {
    my ($who, $sid, $tool, $args, $c, $path) = @_;
    my ($st, $h, $r) = rpc($who, { jsonrpc => '2.0', id => "c-$tool", method => 'tools/call',
                                   params => { name => $tool, arguments => $args } }, $sid, $c, $path);
    return join "\n", map { $_->{text} // '' } @{ ref $r eq 'HASH' && $r->{result}{content} || [] };
}

# a GET stream: the connection, with the worker that holds it
sub get_stream ($$;$) {
    my ($who, $sid, $path) = @_;
    my $c = conn();
    my $h = headers($who, $sid);
    $h->{Accept} = 'text/event-stream';
    delete $h->{'Content-Type'};
    send_req($c, GET => $path // '/mcp', undef, $h);
    my ($st, $hd) = read_head($c);
    ${*$c}{worker} = $hd->{'x-worker'};
    ${*$c}{status} = $st;
    return $c;
}

# the next event of a stream that is a server's request (notifications
# such as list_changed are skipped); undef after $secs
sub next_request ($$) {
    my ($c, $secs) = @_;
    my $sel = IO::Select->new($c);
    my $deadline = time + $secs * $SLOW;
    ${*$c}{sse} //= '';
    while (1) {
        while (${*$c}{sse} =~ s/\A(.*?)\n\n//s) {
            my ($data) = $1 =~ /^data: ?(.*)$/m;
            my $m = eval { $json->decode($data // '') };
            return $m if ref $m eq 'HASH' && defined $m->{id} && $m->{method};
        }
        my $left = $deadline - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $d = read_chunk($c);
        return undef unless defined $d;
        ${*$c}{sse} .= $d;
    }
}

# how the server says its last later_sample request was answered
sub outcome ($$) {
    my ($who, $sid) = @_;
    my $deadline = time + 5 * $SLOW;
    my $r;
    do {
        sleep 0.1;
        $r = call($who, $sid, later_result => {});
    } while ($r =~ /^pending/ && time < $deadline);
    return $r;
}

# a connection to the worker other than $pid
sub other_worker ($$$) {
    my ($who, $pid, $sid) = @_;
    for (1 .. 100) {
        my $c = conn();
        my ($st, $h) = rpc($who, { jsonrpc => '2.0', id => 'p', method => 'ping' }, $sid, $c);
        return $c if ($h->{'x-worker'} // $pid) ne $pid;
    }
    return undef;
}

my ($st) = rpc('a', { jsonrpc => '2.0', id => 1, method => 'ping' }, undef);
my $deadline = time + 30 * $SLOW;
my $tools = '';
until ($tools =~ /later_sample/ || time > $deadline) {
    http_request(POST => '/api/mcp_servers/perl/start', '', { Authorization => "Bearer $key{a}" });
    (undef, undef, $tools) = http_request(GET => '/api/mcp_servers/perl/tools', undef,
                                          { Authorization => "Bearer $key{a}" });
    sleep 0.2 unless $tools =~ /later_sample/;
}
like($tools, qr/later_sample/, 'the server is ready');

# ---- a GET stream on the other worker than the call -------------------------

my $sa = session('a', { sampling => {} });
like($sa, qr/^hs3-/, 'alice: a session with sampling');
my $ga = get_stream('a', $sa);
is(${*$ga}{status}, 200, 'alice: a GET stream');
my $ca = other_worker('a', ${*$ga}{worker}, $sa);
ok($ca, 'alice: a connection to the worker that does not hold the stream');

like(call('a', $sa, later_sample => { prompt => 'idle one', ms => 200 }, $ca), qr/^scheduled \d+$/,
     'alice: the call returns at once');
my $ev = next_request($ga, 10);
is($ev->{method}, 'sampling/createMessage', 'the request outside the call reaches the GET stream');
is($ev->{params}{messages}[0]{content}{text}, 'idle one', '... as the server sent it');
like($ev->{id} // '', qr/^hangar1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[0-9a-f]{32}$/,
     '... with an id any worker routes back');
my ($ast, $ah) = rpc('a', { jsonrpc => '2.0', id => $ev->{id},
                            result => { role => 'assistant', model => 'm',
                                        content => { type => 'text', text => 'from the GET stream' } } },
                     $sa, $ca);
is($ast, 202, 'the answer is accepted');
isnt($ah->{'x-worker'}, ${*$ga}{worker}, '... by the worker that does not hold the stream');
is(outcome('a', $sa), 'sampled: from the GET stream', 'the server got the answer');

# ---- a session without a GET stream: an error at once -----------------------

my $sn = session('a', { sampling => {} });
my $t0 = time;
like(call('a', $sn, later_sample => { prompt => 'nobody listens', ms => 100 }), qr/^scheduled/,
     'no stream: the call returns');
my $out = outcome('a', $sn);
like($out, qr/^error: /, "no stream: the server is answered with an error ($out)");
ok(time - $t0 < 5 * $SLOW, 'no stream: at once, not after the bridge\'s timeout');

# a session without the capability, with a GET stream: the same
my $sx = session('a', {});
my $gx = get_stream('a', $sx);
is(${*$gx}{status}, 200, 'no capability: a GET stream');
call('a', $sx, later_sample => { prompt => 'cannot answer', ms => 100 });
like(outcome('a', $sx), qr/^error: /, 'no capability: the server is answered with an error');
is(next_request($gx, 0.5), undef, 'no capability: the stream never sees the request');

# ---- another API key never gets it ------------------------------------------

my $sb = session('b', { sampling => {} });
my $gb = get_stream('b', $sb);
is(${*$gb}{status}, 200, 'bob: a GET stream, sampling declared');
sleep 0.3;
my $sn2 = session('a', { sampling => {} });
call('a', $sn2, later_sample => { prompt => 'for alice only', ms => 100 });
like(outcome('a', $sn2), qr/^error: /, 'alice called last, with no stream: an error, though bob could answer');
# then bob's own: the first request his stream sees is his
call('b', $sb, later_sample => { prompt => 'for bob', ms => 100 });
$ev = next_request($gb, 10);
is($ev->{params}{messages}[0]{content}{text}, 'for bob',
   'bob\'s stream got only the request of his own call, never alice\'s');
rpc('b', { jsonrpc => '2.0', id => $ev->{id},
           result => { role => 'assistant', model => 'm', content => { type => 'text', text => 'bob here' } } }, $sb);
is(outcome('b', $sb), 'sampled: bob here', 'bob answered');
# and alice's stream saw nothing of both
call('a', $sa, later_sample => { prompt => 'alice again', ms => 100 });
$ev = next_request($ga, 10);
is($ev->{params}{messages}[0]{content}{text}, 'alice again',
   'alice\'s stream: the next request is of her own next call');
rpc('a', { jsonrpc => '2.0', id => $ev->{id}, error => { code => -1, message => 'declined by alice' } }, $sa);
is(outcome('a', $sa), 'error: declined by alice', 'an error answer goes back too');

# ---- the pass-through: the bridge's own sessions -----------------------------

my $pa = session('a', { sampling => {} }, '/mcp/perl');
like($pa // '', qr/^b\d+-/, 'pass-through: a bridge session');
my $pg = get_stream('a', $pa, '/mcp/perl');
is(${*$pg}{status}, 200, 'pass-through: a GET stream');
sleep 0.2;
like(call('a', $pa, later_sample => { prompt => 'through', ms => 100 }, undef, '/mcp/perl'), qr/^scheduled/,
     'pass-through: the call returns');
$ev = next_request($pg, 10);
is($ev->{params}{messages}[0]{content}{text}, 'through', 'pass-through: the request on its GET stream');
rpc('a', { jsonrpc => '2.0', id => $ev->{id},
           result => { role => 'assistant', model => 'm', content => { type => 'text', text => 'pt' } } },
    $pa, undef, '/mcp/perl');
is(outcome('a', $sa), 'sampled: pt', 'pass-through: the server got the answer');

# a pass-through session without a stream called last: an error, though
# the first one still has its stream
my $pn = session('b', { sampling => {} }, '/mcp/perl');
call('b', $pn, later_sample => { prompt => 'nobody', ms => 100 }, undef, '/mcp/perl');
like(outcome('b', $sb), qr/^error: /, 'pass-through: the last caller has no stream: an error at once');
is(next_request($pg, 0.5), undef, 'pass-through: the other session\'s stream never sees it');

close $_ for $ga, $gb, $gx, $pg;
is(nginx_stop(), "", "nginx stopped");
Hangar::Test::check_valgrind('server requests outside calls') if Hangar::Test::valgrind_on();
no_orphans();
no_alerts();
Test::More::done_testing();
