# Calls in flight: idle shutdown waits for the last call to end, a stop
# lets calls finish, calls during restarts wait instead of failing, a
# worker killed mid-call or mid-start leaves nothing stuck, a DELETE
# racing a lazy start leaves no bridge behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body);
    return ($st, eval { $json->decode($b // '') }, $b);
}

sub state_of ($) { (api(GET => "/api/mcp_servers/$_[0]"))[1]{state} // '' }

sub wait_for ($$) {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

sub alive ($) {
    my $pid = shift or return 0;
    my $stat = Hangar::Test::slurp("/proc/$pid/stat");
    return $stat =~ /\) [^ZX] /;
}

# processes of this test (their command line or directory is under its
# servroot: other tests may run the same servers at the same time) with
# these arguments, one after the other, in their command line
sub procs (@) {
    my $args = join("\0", @_) . "\0";
    my $root = servroot();
    my @found;
    for my $pid (map { m{(\d+)$} } glob '/proc/[0-9]*') {
        next if $pid == $$;
        my $cmd = Hangar::Test::slurp("/proc/$pid/cmdline") // '';
        my $cwd = readlink("/proc/$pid/cwd") // '';
        next unless index($cmd, $root) >= 0 || index($cwd, $root) == 0;
        push @found, $pid if index($cmd, "\0$args") >= 0 && alive($pid);
    }
    return @found;
}

sub error_log () { Hangar::Test::slurp(servroot() . '/logs/error.log') // '' }

# a tools/call through hangar_pass; the text of the result, or the error
sub call ($$$) {
    my ($id, $tool, $args) = @_;
    my $body = $json->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call',
                               params => { name => $tool, arguments => $args } });
    my ($st, $h, $b, $err) = http_request(POST => "/mcp/$id", $body,
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream' });
    return "HTTP " . ($st // "none: $err") unless ($st // 0) == 200;
    my ($text) = ($b // '') =~ /"text":"((?:[^"\\]|\\.)*)"/;
    return $text // "no text: $b";
}

# runs $code in a child; returns a handle to collect what it printed
sub background (&) {
    my $code = shift;
    pipe(my $r, my $w) or die;
    my $pid = fork // die;
    if (!$pid) {
        close $r;
        print $w $code->();
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    return [$pid, $r];
}

sub collect ($) {
    my ($pid, $r) = @{ $_[0] };
    my $out = do { local $/; <$r> };
    waitpid $pid, 0;
    return $out;
}

my $yaml = <<"YAML";
execution: {allowed_commands: [perl]}
mcp_servers:
  sleepy:
    command: [perl, $SERVER, --name, sleepy]
    idle_ttl_s: 1
  steady:
    command: [perl, $SERVER, --name, steady]
  flappy:
    command: [perl, $SERVER, --name, flappy]
  doomed:
    command: [perl, $SERVER, --name, doomed]
  backend:
    command: [perl, $SERVER, --name, backend]
  relay:
    mode: remote
    endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/mcp/backend
  slow:
    command: [perl, $SERVER, --name, slow, --slow-init, 1500]
  slower:
    command: [perl, $SERVER, --name, slower, --slow-init, 2500]
YAML

nginx_start({
    workers     => 2,
    timeout     => 20,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n"
                 . "location = /fd { hangar_mcp; hangar_mcp_naming prefixed; }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml",
});

# -- a 4 s call on a server with idle_ttl_s 1 ------------------------------
is(call('sleepy', 'sleep', { ms => 4000 }), 'slept 4000',
   'a 4 s call to a server with idle_ttl_s 1 is not cut by idle shutdown');
unlike(error_log(), qr/"sleepy" idle, stopping/, 'no idle stop while the call ran');
ok(wait_for(sub { state_of('sleepy') eq 'cold' }, 6),
   'idle after the last call ended: stopped');

# -- a stop lets the call in flight finish -----------------------------------
is(call('steady', 'echo', { text => 'up' }), 'up', 'steady answers');
my $bridge = (api(GET => '/api/mcp_servers/steady'))[1]{meta}{bridge_pid};
my $job = background { call('steady', 'sleep', { ms => 2000 }) };
sleep 0.7;
my ($st, $doc) = api(POST => '/api/mcp_servers/steady/stop');
is($st, 200, 'stop during a call answers 200');
is(collect($job), 'slept 2000', 'the call in flight finished despite the stop');
ok(wait_for(sub { !alive($bridge) }, 5), 'then the process went');
ok(wait_for(sub { state_of('steady') eq 'cold' }, 3), 'and the server is cold');

# -- a DELETE during a call: nothing of the server is left ------------------
is(call('doomed', 'echo', { text => 'up' }), 'up', 'doomed answers');
$job = background { call('doomed', 'sleep', { ms => 3000 }) };
sleep 0.7;
($st) = api(DELETE => '/api/mcp_servers/doomed');
is($st, 200, 'DELETE during a call');
collect($job);
ok(wait_for(sub { !procs('--id', 'doomed') && !procs('--name', 'doomed') }, 6),
   'no bridge or server of the deleted server is left');

# -- calls while the server is stopped and started in a loop -----------------
is(call('flappy', 'echo', { text => 'x' }), 'x', 'flappy answers');
# HANGAR_FLAP_SECS=60 for a longer measurement
# (valgrind: nginx is far slower, the loop runs longer for as many turns)
my $until = time + ($ENV{HANGAR_FLAP_SECS}
                    || (Hangar::Test::valgrind_on() ? 30 : 6));
my $flapper = background {
    my $n = 0;
    while (time < $until) {
        http_request(POST => '/api/mcp_servers/flappy/stop');
        sleep 0.2;
        http_request(POST => '/api/mcp_servers/flappy/start');
        sleep 0.2;
        $n++;
    }
    $n;
};
my @callers = map {
    background {
        my ($ok, @bad) = (0);
        while (time < $until) {
            my $r = call('flappy', 'sleep', { ms => 30 });
            if ($r eq 'slept 30') { $ok++ } else { push @bad, $r }
        }
        "$ok\n" . join("\n", @bad);
    }
} 1 .. 2;
my $restarts = collect($flapper);
my ($ok, @bad) = (0);
for (@callers) {
    my ($n, @b) = split /\n/, collect($_);
    $ok += $n;
    push @bad, @b;
}
ok($restarts >= 5, "the server was stopped and started $restarts times");
ok($ok > 20, "$ok calls during the restarts");
is(scalar @bad, 0, 'no call failed during the restarts')
    or diag(join "\n", @bad[0 .. ($#bad > 5 ? 5 : $#bad)]);

# -- a DELETE racing a lazy start -------------------------------------------
$job = background { call('slow', 'echo', { text => 'late' }) };
ok(wait_for(sub { procs('--id', 'slow') }, 5), 'the lazy start spawned a bridge');
($st) = api(DELETE => '/api/mcp_servers/slow');
is($st, 200, 'DELETE during the start');
collect($job);
ok(wait_for(sub { !procs('--id', 'slow') && !procs('--name', 'slow') }, 6),
   'no bridge or server of the deleted server is left')
    or diag(join ' ', procs('--id', 'slow'));
($st) = api(GET => '/api/mcp_servers/slow');
is($st, 404, 'and the server is gone');

# -- a DELETE and a re-create racing a lazy start ---------------------------
# the old start must not become the run of the new record
my $create = sub {
    my ($name) = @_;
    my ($st, $h, $b) = http_request(POST => '/api/mcp_servers',
        $json->encode({ mcp_server_id => 'again', mode => 'subprocess',
                        command => ['perl', $SERVER, '--name', $name,
                                    '--slow-init', '1500'] }),
        { 'Content-Type' => 'application/json' });
    return $st;
};
is($create->('again-old'), 201, 'created "again"');
$job = background { call('again', 'echo', { text => 'old' }) };
ok(wait_for(sub { procs('--name', 'again-old') }, 5), 'its lazy start runs');
($st) = api(DELETE => '/api/mcp_servers/again');
is($st, 200, 'deleted during the start');
is($create->('again-new'), 201, 'created again with another command');
my $second = background { join ' ', api(POST => '/api/mcp_servers/again/start') };
collect($job);
collect($second);
ok(wait_for(sub { state_of('again') eq 'ready' }, 8), 'the new record is ready');
$doc = (api(GET => '/api/mcp_servers/again'))[1];
is($doc->{meta}{init_result}{serverInfo}{name}, 'again-new',
   'it runs the new command, not the start of the deleted record');
ok(wait_for(sub { !procs('--name', 'again-old') }, 6),
   "the deleted record's server is gone")
    or diag(join ' ', procs('--name', 'again-old'));
api(DELETE => '/api/mcp_servers/again');
ok(wait_for(sub { !procs('--id', 'again') }, 6), 'and nothing of "again" runs after its DELETE');

# -- a worker killed -9 during a start --------------------------------------
my %before = map { $_ => 1 } procs('--id', 'slower');
$job = background { (api(POST => '/api/mcp_servers/slower/start'))[0] // 'none' };
my @orphan;
ok(wait_for(sub { @orphan = grep { !$before{$_} } procs('--id', 'slower') }, 5),
   'the start spawned a bridge');
# the worker that starts it says so; without the line, every worker goes
my ($owner) = error_log() =~ /(\d+)#\d+: [^\n]*hangar: "slower" starting/;
ok($owner, 'the worker starting it is known');
kill 'KILL', $owner // Hangar::Test::worker_pids(master_pid());
collect($job);
ok(wait_for(sub { state_of('slower') ne 'initializing' }, 10),
   'another worker resets the server within the start timeout')
    or diag(state_of('slower'));
ok(wait_for(sub { !grep { alive($_) } @orphan }, 5),
   "the orphaned start's bridge is stopped");
($st, $doc, my $raw) = api(POST => '/api/mcp_servers/slower/start');
is($st, 200, 'the server starts again') or diag($raw);
is($doc->{state}, 'ready', 'and is ready');

# -- a worker killed -9 during a call: its count does not leak --------------
is(call('sleepy', 'echo', { text => 'again' }), 'again', 'sleepy runs again');
$job = background { call('sleepy', 'sleep', { ms => 3000 }) };
sleep 0.5;
kill 'KILL', Hangar::Test::worker_pids(master_pid());
collect($job);
ok(wait_for(sub { state_of('sleepy') eq 'cold' }, 8),
   "the killed worker's call no longer holds the server");

# -- a busy server is never idle, whichever worker saw the last call --------
is(call('sleepy', 'echo', { text => 'busy' }), 'busy', 'sleepy started');
my $mark = length error_log();
$until = time + 4;
@callers = map {
    background {
        my $bad = 0;
        while (time < $until) {
            $bad++ unless call('sleepy', 'sleep', { ms => 20 }) eq 'slept 20';
        }
        $bad;
    }
} 1 .. 2;
my $failed = 0;
$failed += collect($_) for @callers;
is($failed, 0, 'no call to the busy server failed');
unlike(substr(error_log(), $mark), qr/"sleepy" idle, stopping/,
       'a busy server is never stopped as idle');

# -- a stopped remote server's list_changed listener closes ------------------
# (relay is a remote server reached through this nginx's hangar_pass)
($st, $doc, my $rraw) = api(POST => '/api/mcp_servers/relay/start');
is($st, 200, 'a remote server starts') or diag($rraw);
my $access = sub { Hangar::Test::slurp(servroot() . '/logs/access.log') };
ok(wait_for(sub { error_log() =~ /GET \/mcp\/backend/ }, 5),
   'hangar listens to it (a GET stream)');
api(POST => '/api/mcp_servers/relay/stop');
ok(wait_for(sub { $access->() =~ m{"GET /mcp/backend HTTP/1.1"} }, 5),
   'the stop ends the GET stream');

# -- a front-door tools/call holds the server as well ----------------------
ok(wait_for(sub { state_of('sleepy') eq 'cold' }, 6), 'sleepy idle again');
my %fd = ('Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream');
my (undef, $fh) = http_request(POST => '/fd', '{"jsonrpc":"2.0","id":1,'
    . '"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    . '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}', \%fd);
my $sid = $fh->{'mcp-session-id'};
ok($sid, 'a front-door session');
$mark = length error_log();
my (undef, undef, $fb) = http_request(POST => '/fd', '{"jsonrpc":"2.0","id":2,'
    . '"method":"tools/call","params":{"name":"sleepy__sleep",'
    . '"arguments":{"ms":3000}}}', { %fd, 'Mcp-Session-Id' => $sid });
like($fb // '', qr/slept 3000/,
     'a 3 s front-door call to a server with idle_ttl_s 1 succeeds');
unlike(substr(error_log(), $mark), qr/"sleepy" idle, stopping/,
       'no idle stop while it ran');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts(qr/exited on signal 9/);
Test::More::done_testing();
