# The front door lists cold servers' tools: a server never started is
# warmed once in the background; a catalog learned at a start is kept in
# the state directory and listed after a restart without a start.
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
my %h = ('Content-Type' => 'application/json', Accept => 'application/json, text/event-stream');

sub mcp ($$) {
    my ($sid, $body) = @_;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $body, { %h, $sid ? ('Mcp-Session-Id' => $sid) : () });
    return ($st, eval { $json->decode($b) } // {}, $hd);
}

sub names ($) {
    my (undef, $b) = mcp($_[0], '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    return join ',', sort map { $_->{name} } @{ $b->{result}{tools} || [] };
}

my %conf = (
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
);

nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\nmcp_servers:\n"
    . "  w:\n    command: [perl, $REPO/t/servers/hangar-test-server, --tools, 'echo,add']\n" });

my (undef, undef, $hd) = mcp(undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}');
my $sid = $hd->{'mcp-session-id'};

my (undef, undef, $b) = http_request(GET => '/api/mcp_servers/w');
like($b, qr/"state":"cold"/, 'never started');
my $first = names($sid);
my $later = '';
my $deadline = time + 10;
while (time < $deadline) {
    $later = names($sid);
    last if $later eq 'add,echo';
    sleep 0.1;
}
is($later, 'add,echo', "listing warmed it once in the background (first list: '$first')");
ok(-s servroot() . '/state/catalog/w.json', 'its catalog is kept in the state directory');

http_request(POST => '/api/mcp_servers/w/stop');
is(nginx_stop(), '', 'nginx stopped');

nginx_start({ %conf, keep_servroot => 1 });
(undef, undef, $hd) = mcp(undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}');
$sid = $hd->{'mcp-session-id'};
is(names($sid), 'add,echo', 'after a restart the kept catalog is listed at once');
(undef, undef, $b) = http_request(GET => '/api/mcp_servers/w');
like($b, qr/"state":"cold"/, 'without starting the server');
my (undef, $res) = mcp($sid, '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}');
is($res->{result}{content}[0]{text}, '3', 'and a call starts it');
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
Hangar::Test::check_valgrind('catalog') if Hangar::Test::valgrind_on();
no_alerts();
Test::More::done_testing();
