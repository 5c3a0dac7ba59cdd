# nginx -s reload re-reads hangar.yaml into the registry: new ids appear,
# removed ids go, unchanged records keep their identity, API changes stay.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

sub yaml ($) {
    my $text = shift;
    open my $fh, '>', servroot() . '/conf/hangar.yaml' or die $!;
    print {$fh} $text;
    close $fh;
}

sub ids () {
    my ($st, undef, $body) = http_request(GET => '/api/mcp_servers');
    return join ',', $body =~ /"mcp_server_id":"([^"]+)"/g;
}

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    resolver 127.0.0.1:1;\n"   # named remotes
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "execution: {remote_allow: [127.0.0.1/32]}\n"
                 . "mcp_servers:\n"
                 . "  keep: {command: [a], description: same}\n"
                 . "  change: {command: [b], idle_ttl_s: 100}\n"
                 . "  drop: {command: [c]}\n",
});

is(ids(), 'keep,change,drop', 'declared fleet at start');
my ($st) = http_request(POST => '/api/mcp_servers',
                        '{"mcp_server_id":"viaapi","mode":"remote","endpoint":"http://127.0.0.1:1/"}');
is($st, 201, 'a server created through the API');
my (undef, undef, $sys1) = http_request(GET => '/api/system');
my ($uptime1) = $sys1 =~ /"uptime_seconds":([0-9.]+)/;
my ($inst1) = $sys1 =~ /"instance_id":"([^"]+)"/;

yaml("mcp_servers:\n"
   . "  keep: {command: [a], description: same}\n"
   . "  change: {command: [b], idle_ttl_s: 200}\n"
   . "  added: {mode: remote, endpoint: 'https://new.example/mcp'}\n");
nginx_reload();

is(ids(), 'keep,change,viaapi,added', 'after reload: dropped gone, added new, API server kept');
my (undef, undef, $sys2) = http_request(GET => '/api/system');
my ($uptime2) = $sys2 =~ /"uptime_seconds":([0-9.]+)/;
my ($inst2) = $sys2 =~ /"instance_id":"([^"]+)"/;
is($inst2, $inst1, 'the same registry (instance id) after reload');
cmp_ok($uptime2, '>=', $uptime1, 'uptime did not restart');

yaml("mcp_servers:\n  keep: {command: [a], idle_ttl_s: 0}\n");
# the master refuses the new configuration and keeps the old workers
my @workers = Hangar::Test::worker_pids(master_pid());
kill 'HUP', master_pid();
sleep 1;
is(join(',', Hangar::Test::worker_pids(master_pid())), join(',', @workers),
   'the old workers keep running');
is(ids(), 'keep,change,viaapi,added', 'a broken hangar.yaml on reload changes nothing');
my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
like($log, qr/\[emerg\].*mcp_servers\.keep\.idle_ttl_s: must be 1\.\.86400/,
     'the reload failure is logged with the field');
is(nginx_stop(), '', 'nginx stopped');

no_alerts(qr/mcp_servers\.keep\.idle_ttl_s/, qr/hangar zone "tiny" is full/);
Test::More::done_testing();
