# Warm-ups of never-started servers (the front door starts them once for
# their catalog) run a few at a time, not the whole fleet at once; the
# rest follow as they finish.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new;
my @ids = map { "s$_" } 1 .. 7;

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . join('', map { "  $_:\n    command: [perl, $SERVER, --slow-init, 1500, "
                                  . "--tools, echo]\n" } @ids),
});

my %h = ('Content-Type' => 'application/json',
         'Accept' => 'application/json, text/event-stream');
my ($st, $hd) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"initialize",'
                             . '"params":{"protocolVersion":"2025-06-18"}}', \%h);
$h{'Mcp-Session-Id'} = $hd->{'mcp-session-id'};

sub states () {
    my (undef, undef, $b) = http_request(GET => '/api/mcp_servers');
    my $doc = eval { $json->decode($b) } || {};
    my %by;
    $by{ $_->{state} }++ for @{ $doc->{mcp_servers} || [] };
    return \%by;
}

sub tools_list () {
    my (undef, undef, $b) = http_request(POST => '/mcp',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}', \%h);
    my $doc = eval { $json->decode($b) } || {};
    return scalar @{ $doc->{result}{tools} || [] };
}

is(tools_list(), 0, 'the first tools/list knows no tools yet');
my $first = states();
my ($max, $listed) = ($first->{initializing} // 0, 0);
ok($max >= 1 && $max <= 4, "one call warms at most 4 servers at once ($max initializing)");

my $deadline = time + 60;
while (time < $deadline) {
    $listed = tools_list();
    my $now = states()->{initializing} // 0;
    $max = $now if $now > $max;
    last if $listed == @ids;
    select undef, undef, undef, 0.2;
}
is($listed, scalar @ids, 'the others are warmed as slots free: every tool is listed');
ok($max <= 4, "never more than 4 warm-ups at a time (at most $max seen)");

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
