# Health checks at health_check_interval_s: a server that stops answering
# is degraded after max_consecutive_failures, and recovers when it answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
my $json = JSON::PP->new;

sub api ($$;$) {
    my ($st, $h, $b) = http_request($_[0], $_[1], $_[2]);
    return ($st, eval { $json->decode($b) } // {}, $b);
}

sub wait_state ($$) {
    my ($state, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if (api(GET => '/api/mcp_servers/h'))[1]{state} eq $state;
        sleep 0.2;
    }
    return 0;
}

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n  h:\n"
                 . "    command: [perl, $REPO/t/servers/hangar-test-server, --no-ping]\n"
                 . "    health_check_interval_s: 5\n"
                 . "    max_consecutive_failures: 1\n",
});

my ($st, $doc) = api(POST => '/api/mcp_servers/h/start');
is($st, 200, 'started');
my $server = (api(GET => '/api/mcp_servers/h'))[1]{meta}{server_pid};

# a check of a healthy server (ping unsupported: tools/list instead): a
# success recorded at least 2 s after the start can only be a check's
my $t0 = Time::HiRes::time();
my $checked;
for (1 .. (Hangar::Test::valgrind_on() ? 600 : 100)) {
    Time::HiRes::sleep(0.2);
    $doc = (api(GET => '/api/mcp_servers/h/health'))[1];
    my $since = Time::HiRes::time() - $t0;
    if (defined $doc->{last_success_ago} && $since - $doc->{last_success_ago} > 2) {
        $checked = $since;
        last;
    }
}
ok($checked, 'a periodic check succeeded after the start: '
   . ($checked // 'none') . ' s');
is($doc->{consecutive_failures}, 0, 'a passing check (tools/list fallback)');

kill 'STOP', $server;
ok(wait_state('degraded', 14), 'a server that stops answering becomes degraded');
$doc = (api(GET => '/api/mcp_servers/h/health'))[1];
ok($doc->{consecutive_failures} >= 1, 'the failure is counted');
$doc = (api(GET => '/api/mcp_servers'))[1];
is($doc->{mcp_servers}[0]{health_status}, 'degraded', 'health_status degraded');

kill 'CONT', $server;
ok(wait_state('ready', 14), 'it recovers when it answers again');
$doc = (api(GET => '/api/mcp_servers/h/health'))[1];
is($doc->{consecutive_failures}, 0, 'failures reset on recovery');

my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
like($log, qr/hangar: "h" recovered/, 'the recovery is logged');
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
