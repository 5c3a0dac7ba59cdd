# hangar_pass: raw MCP traffic to one server through nginx's proxy, after
# a lazy start; the official SDK client talks to the server through it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK && -f $EV;

my $json = JSON::PP->new->canonical;

sub sdk ($$) {
    my ($path, $calls) = @_;
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . $path;
    my @lines = `$NODE $REPO/t/servers/sdk-client.mjs $url '@{[ $json->encode($calls) ]}' 2>&1`;
    return map { eval { $json->decode($_) } // { raw => $_ } } @lines;
}

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  math:\n    command: [perl, $REPO/t/servers/hangar-test-server, --name, math]\n"
                 . "  everything:\n    command: [$NODE, $EV, stdio]\n"
                 . "  off:\n    command: [perl, $REPO/t/servers/hangar-test-server]\n",
});

my ($st, $h, $b) = http_request(GET => '/api/mcp_servers/math');
like($b, qr/"state":"cold"/, 'math is cold before anyone calls it');

my @out = sdk('/mcp/math', [{ name => 'add', arguments => { a => 20, b => 22 } },
                            { name => 'progress', arguments => { steps => 3, interval_ms => 100 },
                              progress => 1 }]);
is($out[0]{server}{name}, 'math', 'the SDK client reaches the server itself through hangar_pass')
    or diag(join '', map { $_->{raw} // $json->encode($_) } @out);
ok((grep { $_ eq 'add' } @{ $out[1]{tools} || [] }), 'its own tool names');
is($out[2]{result}{content}[0]{text}, '42', 'a call through the proxy');
is($out[3]{result}{content}[0]{text}, 'done 3', 'a streamed call through the proxy');
ok(@{ $out[3]{progress} || [] } >= 2, 'progress arrives unbuffered: ' . join(',', @{ $out[3]{progress} || [] }));
ok($out[-1]{terminated}, 'the session ends');
($st, $h, $b) = http_request(GET => '/api/mcp_servers/math');
like($b, qr/"state":"ready"/, 'the pass started it');

@out = sdk('/mcp/everything', [{ name => 'echo', arguments => { message => 'via pass' } }]);
is($out[2]{result}{content}[0]{text}, 'Echo: via pass', 'server-everything through hangar_pass')
    or diag(join '', map { $_->{raw} // $json->encode($_) } @out);

($st, $h, $b) = http_request(POST => '/mcp/nope', '{}', { 'Content-Type' => 'application/json' });
is($st, 404, 'an unknown server: 404');
like($b, qr/"error":"McpServerNotFoundError"/, 'with the envelope');

http_request(POST => '/api/mcp_servers/off/block');
($st, $h, $b) = http_request(POST => '/mcp/off', '{}', { 'Content-Type' => 'application/json' });
is($st, 409, 'a blocked server: 409');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
