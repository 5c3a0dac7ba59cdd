# Two workers share one registry: a change made through one is seen at
# once by the other; a full zone answers 507 and changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

my $http = <<'CONF';
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
CONF

# -- cross-worker visibility: create, then read many times ----------------
nginx_start({
    workers     => 2,
    http_config => $http,
    config      => "location /api/ { hangar_api; add_header X-Worker \$pid always; }\n",
});

my %seen;
for my $i (1 .. 20) {
    my ($st, $h, $body) = http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"s$i","mode":"subprocess","command":["node"]}));
    is($st, 201, "create s$i");
    $seen{ $h->{'x-worker'} }++;

    # read it back 5 times on fresh connections: whichever worker answers
    my $ok = 0;
    for (1 .. 5) {
        my ($st2, $h2, $b2) = http_request(GET => "/api/mcp_servers/s$i");
        $ok++ if $st2 == 200 && $b2 =~ /"mcp_server_id":"s$i"/;
        $seen{ $h2->{'x-worker'} }++;
    }
    is($ok, 5, "s$i visible in every read right after its creation");
}
my ($st, $h, $body) = http_request(GET => '/api/mcp_servers');
my @ids = $body =~ /"mcp_server_id":"(s\d+)"/g;
is(scalar @ids, 20, 'the list has all 20 servers');
is(scalar keys %seen, 2, 'both workers answered: ' . join(',', sort keys %seen));
is(nginx_stop(), '', 'nginx stopped');

# -- a full zone: 507 envelope, one [alert] naming the zone, nothing half-made
nginx_start({
    http_config => "    hangar_zone tiny 64k;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
});

my ($n, $full) = (0, undef);
my $desc = 'd' x 3000;
for my $i (1 .. 60) {
    my ($st, undef, $body) = http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"f$i","mode":"subprocess","command":["node"],"description":"$desc"}));
    if ($st == 201) { $n++; next }
    $full = [$i, $st, $body];
    last;
}
ok($full, "the zone filled up after $n servers");
is($full->[1], 507, 'a full zone answers 507');
is($full->[2], '{"error":"RegistryFullError","message":"the hangar zone \"tiny\" is full; nothing was changed","status_code":507}',
   '507 envelope');
($st, undef, $body) = http_request(GET => "/api/mcp_servers/f$full->[0]");
is($st, 404, 'the refused server does not exist');
($st, undef, $body) = http_request(GET => '/api/mcp_servers');
my @have = $body =~ /"mcp_server_id":"(f\d+)"/g;
is(scalar @have, $n, 'every accepted server is complete and listed');
my $state = do { local (@ARGV, $/) = (servroot() . '/state/hangar-state.json'); <> };
unlike($state, qr/"f$full->[0]"/, 'the refused server is not in the state file');
($st, undef, $body) = http_request(DELETE => '/api/mcp_servers/f1');
is($st, 200, 'deleting frees room');
($st) = http_request(POST => '/api/mcp_servers',
    qq({"mcp_server_id":"again","mode":"subprocess","command":["node"],"description":"$desc"}));
is($st, 201, 'and a new server fits again');
is(nginx_stop(), '', 'nginx stopped');
my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
my @alerts = $log =~ /\[alert\][^\n]*/g;
is(scalar @alerts, 1, 'exactly one [alert]');
like($alerts[0] // '', qr/hangar zone "tiny" is full/, 'the alert names the zone');
unlike($log, qr/\[(crit|emerg)\]/, 'no [crit] or [emerg]');

no_alerts(qr/mcp_servers\.keep\.idle_ttl_s/, qr/hangar zone "tiny" is full/);
Test::More::done_testing();
