# hangar_pass to a group: session affinity.  Each MCP session is pinned to
# one member by a key in the session id hangar hands out, so both workers
# route it the same way; when the member dies, the session's next request
# is answered 404 and the client initializes again, onto a live member.
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

nginx_start({
    workers     => 2,
    timeout     => 60,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  a: {command: [perl, $SERVER], env: {WHO: a}}\n"
                 . "  b: {command: [perl, $SERVER], env: {WHO: b}}\n"
                 . "  solo: {command: [perl, $SERVER], env: {WHO: solo}}\n"
                 . "  pool: {mode: group, members: [a, b]}\n",
});

sub post ($$;$) {
    my ($path, $msg, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if defined $sid;
    my ($st, $hd, $b) = http_request(POST => $path, $json->encode($msg), \%h);
    my ($data) = ($b // '') =~ /(\{.*\})/s;
    return ($st, $hd->{'mcp-session-id'}, eval { $json->decode($data // '') } // {});
}

sub init ($) {
    my ($path) = @_;
    my ($st, $sid) = post($path, { jsonrpc => '2.0', id => 0,
        method => 'initialize',
        params => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } } });
    post($path, { jsonrpc => '2.0', method => 'notifications/initialized' },
         $sid);
    return ($st, $sid);
}

sub call ($$$;$) {
    my ($path, $sid, $tool, $args) = @_;
    my ($st, undef, $r) = post($path, { jsonrpc => '2.0', id => 1,
        method => 'tools/call',
        params => { name => $tool, arguments => $args // {} } }, $sid);
    return ($st, $r->{result}{content}[0]{text} // '');
}

sub who ($$) { (call($_[0], $_[1], 'env', { name => 'WHO' }))[1] }

my ($st, $s1) = init('/mcp/pool');
is($st, 200, 'a session through the group');
like($s1 // '', qr/^a~\S+$/, 'its id carries the member (a, round robin)');
my ($st2, $s2) = init('/mcp/pool');
like($s2 // '', qr/^b~\S+$/, 'the next session goes to b');

is(join(' ', map { who('/mcp/pool', $s1) } 1 .. 6), 'a a a a a a',
   'every request of the first session goes to a, on either worker');
is(join(' ', map { who('/mcp/pool', $s2) } 1 .. 6), 'b b b b b b',
   'and of the second to b');

my ($st3, $s3) = init('/mcp/solo');
unlike($s3 // '', qr/~/, 'a single server keeps its own session ids');
is(who('/mcp/solo', $s3), 'solo', 'and answers');

($st) = call('/mcp/pool', 'nobody~x', 'env', { name => 'WHO' });
is($st, 404, 'a session id of no member is unknown: 404');

# the first session's member dies
my (undef, $pid) = call('/mcp/pool', $s1, 'pid');
like($pid, qr/^\d+$/, "a's pid");
kill 'KILL', $pid;

my $out = 0;
for (1 .. 1200) {
    my (undef, undef, $b) = http_request(GET => '/api/groups/pool');
    $out = 1, last if $b =~ /"id":"a","state":"[a-z]+","in_rotation":false/;
    Time::HiRes::sleep(0.05);
}
ok($out, 'a left the rotation');

($st) = call('/mcp/pool', $s1, 'env', { name => 'WHO' });
is($st, 404, "the dead member's session is answered 404");
like(Hangar::Test::slurp(servroot() . '/logs/error.log'),
     qr/the session's member "a" is out of rotation/, 'and that is logged');

my ($st4, $s4) = init('/mcp/pool');
like($s4 // '', qr/^b~/, 'the client initializes again: onto b');
is(who('/mcp/pool', $s4), 'b', 'and its calls are answered');
is(who('/mcp/pool', $s2), 'b', 'the other session never noticed');

nginx_stop();
Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
no_alerts();

Test::More::done_testing();
