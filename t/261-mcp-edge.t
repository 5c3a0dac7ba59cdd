# The edge of MCP traffic, the front door's and the pass-through's alike:
# CORS for browser clients with the REST API's MCP_CORS_* settings (a
# preflight answered before auth, the MCP headers allowed, Mcp-Session-Id
# exposed), and the Host and Origin checks (403 with a JSON-RPC error).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my $APP = 'https://app.example.com';

my $INIT = $json->encode({ jsonrpc => '2.0', id => 1, method => 'initialize',
                           params => { protocolVersion => '2025-06-18', capabilities => {},
                                       clientInfo => { name => 't', version => '0' } } });

sub post ($%) {
    my ($path, %h) = @_;
    return http_request(POST => $path, $INIT,
                        { 'Content-Type' => 'application/json',
                          'Accept' => 'application/json, text/event-stream', %h });
}

nginx_start({
    workers     => 2,
    env         => "MCP_CORS_ORIGINS=$APP\n",
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  math:\n    command: [perl, $SERVER, --name, math]\n",
});

for my $path ('/mcp', '/mcp/math') {
    # a browser's preflight
    my ($st, $h, $b) = http_request(OPTIONS => $path, undef, {
        Origin => $APP, 'Access-Control-Request-Method' => 'POST',
        'Access-Control-Request-Headers' => 'content-type, mcp-session-id, mcp-protocol-version' });
    is($st, 204, "$path: a preflight is answered") or diag($b);
    is($h->{'access-control-allow-origin'}, $APP, "$path: for the allowed origin");
    my %allowed = map { lc($_) => 1 } split /\s*,\s*/, $h->{'access-control-allow-headers'} // '';
    ok($allowed{$_}, "$path: $_ allowed")
        for qw(mcp-session-id mcp-protocol-version last-event-id content-type authorization);
    like($h->{'access-control-allow-methods'} // '', qr/\bDELETE\b/, "$path: DELETE allowed (ends a session)");
    like($h->{'access-control-allow-methods'} // '', qr/\bGET\b.*\bPOST\b/, "$path: GET and POST allowed");

    # the call the page then makes
    ($st, $h, $b) = post($path, Origin => $APP);
    is($st, 200, "$path: a page of an allowed origin may call") or diag($b);
    like($b, qr/"protocolVersion"/, "$path: and is answered");
    is($h->{'access-control-allow-origin'}, $APP, "$path: with CORS headers");
    like($h->{'access-control-expose-headers'} // '', qr/\bMcp-Session-Id\b/i,
         "$path: Mcp-Session-Id exposed to the page");
    is(scalar(() = ($h->{'access-control-allow-origin'} // '') =~ /https?:/g), 1,
       "$path: one Access-Control-Allow-Origin");

    # a foreign page and a rebinding host
    ($st, $h, $b) = post($path, Origin => 'http://evil.example');
    is($st, 403, "$path: a foreign Origin is refused");
    like($b, qr/"code":-32000.*Origin not allowed/, "$path: with a JSON-RPC error") or diag($b);
    ok(!$h->{'access-control-allow-origin'}, "$path: and no CORS header");
    ($st, $h, $b) = post($path, Host => 'rebound.example');
    is($st, 403, "$path: a foreign Host is refused");
    like($b, qr/"code":-32000.*Host not allowed/, "$path: with a JSON-RPC error") or diag($b);
    ($st, $h, $b) = post($path, Origin => 'http://localhost:3000');
    is($st, 200, "$path: a local page may call");

    ($st, $h) = http_request(OPTIONS => $path, undef, {
        Origin => 'http://evil.example', 'Access-Control-Request-Method' => 'POST' });
    ok(!$h->{'access-control-allow-origin'}, "$path: no preflight for a foreign origin");
}

# the refused calls never started the server through the pass-through
my (undef, undef, $b) = http_request(GET => '/api/mcp_servers/math/tools/history');
like($b, qr/"total":0/, 'nothing refused reached the server');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('mcp edge') if Hangar::Test::valgrind_on();
Test::More::done_testing();
