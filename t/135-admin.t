# Runtime rules the front door enforces: withdrawn tools and suspended
# sessions, set through the REST API and kept across restarts.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $json = JSON::PP->new->canonical;
my %mcp_headers = ('Content-Type' => 'application/json',
                   Accept => 'application/json, text/event-stream');

sub mcp ($$) {
    my ($sid, $body) = @_;
    my ($st, $h, $b) = http_request(POST => '/mcp', $body,
        { %mcp_headers, $sid ? ('Mcp-Session-Id' => $sid) : () });
    return ($st, eval { $json->decode($b) } // $b, $h);
}

sub api ($$;$$) {
    my ($method, $uri, $body, $headers) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body, $headers // {});
    return ($st, eval { $json->decode($b) } // $b);
}

sub names ($) {
    my (undef, $b) = mcp($_[0], '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    return join ',', map { $_->{name} } @{ $b->{result}{tools} || [] };
}

my %conf = (
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
);

nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\nmcp_servers:\n"
    . "  p:\n    command: [x]\n    tools: [{name: t1}, {name: t2}]\n" });

my (undef, undef, $h) = mcp(undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}');
my $sid = $h->{'mcp-session-id'};
ok($sid, "a session: $sid");
is(names($sid), 't1,t2', 'both tools listed');

# -- withdraw / restore ----------------------------------------------------
my ($st, $b) = api(POST => '/api/admin/tools/p/t1/withdraw');
is($st, 200, 'withdraw');
is($json->encode($b), '{"mcp_server":"p","tenant_id":null,"tool":"t1","withdrawn":true}', 'withdraw answer');
is(names($sid), 't2', 'a withdrawn tool is not listed');
(undef, $b) = mcp($sid, '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t1","arguments":{}}}');
is($b->{error}{code}, -32003, 'and a call of it is refused');
like($b->{error}{message}, qr/ToolWithdrawnError/, 'with ToolWithdrawnError');

($st, $b) = api(POST => '/api/admin/tools/p/t2/withdraw', '{"tenant_id":"acme"}');
is($b->{tenant_id}, 'acme', 'a withdrawal for one tenant');
is(names($sid), 't2', 'does not hide the tool from callers without that tenant');
($st, $b) = api(POST => '/api/admin/tools/p/t2/withdraw', '{"tenant_id":5}');
is($st, 422, 'tenant_id must be a string');

# -- suspend / resume --------------------------------------------------------
($st, $b) = api(POST => '/api/sessions/bad.id/suspend');
is($st, 400, 'an invalid session id is 400');
is($b->{message}, 'invalid session_id: must be 1-128 alphanumeric, dash, or underscore', 'and says why');
($st, $b) = api(POST => "/api/sessions/$sid/suspend", '', { Origin => 'http://localhost:5173' });
is($st, 403, 'a browser-made request without X-Requested-With: 403');
is($b->{error}, 'csrf_header_required', 'csrf_header_required');
($st, $b) = api(POST => "/api/sessions/$sid/suspend", '{"reason":"abuse"}',
                { Origin => 'http://localhost:5173', 'X-Requested-With' => 'XMLHttpRequest' });
is($json->encode($b), qq({"session_id":"$sid","suspended":true}), 'suspend');
($st, $b) = mcp($sid, '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"t2","arguments":{}}}');
is($st, 403, "a suspended session's call is refused");
is($b->{error}{message}, 'Session suspended', 'Session suspended');

# -- both survive a restart --------------------------------------------------
Hangar::Test::nginx_stop();
nginx_start({ %conf, keep_servroot => 1 });
($st) = mcp($sid, '{"jsonrpc":"2.0","id":5,"method":"ping"}');
is($st, 403, 'still suspended after a restart (the signing key is kept too)');
($st, $b) = api(DELETE => "/api/sessions/$sid/suspend");
is($json->encode($b), qq({"session_id":"$sid","suspended":false}), 'resume');
($st) = mcp($sid, '{"jsonrpc":"2.0","id":6,"method":"ping"}');
is($st, 200, 'the session works again');
is(names($sid), 't2', 'the withdrawal survived the restart');
($st, $b) = api(POST => '/api/admin/tools/p/t1/restore');
is($json->encode($b), '{"mcp_server":"p","restored":true,"tenant_id":null,"tool":"t1"}', 'restore');
is(names($sid), 't1,t2', 'the tool is back');
my $state = do { local (@ARGV, $/) = (servroot() . '/state/hangar-state.json'); <> };
like($state, qr/"suspended":\[\],"withdrawn":\[\{"mcp_server":"p","tool":"t2","tenant_id":"acme"\}\]/,
     'the state file keeps what is left');
is(nginx_stop(), '', 'nginx stopped');

no_orphans();
no_alerts();
Test::More::done_testing();
