# Lifecycle of stdio servers behind hangar-bridge, and of a remote server:
# start, stop, block, crash, failures, single flight across workers,
# reload, quit, SIGKILL of nginx, idle shutdown, logs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $BRIDGE = "$REPO/build/hangar-bridge";
unless (-x $BRIDGE) {
    Test::More::plan(skip_all => "hangar-bridge not built");
}
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
    my $stat = <$fh>;
    return $stat !~ /\) Z /;
}

sub wait_for {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

# a bridge's socket: run/<first 16 hex of md5("<id>.<seq>")>.sock
sub sock_of ($$) {
    require Digest::MD5;
    return servroot() . '/state/run/'
           . substr(Digest::MD5::md5_hex("$_[0].$_[1]"), 0, 16) . '.sock';
}

# a tools/call straight to a server's bridge (the front door comes later)
sub bridge_call ($$$) {
    my ($id, $tool, $args) = @_;
    require IO::Socket::UNIX;
    my ($sock) = map { sock_of($id, $_) } sort { $b <=> $a }
                 map { /\.(\d+)\.json$/ } glob(servroot() . "/state/run/$id.*.json");
    my $s = IO::Socket::UNIX->new(Peer => $sock) or return undef;
    my $body = $json->encode({ jsonrpc => '2.0', id => 9, method => 'tools/call',
                               params => { name => $tool, arguments => $args } });
    print $s "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           . "Accept: application/json\r\nConnection: close\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $answer = do { local $/; <$s> };
    my ($text) = $answer =~ /"text":"((?:[^"\\]|\\.)*)"/;
    return $text;
}

sub state_of ($) { (api(GET => "/api/mcp_servers/$_[0]"))[1]{state} // '' }

sub start_nginx ($;$) {
    my ($yaml, $workers) = @_;
    nginx_start({
        env         => "HANGAR_LEAK=1\n",
        main_config => "env HANGAR_LEAK;\n",
        workers     => $workers // 2,
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
        config      => "location /api/ { hangar_api; }\n",
        user_files  => ">>> conf/hangar.yaml\n$yaml",
    });
}

my $yaml = <<"YAML";
mcp_servers:
  math:
    command: [perl, $SERVER, --name, math, --stderr-noise, 3]
    idle_ttl_s: 600
  garbage:
    command: [perl, $SERVER, --garbage-on-start]
  missing:
    command: [/nonexistent/mcp-server]
  fatal:
    command: [perl, $SERVER, --exit-on-start, 7]
  sleepy:
    command: [perl, $SERVER]
    idle_ttl_s: 1
  wrapped:
    command: [sh, -c, 'sleep 1000 & exec perl $SERVER']
    env: {GREETING: hello}
  boxed:
    mode: docker
    image: example/mcp-server:1
YAML

start_nginx($yaml);

# -- start and the catalog ------------------------------------------------
my ($st, $doc, $raw) = api(POST => '/api/mcp_servers/math/start');
is($st, 200, 'start answers 200') or diag($raw);
is($doc->{mcp_server}, 'math', 'start names the server');
is($doc->{state}, 'ready', 'start says ready');
ok((grep { $_ eq 'echo' } @{ $doc->{tools} || [] }), 'tool names: ' . join(',', @{ $doc->{tools} || [] }));

($st, $doc) = api(GET => '/api/mcp_servers/math');
is($doc->{state}, 'ready', 'GET: state ready');
ok($doc->{alive}, 'GET: alive');
ok(ref $doc->{tools} eq 'ARRAY' && $doc->{tools}[0]{inputSchema}, 'GET: tools with inputSchema');
is($doc->{meta}{init_result}{serverInfo}{name}, 'math', 'GET: meta.init_result from the handshake');
my ($bridge, $server) = @{ $doc->{meta} }{qw(bridge_pid server_pid)};
ok(alive($bridge) && alive($server), "bridge $bridge and server $server run");

($st, $doc) = api(POST => '/api/mcp_servers/math/start');
is($doc->{state}, 'ready', 'a second start of a ready server is a no-op');
is((api(GET => '/api/mcp_servers/math'))[1]{meta}{bridge_pid}, $bridge, 'same bridge');

($st, $doc) = api(GET => '/api/mcp_servers/math/logs?lines=2');
is($st, 200, 'logs');
is($doc->{count}, 2, 'logs: lines=2');
like(join("\n", map { $_->{content} } @{ $doc->{logs} }), qr/noise/, 'logs: stderr of the server');
is($doc->{logs}[0]{stream}, 'stderr', 'logs: stream');

# -- notifications/tools/list_changed refreshes the catalog ---------------
{
    require IO::Socket::UNIX;
    my ($sock) = map { sock_of('math', /\.(\d+)\.json$/) }
                 glob(servroot() . '/state/run/math.*.json');
    ok($sock, "the bridge's socket: $sock");
    sleep 0.8;    # the lease holder opens its GET stream within a tick
    my $s = IO::Socket::UNIX->new(Peer => $sock) or die "$sock: $!";
    my $body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notify_list_changed","arguments":{}}}';
    print $s "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           . "Accept: application/json\r\nConnection: close\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $answer = do { local $/; <$s> };
    like($answer, qr/"id":7/, 'the server answered the call');
    ok(wait_for(sub {
        my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
        $log =~ /"math" tools listed again, unchanged \(15 tools\)/;
    }, 5), 'list_changed made hangar list the tools again (the same 15)');
    my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
    unlike($log, qr/"math" tools refreshed/,
           'the same tools are not a change (the catalog stays, no list_changed)');
}

# -- stop -----------------------------------------------------------------
($st, $doc) = api(POST => '/api/mcp_servers/math/stop', '{"reason":"maintenance"}');
is_deeply($doc, { stopped => 'math', reason => 'maintenance' }, 'stop with a reason');
ok(wait_for(sub { !alive($bridge) && !alive($server) }, 5), 'bridge and server are gone after stop');
($st, $doc) = api(GET => '/api/mcp_servers/math');
is($doc->{state}, 'cold', 'state cold after stop');
($st, $doc) = api(GET => '/api/mcp_servers/math/tools');
ok(@{ $doc->{tools} } > 5, 'the catalog is kept after stop');

# -- single flight across two workers ---------------------------------------
my @kids;
for (1 .. 8) {
    my $pid = fork // die;
    if (!$pid) {
        my ($s) = http_request(POST => '/api/mcp_servers/math/start');
        POSIX::_exit($s == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $ok = 0;
for (@kids) { waitpid $_, 0; $ok++ if $? == 0 }
is($ok, 8, '8 concurrent starts all answer 200');
my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
my @ready = $log =~ /hangar: "math" is ready/g;
is(scalar @ready, 2, 'exactly one more spawn (two starts in all)');

# -- crash: seen at once ----------------------------------------------------
$doc = (api(GET => '/api/mcp_servers/math'))[1];
($bridge, $server) = @{ $doc->{meta} }{qw(bridge_pid server_pid)};
kill 'KILL', $server;
ok(wait_for(sub { state_of('math') eq 'dead' }, 3), 'a killed server is dead at once');
ok(wait_for(sub { !alive($bridge) }, 3), 'its bridge is gone');
$doc = (api(GET => '/api/mcp_servers/math/health'))[1];
is($doc->{consecutive_failures}, 1, 'health counts the failure');
($st, $doc) = api(POST => '/api/mcp_servers/math/start');
is($st, 200, 'a dead server starts again at once');

# -- start failures -------------------------------------------------------
($st, $doc, $raw) = api(POST => '/api/mcp_servers/missing/start');
is($st, 500, 'a missing binary: 500');
is($doc->{error}, 'McpServerStartError', 'McpServerStartError');
is($doc->{details}{exit_code}, 127, 'exit_code 127') or diag($raw);
like($doc->{details}{stderr} // '', qr/cannot execute/, 'stderr tail says why');
like($doc->{message}, qr/^Failed to start mcp_server: .*Suggestion: /, 'message with a suggestion');
is(state_of('missing'), 'dead', 'state dead after one failure');

($st, $doc, $raw) = api(POST => '/api/mcp_servers/fatal/start');
is($doc->{details}{exit_code}, 7, 'exit during init: exit_code 7') or diag($raw);
like($doc->{details}{stderr} // '', qr/fatal: exiting on start/, 'exit during init: stderr');
api(POST => '/api/mcp_servers/fatal/start') for 1 .. 2;
is(state_of('fatal'), 'degraded', 'three failures: degraded');
($st, $doc) = api(POST => '/api/mcp_servers/fatal/start');
is($doc->{error}, 'CannotStartMcpServerError', 'degraded: backoff refuses a start');
ok($doc->{details}{time_until_retry_s} > 0, 'backoff says when to retry');

($st, $doc) = api(POST => '/api/mcp_servers/garbage/start');
is($st, 200, 'garbage on stdout before the handshake: still starts');
($st, $doc) = api(GET => '/api/mcp_servers/garbage/logs');
ok((grep { $_->{stream} eq 'stdout' && $_->{content} =~ /not json/ } @{ $doc->{logs} }),
   'the garbage line is in the logs as stdout');

# -- environment: explicit, nothing of nginx's -----------------------------
($st, $doc) = api(POST => '/api/mcp_servers/wrapped/start');
is($st, 200, 'a wrapper script with a grandchild starts');
is(bridge_call('wrapped', 'env', { name => 'GREETING' }), 'hello', "the server's env is set");
is(bridge_call('wrapped', 'env', { name => 'HANGAR_LEAK' }), '(unset)', "nginx's environment is not passed");
like(bridge_call('wrapped', 'env', { name => 'PATH' }) // '', qr{/usr/bin}, 'a sane PATH');
like(bridge_call('wrapped', 'env', { name => 'HOME' }) // '', qr{/state/servers/wrapped$}, "HOME is the server's own directory");
my $pgid = (api(GET => '/api/mcp_servers/wrapped'))[1]{meta}{server_pid};
my @group = grep { (split ' ', (do { open my $f, '<', "/proc/$_/stat"; <$f> } // ''))[4] == $pgid }
            map { m{/proc/(\d+)$} } glob '/proc/[0-9]*';
ok(@group >= 2, 'the server and its grandchild share a process group: ' . scalar @group);
api(POST => '/api/mcp_servers/wrapped/stop');
ok(wait_for(sub { !grep { alive($_) } @group }, 6), 'stop ends the whole process group');

# -- docker: without an engine the start says so --------------------------
($st, $doc, $raw) = api(POST => '/api/mcp_servers/boxed/start');
is($st, 500, 'docker mode without a docker engine: 500');
like($raw, qr/docker/i, 'and the error names docker') or diag($raw);

# -- block ----------------------------------------------------------------
($st, $doc) = api(POST => '/api/mcp_servers/garbage/block');
is_deeply($doc, { mcp_server_id => 'garbage', blocked => JSON::PP::true }, 'block');
($st, $doc) = api(GET => '/api/mcp_servers/garbage');
ok($doc->{state} eq 'cold' && $doc->{blocked}, 'blocked: cold and flagged');
my $state = do { local (@ARGV, $/) = (servroot() . '/state/hangar-state.json'); <> };
like($state, qr/"blocked":\["garbage"\]/, 'block is persisted');

# -- idle shutdown ----------------------------------------------------------
($st) = api(POST => '/api/mcp_servers/sleepy/start');
is($st, 200, 'sleepy starts');
ok(wait_for(sub { state_of('sleepy') eq 'cold' }, 5), 'idle_ttl_s 1: stopped when idle');

# -- reload keeps running servers -----------------------------------------
$doc = (api(GET => '/api/mcp_servers/math'))[1];
($bridge, $server) = @{ $doc->{meta} }{qw(bridge_pid server_pid)};
nginx_reload();
$doc = (api(GET => '/api/mcp_servers/math'))[1];
is($doc->{state}, 'ready', 'ready after reload');
is($doc->{meta}{server_pid}, $server, 'same server pid after reload');
ok(alive($server), 'the server still runs');
kill 'KILL', $server;
ok(wait_for(sub { state_of('math') eq 'dead' }, 3), 'new workers watch the old bridge too');
api(POST => '/api/mcp_servers/math/start');
$doc = (api(GET => '/api/mcp_servers/math'))[1];
($bridge, $server) = @{ $doc->{meta} }{qw(bridge_pid server_pid)};

# -- quit stops everything --------------------------------------------------
is(nginx_stop(), '', 'nginx quits');
ok(wait_for(sub { !alive($bridge) && !alive($server) }, 6), 'no bridge or server left after quit');

# -- SIGKILL of nginx, then a start: the orphan is reaped -------------------
start_nginx($yaml);
$doc = (api(POST => '/api/mcp_servers/math/start'))[1];
$doc = (api(GET => '/api/mcp_servers/math'))[1];
($bridge, $server) = @{ $doc->{meta} }{qw(bridge_pid server_pid)};
ok(alive($server), 'running before the kill');
my @pids = (master_pid(), Hangar::Test::worker_pids(master_pid()));
kill 'KILL', @pids;
sleep 0.3;
ok(alive($server), 'the server outlived nginx');
Hangar::Test::nginx_start({ keep_servroot => 1,
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n" });
ok(wait_for(sub { !alive($bridge) && !alive($server) }, 6), 'the next nginx reaped the orphan');
is(state_of('math'), 'cold', 'and the server is cold');
is(nginx_stop(), '', 'nginx stopped');

no_orphans();
no_alerts();
Test::More::done_testing();
