# A call to a ready server never fails for hangar's own reasons: a connect
# to a unix socket whose listen queue is full fails at once with EAGAIN
# (Linux), and the client tries again (every 20 ms, bounded) instead of
# failing the call.  The test puts a listener with a full queue in place of
# the bridge's socket, makes calls that need new connections, and only
# then starts accepting (relaying to the bridge).  Then the bridge's own
# bounds: trailers and chunk-size lines a worker sends it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Select ();
use IO::Socket::UNIX ();
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep);

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;
my $CALLS = 6;

nginx_start({
    workers     => 1,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  s:\n    command: [perl, $REPO/t/servers/hangar-test-server]\n",
});

my ($st, $h, $b) = http_request(POST => '/api/mcp_servers/s/start');
is($st, 200, 'the server starts') or diag($b);

sub rpc ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode($body), \%h);
    if (($hd->{'content-type'} // '') =~ /event-stream/) {
        my @d = $b =~ /^data: ?(.*)$/mg;
        $b = $d[-1] // '';
    }
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

(my $ist, my $ihd) = rpc({ jsonrpc => '2.0', id => 1, method => 'initialize',
                           params => { protocolVersion => '2025-06-18', capabilities => {},
                                       clientInfo => { name => 't', version => '0' } } });
my $sid = $ihd->{'mcp-session-id'};
ok($sid, 'a front-door session');

my ($sock) = glob servroot() . '/state/run/*.sock';    # the only server's
ok($sock && -S $sock, 'the bridge socket') or diag(join ' ', glob servroot() . '/state/run/*');
rename $sock, "$sock.real" or die "rename: $!\n";

# backlog 0: one connection waits in the queue, the next connect is EAGAIN
# (IO::Socket would take Listen => 0 for its default of 5)
socket(my $l, Socket::PF_UNIX(), SOCK_STREAM, 0) or die "socket: $!\n";
bind($l, Socket::pack_sockaddr_un($sock)) or die "bind: $!\n";
listen($l, 0) or die "listen: $!\n";
my $filler = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock)
    or die "connect: $!\n";
socket(my $probe, Socket::PF_UNIX(), SOCK_STREAM, 0) or die "socket: $!\n";
fcntl($probe, POSIX::F_SETFL(), POSIX::O_NONBLOCK()) or die "fcntl: $!\n";
my $rc = connect($probe, Socket::pack_sockaddr_un($sock));
ok(!$rc && $!{EAGAIN}, 'the listen queue is full (EAGAIN)') or diag("$!");
close $probe;

# the callers: more at once than the connections kept alive
my @kids;
for my $k (1 .. $CALLS) {
    my $pid = fork // die;
    if (!$pid) {
        my (undef, undef, $r) = rpc({ jsonrpc => '2.0', id => 10 + $k, method => 'tools/call',
                                      params => { name => 'sleep', arguments => { ms => 300 } } },
                                    $sid);
        POSIX::_exit((($r->{result}{content}[0]{text} // '') eq 'slept 300') ? 0 : 1);
    }
    push @kids, $pid;
}

# a while later the queue drains: accept and relay to the bridge
sleep 0.4;
my $relay = fork // die;
if (!$relay) {
    my %conn;
    $SIG{TERM} = sub { kill 'KILL', keys %conn; POSIX::_exit(0) };
    $SIG{CHLD} = sub { while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) { delete $conn{$p} } };
    close $filler;
    while (1) {
        accept(my $c, $l) or next;
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => "$sock.real")
                or POSIX::_exit(1);
            my $sel = IO::Select->new($c, $u);
            while (my @r = $sel->can_read(30)) {
                for my $from (@r) {
                    my $to = $from == $c ? $u : $c;
                    my $n = sysread($from, my $buf, 65536);
                    POSIX::_exit(0) unless $n;
                    syswrite($to, $buf) // POSIX::_exit(0);
                }
            }
            POSIX::_exit(0);
        }
        $conn{$pid} = 1 if $pid;
        close $c;
    }
}
close $filler;

my $ok = 0;
for my $pid (@kids) {
    waitpid $pid, 0;
    $ok++ if $? == 0;
}
is($ok, $CALLS, "all $CALLS calls answered, none failed on the full backlog");

kill 'TERM', $relay;
waitpid $relay, 0;
close $l;
unlink $sock;
rename "$sock.real", $sock;

# the bridge bounds what a worker may send it: trailers and chunk lines
sub bridge_raw ($) {
    my $req = shift;
    my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock) or return "connect: $!";
    $c->syswrite($req);
    my $sel = IO::Select->new($c);
    my $res = '';
    while ($sel->can_read(5)) {
        last unless sysread($c, $res, 65536, length $res);
        last if $res =~ /\r\n\r\n/;
    }
    return $res;
}
my $body = '{"jsonrpc":"2.0","method":"notifications/x"}';
my $head = "POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
my $res = bridge_raw($head . sprintf("%x\r\n%s\r\n0\r\n", length $body, $body)
                     . ("X-T: 1\r\n" x 20000) . "\r\n");
like($res, qr{^HTTP/1.1 400}, 'bridge: 160 KB of trailers is a 400') or diag($res);
$res = bridge_raw($head . ('0' x 2000) . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body));
like($res, qr{^HTTP/1.1 400}, 'bridge: a 2 KB chunk-size line is a 400') or diag($res);
$res = bridge_raw($head . sprintf("%x\r\n%s\r\n0\r\nX-T: 1\r\n\r\n", length $body, $body));
like($res, qr{^HTTP/1.1 202}, 'bridge: a request with a trailer is served') or diag($res);

my $log = '';
open my $fh, '<', servroot() . '/logs/error.log' or die;
while (<$fh>) { $log .= $_ if /\[(error|crit|alert)\]/ }
close $fh;
ok($log !~ /Resource temporarily unavailable|connect\(\) failed/,
   'no failed connect was logged') or diag($log);
no_alerts();

is(nginx_stop(), '', 'nginx stops');
no_orphans();

Test::More::done_testing();
