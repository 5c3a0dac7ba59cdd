# One failure policy: max_consecutive_failures of the spec decides dead or
# degraded for crashes and for start failures alike, and a degraded
# server waits for the backoff before it starts again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
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

sub server ($) { (api(GET => "/api/mcp_servers/$_[0]"))[1] // {} }
sub state_of ($) { server($_[0])->{state} // '' }

sub wait_for ($$) {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

# the server crashes during a call through hangar_pass
sub crash ($) {
    my $id = shift;
    my $body = '{"jsonrpc":"2.0","id":1,"method":"tools/call",'
             . '"params":{"name":"crash","arguments":{"code":3}}}';
    http_request(POST => "/mcp/$id", $body,
                 { 'Content-Type' => 'application/json',
                   'Accept' => 'application/json, text/event-stream' });
    return wait_for(sub { state_of($id) =~ /^(dead|degraded)$/ }, 5);
}

nginx_start({
    workers     => 2,
    timeout     => 15,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => <<"YAML",
>>> conf/hangar.yaml
mcp_servers:
  fragile:
    command: [perl, $SERVER]
    max_consecutive_failures: 1
  tough:
    command: [perl, $SERVER]
    max_consecutive_failures: 5
  fatal:
    command: [perl, $SERVER, --exit-on-start, 7]
    max_consecutive_failures: 2
  doomed:
    command: [perl, $SERVER, --exit-on-start, 7]
    max_consecutive_failures: 4
YAML
});

# -- crashes -----------------------------------------------------------------
my ($st, $doc) = api(POST => '/api/mcp_servers/fragile/start');
is($st, 200, 'fragile starts');
ok(crash('fragile'), 'fragile crashed');
is(state_of('fragile'), 'degraded', 'max_consecutive_failures 1: one crash degrades');
is((api(GET => '/api/mcp_servers/fragile/health'))[1]{consecutive_failures}, 1,
   'one failure counted');
($st, $doc) = api(POST => '/api/mcp_servers/fragile/start');
is($doc->{error}, 'CannotStartMcpServerError', 'a degraded server waits for the backoff');
ok(($doc->{details}{time_until_retry_s} // 0) > 0, 'and says when to retry');

# a successful start clears the count (hangar-core §2.4): every crash
# of a server that started well is its first consecutive failure
for my $n (1 .. 3) {
    ($st) = api(POST => '/api/mcp_servers/tough/start');
    is($st, 200, "tough starts ($n)");
    ok(crash('tough'), "tough crashed ($n)");
    is(state_of('tough'), 'dead', "max_consecutive_failures 5: dead after crash $n");
    is((api(GET => '/api/mcp_servers/tough/health'))[1]{consecutive_failures}, 1,
       'one consecutive failure');
}
($st) = api(POST => '/api/mcp_servers/tough/start');
is($st, 200, 'a dead server starts again at once');

# -- start failures -----------------------------------------------------------
($st, $doc) = api(POST => '/api/mcp_servers/fatal/start');
is($st, 500, 'a failed start');
is(state_of('fatal'), 'dead', 'max_consecutive_failures 2: dead after one');
api(POST => '/api/mcp_servers/fatal/start');
is(state_of('fatal'), 'degraded', 'degraded after two');

for my $n (1 .. 3) {
    api(POST => '/api/mcp_servers/doomed/start');
    is(state_of('doomed'), 'dead', "max_consecutive_failures 4: dead after $n");
}
api(POST => '/api/mcp_servers/doomed/start');
is(state_of('doomed'), 'degraded', 'degraded after four');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
