# Processes: a server never outlives its bridge (parent-death signal, and
# the session kill of whoever sees the bridge die); what a SIGKILLed nginx
# left is stopped at the next start; hangar's own children make no noise
# in error.log; each server has its own directory and umask; its log
# lines outlive a crash and a restart; no status file piles up; socket
# names fit whatever the id; the bridge's backlog is large.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
# the bridge beside the module under test
my $BRIDGE = ($ENV{HANGAR_MODULE} // "$REPO/build/x") =~ s{[^/]+$}{hangar-bridge}r;
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body);
    my $doc = eval { $json->decode($b) };
    return ($st, $doc, $b);
}

sub alive ($) {
    my $pid = shift or return 0;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // return 0;
    return $stat !~ /\) [ZX] /;
}

sub wait_for ($$) {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

sub slurp_file ($) {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh> // '';
}

sub error_log () { slurp_file(servroot() . '/logs/error.log') }

sub state_of ($) { (api(GET => "/api/mcp_servers/$_[0]"))[1]{state} // '' }

sub meta_of ($) {
    my $doc = (api(GET => "/api/mcp_servers/$_[0]"))[1] // {};
    return @{ $doc->{meta} // {} }{qw(bridge_pid server_pid)};
}

# a bridge's socket: run/<first 16 hex of md5("<id>.<seq>")>.sock
sub sock_of ($) {
    my $id = shift;
    require Digest::MD5;
    my ($seq) = sort { $b <=> $a } map { /\.(\d+)\.json$/ }
                glob(servroot() . "/state/run/$id.*.json");
    return undef unless defined $seq;
    my $named = servroot() . "/state/run/$id.$seq.sock";    # older names
    return -S $named ? $named : servroot() . '/state/run/'
           . substr(Digest::MD5::md5_hex("$id.$seq"), 0, 16) . '.sock';
}

# the text of a tool's result, straight from the server's bridge
sub call_tool ($$;$) {
    my ($id, $tool, $args) = @_;
    require IO::Socket::UNIX;
    my $sock = sock_of($id) // return undef;
    my $s = IO::Socket::UNIX->new(Peer => $sock) or return undef;
    my $body = $json->encode({ jsonrpc => '2.0', id => 9, method => 'tools/call',
                               params => { name => $tool, arguments => $args // {} } });
    print $s "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           . "Accept: application/json\r\nConnection: close\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $answer = do { local $/; <$s> } // '';
    my ($json_body) = $answer =~ /\r\n\r\n(.*)\z/s;
    my $doc = eval { $json->decode($json_body) } // {};
    return eval { $doc->{result}{content}[0]{text} };
}

sub run_files () {
    opendir my $d, servroot() . '/state/run' or return ();
    return sort grep { !/^\./ } readdir $d;
}

my $http = "    hangar_zone hangar 1m;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
         . "    hangar_state %s;\n";

sub start_nginx ($;$) {
    my ($yaml, $state) = @_;
    nginx_start({
        workers     => 2,
        http_config => sprintf($http, $state // '$TEST_NGINX_STATE_DIR'),
        config      => "location /api/ { hangar_api; }\n",
        user_files  => ">>> conf/hangar.yaml\n$yaml",
    });
}

my $yaml = <<"YAML";
execution: {allowed_commands: [perl]}
mcp_servers:
  stubborn:
    command: [perl, $SERVER, --name, stubborn, --ignore-eof, --child, --proc-tools]
  talker:
    command: [perl, $SERVER, --name, talker]
YAML

# -- the bridge alone: its server dies with it, even by SIGKILL ------------
{
    my $dir = "/tmp/hb-180-$$";
    mkdir $dir;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out";
        open STDERR, '>&', \*STDOUT;
        { exec $BRIDGE, '--id', 'alone', '--socket', "$dir/s.sock", '--status',
               "$dir/status.json", '--', $^X, $SERVER, '--ignore-eof'; }
        POSIX::_exit(126);
    }
    my $st = {};
    wait_for(sub { $st = eval { $json->decode(slurp_file("$dir/status.json")) } // {};
                   ($st->{state} // '') eq 'ready' }, 10);
    my $server = $st->{server_pid};
    ok(alive($server), "a stubborn server runs behind a bridge alone: $server");
    kill 'KILL', $pid;
    waitpid $pid, 0;
    ok(wait_for(sub { !alive($server) }, 5),
       'SIGKILL of the bridge: the server gets its parent-death signal');
    kill 'KILL', $server if alive($server);
    unlink glob "$dir/*";
    rmdir $dir;
}

start_nginx($yaml);

# -- a working directory and a umask of its own ------------------------------
my ($st, $doc) = api(POST => '/api/mcp_servers/stubborn/start');
is($st, 200, 'stubborn starts');
my $proc = eval { $json->decode(call_tool('stubborn', 'proc') // '') } // {};
my $sdir = servroot() . '/state/servers/stubborn';
is($proc->{cwd}, $sdir, "the server's cwd is state/servers/<id>");
is($proc->{umask}, '0077', 'the server runs with umask 077');
is(sprintf('%04o', (stat $sdir)[2] & 07777), '0700', 'its directory is 0700');
is(sprintf('%04o', (stat servroot() . '/state/session.key')[2] & 07777), '0600',
   'session.key is 0600');
my ($bridge, $server) = meta_of('stubborn');
my $child = $proc->{child_pid};
ok(alive($bridge) && alive($server) && alive($child),
   "bridge $bridge, server $server and its child $child run");

# -- SIGKILL of a bridge: nothing of its server is left -----------------------
kill 'KILL', $bridge;
ok(wait_for(sub { state_of('stubborn') eq 'dead' }, 5), 'the server is dead at once');
ok(wait_for(sub { !alive($server) && !alive($child) }, 5),
   'neither the server nor its child outlives the bridge');
# without pidfds (valgrind does not know pidfd_open) the status is unknown
my $words = Hangar::Test::valgrind_on() ? 'ended; its exit status is not known'
                                        : 'was killed by signal 9';
ok(wait_for(sub { error_log() =~ /bridge of server "stubborn" \(pid $bridge\) \Q$words\E/ }, 8),
   "error.log says in words that the bridge $words");
like(error_log(), qr/the bridge of server "stubborn" \(pid $bridge\) died/,
     'and that its processes were killed');
ok(!(grep { /^stubborn\./ } run_files()), 'its status file is gone: ' . join(' ', run_files()));

# -- logs outlive a crash and the next start ---------------------------------
($st) = api(POST => '/api/mcp_servers/talker/start');
is($st, 200, 'talker starts');
is(call_tool('talker', 'stderr', { lines => 3, text => 'last words' }), 'wrote 3 lines',
   'talker writes to stderr');
call_tool('talker', 'crash', { code => 5 });
ok(wait_for(sub { state_of('talker') eq 'dead' }, 5), 'talker crashed');
like(error_log(), qr/server "talker" exited with code 5/, 'error.log: exited with code 5');
($st, $doc) = api(GET => '/api/mcp_servers/talker/logs?lines=20');
my $logs = join "\n", map { $_->{content} } @{ $doc->{logs} // [] };
like($logs, qr/last words 3.*crashing with 5/s, 'GET /logs after the crash: its last lines');
($st) = api(POST => '/api/mcp_servers/talker/start');
is($st, 200, 'talker starts again');
($st, $doc) = api(GET => '/api/mcp_servers/talker/logs?lines=50');
$logs = join "\n", map { $_->{content} } @{ $doc->{logs} // [] };
like($logs, qr/last words 3.*crashing with 5.*started pid/s,
     'GET /logs after the next start: the crash and the new run');
api(POST => '/api/mcp_servers/talker/stop');
ok(wait_for(sub { !grep { /^talker\./ } run_files() }, 5), 'a stopped bridge leaves no file in run/');

# -- a large listen backlog -----------------------------------------------
($st) = api(POST => '/api/mcp_servers/talker/start');
($bridge) = meta_of('talker');
my $sock = sock_of('talker') // '';
ok(-S $sock, "the socket has a short name, run/<16 hex>.sock: $sock");
kill 'STOP', $bridge;
my ($queued, @conns) = (0);
for (1 .. 1000) {
    socket(my $c, AF_UNIX, SOCK_STREAM, 0) or last;
    my $flags = fcntl($c, POSIX::F_GETFL(), 0);
    fcntl($c, POSIX::F_SETFL(), $flags | POSIX::O_NONBLOCK());
    last unless connect($c, pack_sockaddr_un($sock));
    push @conns, $c;
    $queued++;
}
kill 'CONT', $bridge;
close $_ for @conns;
is($queued, 1000, 'a bridge that does not accept for a while still queues 1000 connections');

# -- leftovers of a nginx killed with SIGKILL ------------------------------
($st) = api(POST => '/api/mcp_servers', $json->encode({ mcp_server_id => 'made',
    mode => 'subprocess', command => ['perl', $SERVER] }));
is($st, 201, 'a server made through the API');
is(sprintf('%04o', (stat servroot() . '/state/hangar-state.json')[2] & 07777), '0600',
   'the state file is 0600');
($st) = api(POST => '/api/mcp_servers/stubborn/start');
is($st, 200, 'stubborn starts again');
($bridge, $server) = meta_of('stubborn');
$proc = eval { $json->decode(call_tool('stubborn', 'proc') // '') } // {};
$child = $proc->{child_pid};
my ($tbridge, $tserver) = meta_of('talker');
ok(alive($child) && alive($tserver), 'two servers run');
my $log = error_log();
unlike($log, qr/unknown process/, 'start, stop, crash and SIGKILL of bridges: no "unknown process" in error.log');
no_alerts();
# a status file whose bridge pid is now someone else's session leader
pipe(my $r, my $w) or die "pipe: $!";
my $leader = fork // die "fork: $!";
if (!$leader) {
    POSIX::setsid();
    my $member = fork // POSIX::_exit(1);
    if ($member) { print $w "$member\n"; close $w; sleep 1 while 1 }
    sleep 1 while 1;
}
close $w;
chomp(my $member = <$r> // '');
open my $ghost, '>', servroot() . '/state/run/ghost.7.json' or die;
print $ghost $json->encode({ id => 'ghost', bridge_pid => $leader, server_pid => $member });
close $ghost;
kill 'KILL', master_pid(), Hangar::Test::worker_pids(master_pid());
kill 'KILL', $bridge;     # a bridge that died with nginx
sleep 0.3;
ok(alive($tserver), "a server outlives the nginx that was killed");
Hangar::Test::nginx_start({ keep_servroot => 1, workers => 2,
    http_config => sprintf($http, '$TEST_NGINX_STATE_DIR'),
    config      => "location /api/ { hangar_api; }\n" });
ok(wait_for(sub { !grep { alive($_) } $bridge, $server, $child, $tbridge, $tserver }, 8),
   'the next start stopped every process the last one left');
is_deeply([run_files()], [], 'run/ is empty');
ok(alive($leader) && alive($member),
   'a pid in a status file that is now another session leader: its session is left alone');
kill 'KILL', $member, $leader;
waitpid $leader, 0;
my $kept = eval { $json->decode(slurp_file(servroot() . '/state/logs/stubborn.json')) } // {};
is($kept->{bridge_pid}, $bridge, "the status of the killed bridge's run is kept in logs/<id>.json");
is(state_of('made'), 'cold', 'the server made through the API is still there');
is(state_of('stubborn'), 'cold', 'stubborn is cold');
($st, $doc) = api(GET => '/api/mcp_servers/talker/logs?lines=100');
like(join("\n", map { $_->{content} } @{ $doc->{logs} // [] }), qr/crashing with 5/,
     'the logs of earlier runs are still there');

# -- noise after the restart too ------------------------------------------------
unlike(error_log(), qr/unknown process/, 'no "unknown process" in error.log after the restart');
is(nginx_stop(), '', 'nginx quits');
no_alerts();
no_orphans();
Hangar::Test::check_valgrind('after a restart') if Hangar::Test::valgrind_on();

# -- quit with a listener to a remote that this nginx proxies -------------------
{
    # the first run of "inner" is run 1: its socket's name is known ahead
    require Digest::MD5;
    my $sock = '$TEST_NGINX_STATE_DIR/run/'
               . substr(Digest::MD5::md5_hex('inner.1'), 0, 16) . '.sock';
    nginx_start({
        workers     => 1,
        http_config => sprintf($http, '$TEST_NGINX_STATE_DIR'),
        config      => "location /api/ { hangar_api; }\n"
                     . "location /self/ { proxy_pass http://unix:$sock:/;\n"
                     . "  proxy_http_version 1.1; proxy_buffering off; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                     . "  inner:\n    command: [perl, $SERVER]\n"
                     . "  outer:\n    mode: remote\n"
                     . "    endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/self/mcp\n",
    });
    ($st) = api(POST => '/api/mcp_servers/inner/start');
    is($st, 200, 'inner starts');
    ($st) = api(POST => '/api/mcp_servers/outer/start');
    is($st, 200, 'outer, a remote proxied by this nginx to inner, starts');
    sleep 1;    # the lease holder opens its list_changed stream to outer
    is(nginx_stop(), '', 'nginx quits at once, listener or not');
}

# -- a long state directory and a 64-character id ----------------------------
{
    my $id = 'x' x 64;
    my $base = servroot() . '/s';
    my $long = $base . '/' . ('d' x (81 - length($base) - 1));
    is(length $long, 81, 'a state directory of 81 bytes');
    start_nginx("mcp_servers:\n  $id:\n    command: [perl, $SERVER]\n", $long);
    ($st, $doc) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, 'a server with a 64-character id starts') or diag(explain($doc));
    is(nginx_stop(), '', 'nginx quits');
    opendir my $d, "$long/run" or die "$long/run: $!";
    is_deeply([grep { !/^\./ } readdir $d], [], 'nginx -s quit leaves nothing in run/');
    Hangar::Test::check_valgrind('a long state directory') if Hangar::Test::valgrind_on();

    my $longer = "$long/e";
    Hangar::Test::prepare({ workers => 1,
        http_config => sprintf($http, $longer),
        config      => "location /api/ { hangar_api; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers: {}\n" });
    my $out = `${\ Hangar::Test::nginx_bin()} -p ${\ servroot()}/ -c conf/nginx.conf -t 2>&1`;
    isnt($?, 0, 'nginx -t fails with a state directory too long for sockets');
    like($out, qr/"hangar_state" path .* is too long/, 'and says why') or diag($out);
}

no_orphans();
Test::More::done_testing();
