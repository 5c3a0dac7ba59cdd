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
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n"
                 . "location = /fd { hangar_mcp; hangar_mcp_naming prefixed; }\n",
    user_files  => <<"YAML",
>>> conf/hangar.yaml
mcp_servers:
  fragile:
    command: [perl, $SERVER]
    max_consecutive_failures: 1
  tough:
    command: [perl, $SERVER]
    max_consecutive_failures: 5
  steady:
    command: [perl, $SERVER]
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

# a start that succeeds does not clear the count (a call or a health check
# that succeeds does): a server that crashes after every start backs off
for my $n (1 .. 4) {
    ($st) = api(POST => '/api/mcp_servers/tough/start');
    is($st, 200, "tough starts ($n)");
    ok(crash('tough'), "tough crashed ($n)");
    is(state_of('tough'), 'dead', "max_consecutive_failures 5: dead after crash $n");
    is((api(GET => '/api/mcp_servers/tough/health'))[1]{consecutive_failures}, $n,
       "$n consecutive failure(s)");
}
($st) = api(POST => '/api/mcp_servers/tough/start');
is($st, 200, 'a dead server starts again at once');
ok(crash('tough'), 'tough crashed a fifth time');
is(state_of('tough'), 'degraded', 'the fifth consecutive crash degrades');
($st, $doc) = api(POST => '/api/mcp_servers/tough/start');
is($doc->{error}, 'CannotStartMcpServerError', 'and the backoff holds it');

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

# -- a call that succeeds clears the count (the front door warms the
# never-started servers, so this comes after the start failures)
($st) = api(POST => '/api/mcp_servers/steady/start');
ok(crash('steady'), 'steady crashed');
is((api(GET => '/api/mcp_servers/steady/health'))[1]{consecutive_failures}, 1,
   'one failure');
($st) = api(POST => '/api/mcp_servers/steady/start');
my %fd = ('Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream');
my (undef, $fh) = http_request(POST => '/fd', '{"jsonrpc":"2.0","id":1,'
    . '"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    . '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}', \%fd);
my (undef, undef, $b) = http_request(POST => '/fd', '{"jsonrpc":"2.0","id":2,'
    . '"method":"tools/call","params":{"name":"steady__echo",'
    . '"arguments":{"text":"hi"}}}',
    { %fd, 'Mcp-Session-Id' => $fh->{'mcp-session-id'} // '' });
like($b // '', qr/"hi"/, 'steady answers a call through the front door');
is((api(GET => '/api/mcp_servers/steady/health'))[1]{consecutive_failures}, 0,
   'the call that succeeded cleared the count');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
