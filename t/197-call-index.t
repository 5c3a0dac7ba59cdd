# tools/call finds its target through the worker's index of exported
# names: every one of thousands of tools routes to its server, unknown
# and hidden names do not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $json = JSON::PP->new;
my $n = 3000;
my $long = 'l' x 80;

nginx_start({
    http_config => "    hangar_zone hangar 4m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  many:\n    command: [/nonexistent/many]\n    tools: ["
                 . join(', ', map { "{name: t$_}" } 1 .. $n) . ", {name: $long}]\n"
                 . "  other:\n    command: [/nonexistent/other]\n    tools: [{name: t1}, {name: only}]\n",
});

my %h = ('Content-Type' => 'application/json',
         'Accept' => 'application/json, text/event-stream');
my ($st, $hd) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"initialize",'
                             . '"params":{"protocolVersion":"2025-06-18"}}', \%h);
$h{'Mcp-Session-Id'} = $hd->{'mcp-session-id'};

sub call ($) {
    my (undef, undef, $b) = http_request(POST => '/mcp',
        $json->encode({ jsonrpc => '2.0', id => 3, method => 'tools/call',
                        params => { name => $_[0], arguments => {} } }), \%h);
    return eval { $json->decode($b) } || {};
}

# a tool that routes reaches its server, which cannot start: a tool error
sub routed ($) {
    my $r = call($_[0]);
    return ($r->{result}{isError} && !$r->{error}) ? 1 : 0;
}

my $good = 0;
for my $i (2, 3, 17, 1000, 2047, 2999, $n) {
    $good += routed("t$i");
}
is($good, 7, 'tools of a 3000-tool catalog route by name');
ok(routed('many__t1') && routed('other__t1'), 'a shared name is prefixed in both servers');
ok(!routed('t1'), 'the bare shared name is not a tool (auto naming)');
ok(routed('only'), 'a name of the other server routes');
my ($hashed, $cursor, @names);
for (1 .. 20) {
    my $params = defined $cursor ? qq({"cursor":"$cursor"}) : '{}';
    my (undef, undef, $b) = http_request(POST => '/mcp',
        qq({"jsonrpc":"2.0","id":4,"method":"tools/list","params":$params}), \%h);
    my $doc = eval { $json->decode($b) } || {};
    push @names, map { $_->{name} } @{ $doc->{result}{tools} || [] };
    $cursor = $doc->{result}{nextCursor};
    last unless defined $cursor;
}
is(scalar @names, $n + 3, 'every tool is listed, over pages');
($hashed) = grep { /^l{55}_[0-9a-f]{8}$/ } @names;
ok($hashed && routed($hashed), "a long name, cut and hashed, routes ($hashed)");
my $r = call('t' . ($n + 1));
is($r->{error}{code}, -32601, 'an unknown name is -32601');
$r = call('');
is($r->{error}{code}, -32601, 'so is an empty one');

is(nginx_stop(), '', 'nginx stopped');
no_alerts();
Test::More::done_testing();
