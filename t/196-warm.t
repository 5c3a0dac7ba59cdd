# Warm-ups of never-started servers (the front door starts them once for
# their catalog) run a few at a time, not the whole fleet at once; the
# rest follow as they finish, while the first tools/list waits for them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new;
my @ids = map { "s$_" } 1 .. 7;

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    timeout     => 70,
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; hangar_mcp_list_wait 60s; }\n",
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

# the first tools/list waits for the warm-ups (hangar_mcp_list_wait); the
# fleet's states are sampled meanwhile
my $body = '{"jsonrpc":"2.0","id":2,"method":"tools/list"}';
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) or die $!;
print $sock "POST /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
          . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
          . "Content-Length: " . length($body) . "\r\n\r\n$body";

my ($max, $answer) = (0, '');
my $sel = IO::Select->new($sock);
my $deadline = time + 60;
while (time < $deadline) {
    my $now = states()->{initializing} // 0;
    $max = $now if $now > $max;
    next unless $sel->can_read(0.1);
    sysread($sock, my $buf, 65536) or last;
    $answer .= $buf;
}
my ($json_text) = $answer =~ /\r\n\r\n(.*)\z/s;
my $doc = eval { $json->decode($json_text // '') } || {};
is(scalar @{ $doc->{result}{tools} || [] }, scalar @ids,
   'the first tools/list waited for the warm-ups: every tool is listed');
ok($max >= 1, "servers were warming while it waited ($max at most)");
ok($max <= 4, "never more than 4 warm-ups at a time (at most $max seen)");
is(tools_list(), scalar @ids, 'the next list is the same');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('warm-ups') if Hangar::Test::valgrind_on();
Test::More::done_testing();
