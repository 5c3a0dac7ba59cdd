# Tool access policies (hangar-security.md §3.7): allow, deny and approval
# lists from hangar.yaml and from /api/auth/policies and /api/agent/policy,
# in layers (_global, server), enforced by the front door: tools/list shows
# exactly what tools/call accepts, on both workers at once, across reload
# and restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK;

my $json = JSON::PP->new->canonical;
my %mcp_headers = ('Content-Type' => 'application/json',
                   Accept => 'application/json, text/event-stream');

# every tool of the fleet and arguments that make a call of it succeed
my %ARGS = (echo => { text => 'x' }, add => { a => 1, b => 2 }, pid => {},
            env => { name => 'X' }, fail => { message => 'm' });
our @ALL = ((map { "a__$_" } qw(add echo env fail pid)),
           (map { "b__$_" } qw(add echo pid)));

our $KEY;     # the API key of the caller, once auth is on

sub mcp ($$) {
    my ($sid, $body) = @_;
    my ($st, $h, $b) = http_request(POST => '/mcp', $body,
        { %mcp_headers, $sid ? ('Mcp-Session-Id' => $sid) : (),
          $KEY ? ('X-API-Key' => $KEY) : () });
    return ($st, eval { $json->decode($b) } // $b, $h);
}

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body,
        { defined $body ? ('Content-Type' => 'application/json') : (),
          $KEY ? ('X-API-Key' => $KEY) : () });
    return ($st, eval { $json->decode($b) } // $b);
}

# a new front-door session (tried again while a slow nginx, under
# valgrind, is still starting its workers)
sub session () {
    for (1 .. 10) {
        my (undef, undef, $h) = mcp(undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}');
        return $h->{'mcp-session-id'} if $h && $h->{'mcp-session-id'};
        select(undef, undef, undef, 0.5);
    }
    return undef;
}

sub names ($) {
    my (undef, $b) = mcp($_[0], '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    return join ',', sort map { $_->{name} } @{ $b->{result}{tools} || [] };
}

sub call ($$) {
    my ($sid, $name) = @_;
    (my $tool = $name) =~ s/^.__//;
    my (undef, $b) = mcp($sid, $json->encode({ jsonrpc => '2.0', id => 3, method => 'tools/call',
        params => { name => $name, arguments => $ARGS{$tool} } }));
    return $b;
}

# list and call never disagree: every listed tool is called, every hidden
# one is refused as the policy says
sub agree ($$$;$) {
    my ($sid, $want, $label, $why) = @_;
    $why //= 'ToolAccessDeniedError: Tool not available for this mcp_server';
    my $listed = names($sid);
    is($listed, $want, "$label: the list");
    my %shown = map { $_ => 1 } split /,/, $listed;
    my @bad;
    for my $n (@ALL) {
        my $b = call($sid, $n);
        my $refused = ($b->{error}{code} // 0) == -32003;
        push @bad, "$n: $b->{error}{message}" if ($b->{error}{code} // 0) == -32601;
        push @bad, ($shown{$n} ? "$n listed but refused" : "$n hidden but called")
            if $refused == !!$shown{$n};
        push @bad, "$n: $b->{error}{message}"
            if $refused && $b->{error}{message} !~ /^$why/;
    }
    is(join('; ', @bad), '', "$label: list and call agree");
}

# the same list from many connections: both workers enforce it at once
sub everywhere ($$$) {
    my ($sid, $want, $label) = @_;
    my %seen;
    $seen{ names($sid) }++ for 1 .. 16;
    is(join(' | ', sort keys %seen), $want, "$label (16 lists over both workers)");
}

# started once (and stopped) so that its catalog is known; slow under valgrind
sub warm ($) {
    my ($s) = @_;
    my ($st, $b);
    for (1 .. 10) {
        ($st, $b) = api(POST => "/api/mcp_servers/$s/start");
        last if ($st // 0) == 200;
        select(undef, undef, undef, 0.5);
    }
    is($st, 200, "$s started once for its catalog") or diag($json->encode($b));
    api(POST => "/api/mcp_servers/$s/stop");
}

my %conf = (
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
);

# the pass-through: the server's own session and tool names
sub thru ($$$) {
    my ($server, $sid, $body) = @_;
    my ($st, $h, $b) = http_request(POST => "/mcp/$server", $body,
        { %mcp_headers, $sid ? ('Mcp-Session-Id' => $sid) : (),
          $KEY ? ('X-API-Key' => $KEY) : () });
    # a server may answer in SSE: the last data line is the answer
    my @data = $b =~ /^data: (.*)$/mg;
    $b = $data[-1] if @data;
    return ($st, eval { $json->decode($b) } // $b, $h);
}

sub pass_session ($) {
    my ($server) = @_;
    my (undef, undef, $h) = thru($server, undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}');
    my $sid = $h->{'mcp-session-id'};
    thru($server, $sid, '{"jsonrpc":"2.0","method":"notifications/initialized"}');
    return $sid;
}

sub pass_names ($$) {
    my ($server, $sid) = @_;
    my (undef, $b) = thru($server, $sid, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    return join ',', sort map { $_->{name} } @{ $b->{result}{tools} || [] };
}

sub pass_call ($$$) {
    my ($server, $sid, $tool) = @_;
    my (undef, $b) = thru($server, $sid, $json->encode({ jsonrpc => '2.0', id => 3, method => 'tools/call',
        params => { name => $tool, arguments => $ARGS{$tool} } }));
    return $b;
}

nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\nmcp_servers:\n"
    . "  a:\n    command: [perl, $SERVER, --tools, 'echo,add,pid,env,fail']\n"
    . "    tools: {deny_list: ['fa?l'], allow_list: ['[ae]*', pid]}\n"
    . "  b:\n    command: [perl, $SERVER, --tools, 'echo,add,pid']\n"
    . "    tools: {allow_list: [add], approval_list: [pid], approval_timeout_seconds: 30}\n"
    . "    tool_access: {member: {acme: {deny_list: [echo]}}}\n" });

warm($_) for qw(a b);

my $sid = session();
ok($sid, 'a session');

# -- hangar.yaml -------------------------------------------------------------
agree($sid, 'a__add,a__echo,a__env,a__pid,b__add,b__pid',
      'yaml: deny with ?, allow with a class, an approval-listed tool is visible');
my $b = call($sid, 'a__fail');
is($b->{error}{code}, -32003, 'a denied tool is refused with -32003');
is($b->{error}{message}, 'ToolAccessDeniedError: Tool not available for this mcp_server',
   'ToolAccessDeniedError');
is(call($sid, 'a__echo')->{result}{content}[0]{text}, 'x', 'an allowed tool is called');
is(call($sid, 'b__pid')->{result}{content}[0]{text} =~ /^\d+$/ ? 1 : 0, 1,
   'an approval-listed tool is called (no approval gate yet)');

my ($st);
($st, $b) = api(GET => '/api/auth/policies/provider/a');
is($st, 200, 'GET a policy');
is($json->encode($b), '{"allow_list":["[ae]*","pid"],"approval_channel":"","approval_list":[],'
   . '"approval_timeout_seconds":300,"deny_list":["fa?l"],"found":true,"kind":"tool",'
   . '"scope":"provider","source":"yaml","target_id":"a"}', 'the effective policy, from hangar.yaml');
($st, $b) = api(GET => '/api/auth/policies/server/nope');
is($st, 200, 'no policy is still 200');
is($b->{found}, JSON::PP::false, 'found: false');
is($json->encode($b->{deny_list}), '[]', 'with empty lists');

# -- the API over hangar.yaml --------------------------------------------------
($st, $b) = api(POST => '/api/auth/policies/provider/a', '{"deny_list":["e*"]}');
is($st, 200, 'POST a policy');
is($b->{set}, JSON::PP::true, 'set: true');
everywhere($sid, 'a__add,a__fail,a__pid,b__add,b__pid', 'the API policy replaces the YAML one');
agree($sid, 'a__add,a__fail,a__pid,b__add,b__pid', 'api');

($st, $b) = api(POST => '/api/auth/policies/provider/b', '{"allow_list":["add","echo"]}');
is($json->encode([@$b{qw(allow_list approval_list approval_timeout_seconds)}]),
   '[["add","echo"],["pid"],30]', 'the approval data in force is carried forward');
agree($sid, 'a__add,a__fail,a__pid,b__add,b__echo,b__pid', 'carried approval keeps pid visible');

($st, $b) = api(POST => '/api/auth/policies/provider/_global', '{"deny_list":["add"]}');
is($st, 200, 'a _global policy');
agree($sid, 'a__fail,a__pid,b__echo,b__pid', '_global is a floor under every server');
($st, $b) = api(GET => '/api/auth/policies/provider/_global');
is($b->{source}, 'api', '_global: source api');
($st, $b) = api(DELETE => '/api/auth/policies/provider/_global');
is($st, 204, 'DELETE is 204');
everywhere($sid, 'a__add,a__fail,a__pid,b__add,b__echo,b__pid', 'and takes effect at once');

($st, $b) = api(POST => '/api/auth/policies/provider/a', '{"allow_list":["[!e]*"],"deny_list":["p?d"]}');
agree($sid, 'a__add,a__fail,b__add,b__echo,b__pid', 'a negated class and ?');
($st, $b) = api(POST => '/api/auth/policies/provider/a', '{"allow_list":["*d*"],"approval_list":["env"]}');
agree($sid, 'a__add,a__env,a__pid,b__add,b__echo,b__pid', 'an approval pattern shows a tool the allow list leaves out');

($st, $b) = api(POST => '/api/auth/policies/member/g1:m1', '{"deny_list":["x"]}');
is("$st $b->{target_id}", '200 g1:m1', 'a member policy is kept');
($st, $b) = api(GET => '/api/auth/policies/member/solo');
is("$st $b->{target_id} $b->{found}", '200 solo:solo 0', 'a member id alone is both group and member');
($st, $b) = api(POST => '/api/auth/policies/group/g1', '{"deny_list":["y"]}');
($st, $b) = api(GET => '/api/auth/policies/group/g1');
is("$st $b->{found} $b->{deny_list}[0]", '200 1 y', 'a group policy is kept');

# -- every error -------------------------------------------------------------
for my $case (
    [POST => '/api/auth/policies/bogus/a', '{}', 'scope', "Invalid scope 'bogus'. Must be one of: provider, group, member."],
    [GET => '/api/auth/policies/bogus/a', undef, 'scope', undef],
    [DELETE => '/api/auth/policies/bogus/a', undef, 'scope', undef],
    [POST => '/api/auth/policies/provider/bad.id', '{}', 'target_id', undef],
    [POST => '/api/auth/policies/member/g1:', '{}', 'target_id', undef],
    [GET => '/api/auth/policies/provider/a?kind=widget', undef, 'kind', undef],
    [POST => '/api/auth/policies/provider/a', '{"denylist":["x"]}', 'denylist', undef],
    [POST => '/api/auth/policies/provider/a', '{"deny_list":"x"}', 'deny_list', undef],
    [POST => '/api/auth/policies/provider/a', '{"deny_list":[""]}', 'deny_list[0]', undef],
    [POST => '/api/auth/policies/provider/a', '{"deny_list":[5]}', 'deny_list[0]', undef],
    [POST => '/api/auth/policies/provider/a', '{"approval_timeout_seconds":0}', 'approval_timeout_seconds', undef],
    [POST => '/api/auth/policies/provider/a', '{"approval_channel":7}', 'approval_channel', undef],
    [POST => '/api/auth/policies/provider/a', '[]', 'body', undef],
    [POST => '/api/agent/policy', '{"tool_policies":[]}', 'version', undef],
    [POST => '/api/agent/policy', '{"version":1}', 'tool_policies', undef],
    [POST => '/api/agent/policy', '{"version":1,"tool_policies":[{"mcp_server_id":"a","tool_name":"x","action":"block"}]}',
     'tool_policies[0].action', undef],
    [POST => '/api/agent/policy', '{"version":1,"tool_policies":[{"mcp_server_id":"a b","tool_name":"x","action":"deny"}]}',
     'tool_policies[0].mcp_server_id', undef],
    [POST => '/api/agent/policy', '{"version":1,"tool_policies":[{"mcp_server_id":"a","action":"deny"}]}',
     'tool_policies[0].tool_name', undef],
    [POST => '/api/agent/policy', '{"version":1,"tool_policies":[{"mcp_server_id":"a","tool_name":"x","action":"require_approval","approval_timeout_seconds":-1}]}',
     'tool_policies[0].approval_timeout_seconds', undef],
) {
    my ($m, $uri, $body, $field, $msg) = @$case;
    ($st, $b) = api($m, $uri, $body);
    is("$st " . ($b->{error} // '') . ' ' . ($b->{details}{field} // ''),
       "422 ValidationError $field", "$m $uri " . ($body // '') . ": 422 naming $field")
        or diag($json->encode($b));
    is($b->{message}, $msg, "  with the message: $msg") if defined $msg;

}
($st, $b) = api(POST => '/api/auth/policies/provider/a', '{"deny_list":');
is($st, 400, 'an unparsable body is 400');
($st, $b) = api(POST => '/api/agent/policy', 'not json');
is($st, 400, 'agent policy: an unparsable body is 400');
agree($sid, 'a__add,a__env,a__pid,b__add,b__echo,b__pid', 'nothing changed by the refusals');

# -- persistence ---------------------------------------------------------------
my $state = do { local (@ARGV, $/) = (servroot() . '/state/hangar-state.json'); <> };
like($state, qr/"policies":\[/, 'the state file keeps the policies');
Hangar::Test::nginx_reload();
$sid = session();
everywhere($sid, 'a__add,a__env,a__pid,b__add,b__echo,b__pid', 'after a reload');
Hangar::Test::nginx_stop();
nginx_start({ %conf, keep_servroot => 1 });
$sid = session();
agree($sid, 'a__add,a__env,a__pid,b__add,b__echo,b__pid', 'after a restart');
($st, $b) = api(GET => '/api/auth/policies/provider/b');
is($json->encode([@$b{qw(source allow_list approval_list approval_timeout_seconds)}]),
   '["api",["add","echo"],["pid"],30]', 'the carried approval data survived too');

($st, $b) = api(DELETE => '/api/auth/policies/provider/a');
is($st, 204, 'DELETE an API policy');
($st, $b) = api(GET => '/api/auth/policies/provider/a');
is("$b->{found} $b->{source}", '1 yaml', 'hangar.yaml\'s policy is in force again');
($st, $b) = api(DELETE => '/api/auth/policies/provider/nope');
is($st, 204, 'DELETE of nothing is 204 too');

# -- POST /api/agent/policy ----------------------------------------------------
($st, $b) = api(POST => '/api/agent/policy', $json->encode({ version => 3, tool_policies => [
    { mcp_server_id => '*', tool_name => 'env', action => 'deny' },
    { mcp_server_id => 'a', tool_name => '*', action => 'allow' },
    { mcp_server_id => 'a', tool_name => 'fail', action => 'audit' },
    { mcp_server_id => 'a', tool_name => 'pid', action => 'require_approval', approval_timeout_seconds => 10 },
    { mcp_server_id => 'a', tool_name => 'p*', action => 'require_approval', approval_timeout_seconds => 20 },
] }));
is($st, 200, 'agent policy');
is($json->encode($b), '{"applied":2,"status":"ok","version":3}', 'its answer');
($st, $b) = api(GET => '/api/auth/policies/provider/a');
is($json->encode([@$b{qw(allow_list deny_list approval_list approval_timeout_seconds)}]),
   '[["*","fail"],[],["pid","p*"],10]', 'grouped per server (audit is allow; the least timeout)');
($st, $b) = api(GET => '/api/auth/policies/provider/_global');
is($json->encode($b->{deny_list}), '["env"]', '"*" is _global');
agree($sid, 'a__add,a__echo,a__fail,a__pid,b__add,b__echo,b__pid', 'agent policy enforced');

# -- the official SDK client ---------------------------------------------------
{
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my @out = map { eval { $json->decode($_) } // { raw => $_ } }
              `$NODE $REPO/t/servers/sdk-client.mjs $url '[{"name":"a__env","arguments":{"name":"X"}}]' 2>&1`;
    is(join(',', sort @{ $out[1]{tools} || [] }), 'a__add,a__echo,a__fail,a__pid,b__add,b__echo,b__pid',
       'the SDK client sees only the allowed tools')
        or diag(join '', map { $_->{raw} // $json->encode($_) } @out);
    like($out[2]{error} // '', qr/Tool not available for this mcp_server/, 'and a hidden one is refused to it');
}

my $log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
like($log, qr/hangar: ToolAccessPolicySet tool provider\/_global by principal "-"/,
     'a change is logged at info with its principal');
like($log, qr/hangar: tool "a__env" of "a" refused for principal "-": ToolAccessDeniedError/,
     'a refused call is logged at info with its principal');

# a server created through the API is held to the same shape
($st, $b) = api(POST => '/api/mcp_servers', '{"mcp_server_id":"c","mode":"subprocess","command":["x"],"tools":{"denylist":["x"]}}');
is("$st $b->{error}", '422 ValidationError', 'an API-created server with an unknown policy key: 422');
like($b->{message}, qr/tools\.denylist: unknown key of a tool access policy/, '... naming it');

is(nginx_stop(), '', 'nginx stopped');

# -- callers with a tenant and roles (auth on) -----------------------------------
my %key = map { $_ => "mcp_test_policy_${_}_" . ('k' x 20) } qw(admin acme other viewer);
nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\n"
    . "auth:\n  enabled: true\n  api_keys:\n"
    . "    - {name: admin, principal_id: admin, key: $key{admin}}\n"
    . "    - {name: acme, principal_id: alice, key: $key{acme}, tenant_id: acme}\n"
    . "    - {name: other, principal_id: carol, key: $key{other}, tenant_id: other}\n"
    . "    - {name: viewer, principal_id: vic, key: $key{viewer}}\n"
    . "  role_assignments:\n"
    . "    - {principal: admin, role: admin}\n"
    . "    - {principal: alice, role: developer}\n"
    . "    - {principal: carol, role: developer}\n"
    . "    - {principal: vic, role: viewer}\n"
    . "mcp_servers:\n"
    . "  a:\n    command: [perl, $SERVER, --tools, 'echo,add,pid,env,fail']\n"
    . "  b:\n    command: [perl, $SERVER, --tools, 'echo,add,pid']\n"
    . "    tools: {approval_list: [pid]}\n"
    . "    tool_access: {member: {acme: {deny_list: [echo]}}}\n" });
{
    local $KEY = $key{admin};
    warm($_) for qw(a b);
    ($st, $b) = api(POST => '/api/admin/tools/a/add/withdraw', '{"tenant_id":"other"}');
    is($st, 200, 'a withdrawal for the tenant "other"');
    ($st, $b) = api(POST => '/api/auth/policies/provider/a', '{"deny_list":["fail"]}');
    is($st, 200, 'an admin sets a policy');
    $sid = session();
    agree($sid, 'a__add,a__echo,a__env,a__pid,b__add,b__echo,b__pid', 'admin, no tenant');
}
{
    local $KEY = $key{acme};
    $sid = session();
    agree($sid, 'a__add,a__echo,a__env,a__pid,b__add,b__pid', 'tenant acme: its tool_access.member layer');
    ($st, $b) = api(POST => '/api/auth/policies/provider/a', '{}');
    is($st, 403, 'a developer may not set policies (policy:write)');
}
{
    local $KEY = $key{other};
    $sid = session();
    is(names($sid), 'a__echo,a__env,a__pid,b__add,b__echo,b__pid', 'tenant other: its withdrawal hides a__add');
    $b = call($sid, 'a__add');
    is($b->{error}{message}, "ToolWithdrawnError: Tool 'a__add' is withdrawn for this tenant",
       'and refuses its call');
    is(call($sid, 'b__echo')->{result}{content}[0]{text}, 'x', 'another tenant\'s layer does not apply');
}
{
    local $KEY = $key{viewer};
    $sid = session();
    is(names($sid), '', 'without tool:invoke (viewer) nothing is listed');
    $b = call($sid, 'a__echo');
    is($b->{error}{message}, "AccessDeniedError: Not authorized to invoke tool 'a__echo': tool:invoke permission required",
       'and a call is refused by RBAC');
}

# -- the pass-through: tools/call checked, tools/list filtered -------------------
{
    local $KEY = $key{acme};
    my $ps = pass_session('b');
    ok($ps, 'a pass-through session with b');
    is(pass_names('b', $ps), 'add,pid', 'pass-through tools/list: tenant acme\'s layer applies');
    $b = pass_call('b', $ps, 'echo');
    is("$b->{error}{code} $b->{error}{message}",
       '-32003 ToolAccessDeniedError: Tool not available for this mcp_server',
       'pass-through tools/call of a hidden tool: a JSON-RPC error, not an HTTP one');
    is(pass_call('b', $ps, 'add')->{result}{content}[0]{text}, '3', 'an allowed call goes through');
    $b = pass_call('a', pass_session('a'), 'fail');
    is($b->{error}{message}, 'ToolAccessDeniedError: Tool not available for this mcp_server',
       'the API policy holds on the pass-through too');
}
{
    local $KEY = $key{other};
    my $ps = pass_session('a');
    is(pass_names('a', $ps), 'echo,env,pid', 'pass-through: the tenant withdrawal hides add');
    is(pass_call('a', $ps, 'add')->{error}{message}, "ToolWithdrawnError: Tool 'add' is withdrawn for this tenant",
       'and refuses its call');
    my ($pst, $pb) = thru('a', $ps, '[{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":1}}}]');
    like($pb->{error}{message} // '', qr/ToolWithdrawnError/, 'a batch with a refused call is refused');
}
{
    # the official SDK client with an API key: only its tenant's tools
    local $ENV{SDK_DIR} = $SDK;
    local $ENV{SDK_HEADERS} = $json->encode({ 'X-API-Key' => $key{other} });
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my @out = map { eval { $json->decode($_) } // { raw => $_ } }
              `$NODE $REPO/t/servers/sdk-client.mjs $url '[{"name":"a__add","arguments":{"a":1,"b":2}}]' 2>&1`;
    is(join(',', sort @{ $out[1]{tools} || [] }), 'a__echo,a__env,a__pid,b__add,b__echo,b__pid',
       'the SDK client with an API key sees only its allowed tools')
        or diag(join '', map { $_->{raw} // $json->encode($_) } @out);
    like($out[2]{error} // '', qr/withdrawn for this tenant/, 'and a hidden one is refused to it');
}

{
    local $KEY = $key{viewer};
    my $ps = pass_session('b');
    is(pass_names('b', $ps), '', 'pass-through: without tool:invoke nothing is listed');
    like(pass_call('b', $ps, 'add')->{error}{message}, qr/^AccessDeniedError: Not authorized to invoke tool 'add'/,
         'and a call is refused by RBAC');
}
{
    # a custom role that grants one tool by the name the client sees
    local $KEY = $key{admin};
    ($st, $b) = api(POST => '/api/auth/roles', '{"role_name":"echoer","permissions":["tool:invoke:a__echo","tool:invoke:echo"]}');
    is($st, 201, 'a custom role granting tool:invoke on one tool');
    ($st, $b) = api(POST => '/api/auth/roles/assign', '{"principal_id":"vic","role_name":"echoer"}');
    is($st, 200, 'assigned to the viewer');
}
{
    local $KEY = $key{viewer};
    $sid = session();
    agree($sid, 'a__echo', 'per-tool RBAC: only the granted tool', 'AccessDeniedError');
    my $ps = pass_session('b');
    is(pass_names('b', $ps), 'echo', 'per-tool RBAC on the pass-through (the server\'s own name)');
}
{
    local $KEY = $key{admin};
    my $ps = pass_session('b');
    is(pass_names('b', $ps), 'add,echo,pid', 'pass-through: an admin without a tenant sees all of b');
    is(pass_call('b', $ps, 'echo')->{result}{content}[0]{text}, 'x', 'and calls it');
    ($st, $b) = api(POST => '/api/admin/tools/a/add/restore', '{"tenant_id":"other"}');
}
{
    local $KEY = $key{other};
    $sid = session();
    is(names($sid), 'a__add,a__echo,a__env,a__pid,b__add,b__echo,b__pid', 'restored for tenant other');
}
$log = do { local (@ARGV, $/) = (servroot() . '/logs/error.log'); <> };
like($log, qr/hangar: tool "a__add" of "a" refused for principal "carol": ToolWithdrawnError/,
     'the principal is logged with a decision');
is(nginx_stop(), '', 'nginx stopped');

# -- tool_access.mode: front_door ----------------------------------------------
nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\n"
    . "tool_access: {mode: front_door}\n"
    . "auth:\n  enabled: true\n  api_keys:\n"
    . "    - {name: admin, principal_id: admin, key: $key{admin}}\n"
    . "    - {name: acme, principal_id: alice, key: $key{acme}, tenant_id: acme}\n"
    . "  role_assignments:\n"
    . "    - {principal: admin, role: admin}\n"
    . "    - {principal: alice, role: developer}\n"
    . "mcp_servers:\n"
    . "  b:\n    command: [perl, $SERVER, --tools, 'echo,add,pid']\n"
    . "    tool_access: {member: {acme: {deny_list: [echo]}}}\n" });
local @ALL = map { "b__$_" } qw(add echo pid);
{
    local $KEY = $key{admin};
    warm('b');
    $sid = session();
    agree($sid, '', 'front_door: a caller without a tenant sees nothing');
}
{
    local $KEY = $key{acme};
    $sid = session();
    agree($sid, 'b__add,b__pid', 'front_door: a caller with a tenant sees its tools');
}
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
