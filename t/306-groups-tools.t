# The groups among the control-plane tools (hangar-core.md §7.2, §7.5):
# hangar_group_list and hangar_group_rebalance against a group of two
# members from hangar.yaml, with 2 workers; a member killed leaves
# members_in_rotation, a member ready again comes back by the rebalance;
# an unknown group; the groups' parts of hangar_list, hangar_status,
# hangar_health and hangar_metrics; the official SDK client; with auth on,
# a read-only key may list but not rebalance.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
my $json = JSON::PP->new->canonical;
my ($T, $F) = (JSON::PP::true, JSON::PP::false);

my $id = 0;

sub rpc {
    my ($sid, $method, $params, $h) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream', %{ $h || {} });
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode(
        { jsonrpc => '2.0', id => ++$id, method => $method,
          params => $params // {} }), \%h);
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

sub session {
    my ($h) = @_;
    my (undef, $hd) = rpc(undef, 'initialize',
        { protocolVersion => '2025-06-18', capabilities => {},
          clientInfo => { name => 't', version => '0' } }, $h);
    return $hd->{'mcp-session-id'};
}

# a tool's answer: (structuredContent, the whole result)
sub tool {
    my ($sid, $name, $args, $h) = @_;
    my (undef, undef, $doc) = rpc($sid, 'tools/call',
                                  { name => $name, arguments => $args // {} }, $h);
    my $res = $doc->{result} // {};
    return ($res->{structuredContent}, $res);
}

sub rest {
    my ($method, $path, $h) = @_;
    my ($st, undef, $b) = http_request($method => $path, undef, $h);
    return ($st, eval { $json->decode($b) } // {});
}

sub wait_for ($) {
    my ($cond) = @_;
    my $deadline = time + (Hangar::Test::valgrind_on() ? 120 : 30);
    while (time < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

sub state_of { (rest(GET => "/api/mcp_servers/$_[0]"))[1]{state} // '' }

sub member_of {
    my ($g, $m) = @_;
    return (grep { $_->{id} eq $m } @{ $g->{members} || [] })[0] // {};
}

my $http = "    hangar_zone hangar 1m;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
         . "    hangar_state \$TEST_NGINX_STATE_DIR;\n";
my $locations = "location /api/ { hangar_api; }\n"
              . "location = /mcp { hangar_mcp; hangar_mcp_control_tools on; }\n";
# healthy_threshold 100: a member that left the rotation stays out until
# a rebalance puts it back
my $fleet = "mcp_servers:\n"
          . "  a: {command: [perl, $SERVER], env: {WHO: a}}\n"
          . "  b: {command: [perl, $SERVER], env: {WHO: b}}\n"
          . "  pool:\n    mode: group\n    description: Two of them\n"
          . "    strategy: priority\n    health: {healthy_threshold: 100}\n"
          . "    members: [{id: a, priority: 1}, {id: b, weight: 3, priority: 2}]\n";
my $timeout = Hangar::Test::valgrind_on() ? 120 : 30;

nginx_start({ workers => 2, http_config => $http, config => $locations,
              timeout => $timeout,
              user_files => ">>> conf/hangar.yaml\n$fleet" });

my $sid = session();
ok($sid, 'a session');

# ---- tools/list -------------------------------------------------------------

my (undef, undef, $list) = rpc($sid, 'tools/list');
my %listed = map { $_->{name} => $_ } @{ $list->{result}{tools} || [] };
ok($listed{hangar_group_list}, 'tools/list: hangar_group_list');
is_deeply($listed{hangar_group_list}{inputSchema},
          { type => 'object', properties => {} }, '... takes no argument');
ok($listed{hangar_group_rebalance}, 'tools/list: hangar_group_rebalance');
is($listed{hangar_group_rebalance}{inputSchema}{properties}{group}{type},
   'string', '... takes group, a string');
is_deeply($listed{hangar_group_rebalance}{inputSchema}{required}, ['group'],
          '... which it needs');

# the first list warms the fleet; then both ready
wait_for(sub { !grep { state_of($_) eq 'initializing' } qw(a b) });
is((rest(POST => "/api/mcp_servers/$_/start"))[0], 200, "member $_ ready")
    for qw(a b);

# ---- hangar_group_list ---------------------------------------------------------

my ($out, $res) = tool($sid, 'hangar_group_list');
ok(!$res->{isError}, 'hangar_group_list: not an error');
my $g = $out->{groups}[0] // {};
is(scalar @{ $out->{groups} || [] }, 1, 'hangar_group_list: one group');
is_deeply([@$g{qw(group_id description state strategy healthy_count
                  total_members is_available)}],
          ['pool', 'Two of them', 'healthy', 'priority', 2, 2, $T],
          'hangar_group_list: the group status');
is_deeply([map { "$_->{id} $_->{state} "
                 . ($_->{in_rotation} ? 'in' : 'out') . " $_->{weight}" }
           @{ $g->{members} || [] }],
          ['a ready in 1', 'b ready in 3'], 'hangar_group_list: its members');
is_deeply($out, (rest(GET => '/api/groups'))[1],
          'hangar_group_list: the same object as GET /api/groups');
is_deeply(eval { $json->decode($res->{content}[0]{text} // "") }, $out,
          'the text content is the same JSON');

# ---- the groups' parts of the other tools ---------------------------------

($out) = tool($sid, 'hangar_list');
is_deeply([map { $_->{group_id} } @{ $out->{groups} || [] }], ['pool'],
          'hangar_list: groups');
is_deeply([map { $_->{id} } @{ $out->{groups}[0]{members} || [] }], [qw(a b)],
          '... with their members');
($out) = tool($sid, 'hangar_list', { state_filter => 'healthy' });
is_deeply([scalar @{ $out->{mcp_servers} || [] },
           map { $_->{group_id} } @{ $out->{groups} || [] }], [0, 'pool'],
          'hangar_list: state_filter healthy keeps the healthy group');
($out) = tool($sid, 'hangar_list', { state_filter => 'ready' });
is_deeply([scalar @{ $out->{mcp_servers} || [] }, $out->{groups}], [2, []],
          'hangar_list: state_filter ready keeps no group');

($out) = tool($sid, 'hangar_status');
is_deeply($out->{groups}, [{ id => 'pool', indicator => '[READY]',
                             state => 'healthy', healthy_members => 2,
                             total_members => 2 }],
          'hangar_status: groups');
like($out->{formatted} // '', qr/\[READY\] pool \(group, 2\/2 healthy\)/,
     'hangar_status: the group in the formatted text');

($out) = tool($sid, 'hangar_health');
is_deeply($out->{groups}, { total => 1, total_members => 2,
                            healthy_members => 2,
                            by_state => { inactive => 0, partial => 0,
                                          healthy => 1, degraded => 0 } },
          'hangar_health: groups');

($out) = tool($sid, 'hangar_metrics');
is_deeply($out->{groups}, { pool => { state => 'healthy',
                                      strategy => 'priority',
                                      total_members => 2,
                                      healthy_members => 2 } },
          'hangar_metrics: groups');
is($out->{summary}{total_groups}, 1, 'hangar_metrics: summary.total_groups');

# ---- hangar_group_rebalance ------------------------------------------------------

($out, $res) = tool($sid, 'hangar_group_rebalance', { group => 'pool' });
ok(!$res->{isError}, 'hangar_group_rebalance: not an error');
is_deeply($out, { group_id => 'pool', state => 'healthy', healthy_count => 2,
                  total_members => 2, members_in_rotation => [qw(a b)] },
          'hangar_group_rebalance: the documented shape');

# a killed: out of the rotation, and the rebalance keeps it out; the
# group's pid tool (priority: a first) tells its pid
my ($pid_tool) = grep { /^(?:pool__)?pid$/ } keys %listed;
(undef, $res) = tool($sid, $pid_tool // 'pid');
my $pid = $res->{content}[0]{text} // '';
like($pid, qr/^\d+$/, "a's server pid") or diag($json->encode($res));
kill 'KILL', $pid if $pid =~ /^\d+$/;
ok(wait_for(sub { state_of('a') eq 'dead' }), 'a killed: dead');

($out) = tool($sid, 'hangar_group_rebalance', { group => 'pool' });
is_deeply($out, { group_id => 'pool', state => 'healthy', healthy_count => 1,
                  total_members => 2, members_in_rotation => ['b'] },
          'rebalance: the killed member is not in rotation');

# a ready again, but out until healthy_threshold: the rebalance puts it back
is((rest(POST => '/api/mcp_servers/a/start'))[0], 200, 'a started again');
my (undef, $rg) = rest(GET => '/api/groups/pool');
is_deeply([member_of($rg, 'a')->{state}, member_of($rg, 'a')->{in_rotation}],
          ['ready', $F], 'a is ready, still out of rotation');
($out) = tool($sid, 'hangar_group_rebalance', { group => 'pool' });
is_deeply($out->{members_in_rotation}, [qw(a b)],
          'rebalance: the ready member is back in rotation');
is($out->{healthy_count}, 2, '... healthy_count 2');
(undef, $rg) = rest(GET => '/api/groups/pool');
ok(member_of($rg, 'a')->{in_rotation}, 'the REST API sees it back');
ok(Hangar::Test::slurp(servroot() . '/logs/error.log')
   =~ /group "pool": member "a" back in rotation \(rebalance\)/,
   'the rebalance is logged as the change it made');

# ---- errors ----------------------------------------------------------------------

($out, $res) = tool($sid, 'hangar_group_rebalance', { group => 'nope' });
is_deeply($out, { error => 'unknown_group: nope', type => 'ValueError',
                  details => {} }, 'an unknown group: the error as a result');
ok(!$res->{isError}, '... not isError');
(undef, $res) = tool($sid, 'hangar_group_rebalance', {});
ok($res->{isError}, 'no group: a tool error');
is($res->{content}[0]{text},
   'Invalid arguments for hangar_group_rebalance: group is required',
   '... that says why');
(undef, $res) = tool($sid, 'hangar_group_rebalance', { group => 'a/b' });
ok($res->{isError}, 'a bad group id: a tool error');
like($res->{content}[0]{text}, qr/group must match/, '... that says why');

# ---- the official SDK client -------------------------------------------------------

{
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my $calls = $json->encode([{ name => 'hangar_group_list', arguments => {} },
                               { name => 'hangar_group_rebalance',
                                 arguments => { group => 'pool' } }]);
    my @lines = map { eval { $json->decode($_) } // { raw => $_ } }
                `$NODE $REPO/t/servers/sdk-client.mjs $url '$calls' 2>&1`;
    my %call = map { ($_->{call} // '') => $_ } @lines;
    is_deeply([map { $_->{group_id} } @{ $call{hangar_group_list}{result}
                                             {structuredContent}{groups} || [] }],
              ['pool'], 'the SDK client calls hangar_group_list')
        or diag(join "\n", map { $json->encode($_) } @lines);
    is_deeply($call{hangar_group_rebalance}{result}{structuredContent}
                  {members_in_rotation}, [qw(a b)],
              'and hangar_group_rebalance');
}

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();

# ---- auth on: group:read lists, group:update rebalances ------------------------------

my %key = map { $_ => "mcp_test_${_}_" . ('k' x 24) } qw(viewer padmin service);
my %role = (viewer => 'viewer', padmin => 'provider-admin',
            service => 'service-account');
nginx_start({ workers => 2, http_config => $http, config => $locations,
              timeout => $timeout,
              user_files => ">>> conf/hangar.yaml\n$fleet"
                  . "auth:\n  enabled: true\n  api_keys:\n"
                  . join('', map { "    - {name: $_, principal_id: \"svc:$_\", "
                                   . "key: \"$key{$_}\"}\n" } sort keys %key)
                  . "  role_assignments:\n"
                  . join('', map { "    - {principal: \"svc:$_\", role: $role{$_}}\n" }
                             sort keys %key) });

my %as = map { $_ => { 'X-API-Key' => $key{$_} } } keys %key;
my %sid = map { $_ => session($as{$_}) } keys %key;
ok($sid{viewer} && $sid{padmin} && $sid{service}, 'auth on: sessions for three keys');

my %seen;
for my $who (keys %key) {
    (undef, undef, $list) = rpc($sid{$who}, 'tools/list', {}, $as{$who});
    $seen{$who} = join ',', sort grep { /^hangar_group/ }
                  map { $_->{name} } @{ $list->{result}{tools} || [] };
}
is($seen{viewer}, 'hangar_group_list', 'viewer: hangar_group_list is listed, not rebalance');
is($seen{padmin}, 'hangar_group_list,hangar_group_rebalance', 'provider-admin: both');
is($seen{service}, '', 'service-account: neither');

($out, $res) = tool($sid{viewer}, 'hangar_group_list', {}, $as{viewer});
is_deeply([map { $_->{group_id} } @{ $out->{groups} || [] }], ['pool'],
          'viewer: hangar_group_list answers');
(undef, $res) = tool($sid{viewer}, 'hangar_group_rebalance', { group => 'pool' },
                     $as{viewer});
ok($res->{isError}, 'viewer: hangar_group_rebalance is a tool error');
is($res->{content}[0]{text},
   "Not authorized to call 'hangar_group_rebalance': group:update permission required",
   '... with the message of §7.5');
(undef, $res) = tool($sid{service}, 'hangar_group_list', {}, $as{service});
is($res->{content}[0]{text},
   "Not authorized to call 'hangar_group_list': group:read permission required",
   'service-account: hangar_group_list refused');
($out, $res) = tool($sid{padmin}, 'hangar_group_rebalance', { group => 'pool' },
                    $as{padmin});
ok(!$res->{isError} && ($out->{group_id} // '') eq 'pool',
   'provider-admin: hangar_group_rebalance answers');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('group tools') if Hangar::Test::valgrind_on();
Test::More::done_testing();
