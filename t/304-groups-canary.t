# A group's canary (hangar-core.md §3.7) through the front door: a pinned
# tenant goes to its member, a tenant whose bucket
# (int(sha256(tenant), 16) % 100) is under split_pct goes to the canary
# member, the others follow the strategy; a canary out of rotation falls
# back to the strategy.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

# the buckets: acme 99, t2 34, other 66
my %key = map { $_ => "mcp_test_${_}_" . ('k' x 24) } qw(acme t2 other);

my $keys = join '', map {
    "    - {name: $_, principal_id: \"user:$_\", key: \"$key{$_}\", "
    . "tenant_id: $_}\n" } sort keys %key;
my $roles = join '', map {
    "    - {principal: \"user:$_\", role: admin}\n" } sort keys %key;

nginx_start({
    workers     => 2,
    timeout     => 60,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "auth:\n  enabled: true\n  api_keys:\n$keys"
                 . "  role_assignments:\n$roles"
                 . "mcp_servers:\n"
                 . "  a: {command: [perl, $SERVER], env: {WHO: a}}\n"
                 . "  b: {command: [perl, $SERVER], env: {WHO: b}}\n"
                 . "  pool:\n    mode: group\n    strategy: priority\n"
                 . "    members: [{id: a, priority: 1}, {id: b, priority: 2}]\n"
                 . "    canary: {member: b, split_pct: 50, "
                 . "pinned_tenants: {acme: b}}\n",
});

sub api ($$) {
    my ($method, $uri) = @_;
    return http_request($method, $uri, undef, { 'X-API-Key' => $key{acme} });
}

for my $m (qw(a b)) {
    my ($st) = api(POST => "/api/mcp_servers/$m/start");
    is($st, 200, "member $m starts");
}

sub who ($) {
    my ($tenant) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream',
             'X-API-Key' => $key{$tenant});
    my ($st, $hd) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 0, method => 'initialize',
        params => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } } }), \%h);
    $h{'Mcp-Session-Id'} = $hd->{'mcp-session-id'} // '';
    my (undef, undef, $b) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 1, method => 'tools/call',
        params => { name => 'env', arguments => { name => 'WHO' } } }), \%h);
    my $r = eval { $json->decode($b) } // {};
    return $r->{result}{content}[0]{text} // "error: " . ($b // '');
}

is(join(' ', map { who('acme') } 1 .. 3), 'b b b', 'a pinned tenant: its member');
is(join(' ', map { who('t2') } 1 .. 3), 'b b b',
   'a tenant in the split (bucket 34 < 50): the canary');
is(join(' ', map { who('other') } 1 .. 3), 'a a a',
   'a tenant outside it (bucket 66): the strategy');

# the canary out of rotation: everyone follows the strategy
my ($st) = api(POST => '/api/mcp_servers/b/block');
is($st, 200, 'the canary member is blocked');
is(join(' ', map { who($_) } qw(acme t2 other)), 'a a a',
   'a canary out of rotation falls back to the strategy');

nginx_stop();
Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
no_alerts();

Test::More::done_testing();
