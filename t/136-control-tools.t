# The control-plane tools on the front door (hangar-core.md §7.1-§7.5),
# behind hangar_mcp_control_tools: each tool's answer against a small fleet
# of Perl test servers, hangar_start/stop changing state, hangar_call
# (validation, a failing call, fail_fast, the budget, a per-call timeout,
# max_attempts retrying a transient error), the permission table with auth
# on, and the directive off: no such tools.  2 workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Select ();
use IO::Socket::INET ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
my $json = JSON::PP->new->canonical;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

my $id = 0;

sub rpc {
    my ($path, $sid, $method, $params, $h) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream', %{ $h || {} });
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => $path, $json->encode(
        { jsonrpc => '2.0', id => ++$id, method => $method,
          params => $params // {} }), \%h);
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

sub session {
    my ($path, $h) = @_;
    my (undef, $hd) = rpc($path, undef, 'initialize',
        { protocolVersion => '2025-06-18', capabilities => {},
          clientInfo => { name => 't', version => '0' } }, $h);
    return $hd->{'mcp-session-id'};
}

# a tool's answer: (structuredContent, the whole result)
sub tool {
    my ($sid, $name, $args, $h, $path) = @_;
    my (undef, undef, $doc) = rpc($path // '/mcp', $sid, 'tools/call',
                                  { name => $name, arguments => $args // {} }, $h);
    my $res = $doc->{result} // {};
    return ($res->{structuredContent}, $res, $doc);
}

sub names { [sort map { $_->{name} } @{ $_[0] }] }

my $fleet = ">>> conf/hangar.yaml\nexecution:\n  allowed_commands: [perl, node]\nmcp_servers:\n"
          . "  math:\n    command: [perl, $SERVER, --name, math, --flaky, 2]\n"
          . "    description: Math\n"
          . "    tools: {deny_list: [crash]}\n"
          . "  slow:\n    command: [perl, $SERVER, --tools, \"sleep,echo,blob\", --blob-tool]\n"
          . "  other:\n    command: [perl, $SERVER, --tools, \"echo,fail\"]\n";
my $http = "    hangar_zone hangar 1m;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
         . "    hangar_state \$TEST_NGINX_STATE_DIR;\n";
my $locations = "location /api/ { hangar_api; }\n"
              . "location = /mcp { hangar_mcp; hangar_mcp_control_tools on; }\n"
              . "location = /mcp-plain { hangar_mcp; }\n";

my $timeout = Hangar::Test::valgrind_on() ? 120 : 30;
nginx_start({ workers => 2, http_config => $http, config => $locations,
              timeout => $timeout, user_files => $fleet });

sub state_of {
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$_[0]");
    return (eval { $json->decode($b) } // {})->{state} // '';
}

my $sid = session('/mcp');
ok($sid, 'a session');

# ---- hangar_list, hangar_status ------------------------------------------------

my ($out, $res) = tool($sid, 'hangar_list');
is_deeply([map { $_->{mcp_server_id} } @{ $out->{mcp_servers} || [] }], [qw(math slow other)],
          'hangar_list: the servers, key mcp_server_id');
is_deeply([@$out{qw(groups runtime_mcp_servers)}], [[], []], 'hangar_list: groups and runtime lists (none yet)');
is($out->{mcp_servers}[0]{description}, 'Math', 'hangar_list: the REST summary (description)');
is($out->{mcp_servers}[0]{state}, 'cold', 'hangar_list: state cold');
is_deeply($json->decode($res->{content}[0]{text}), $out, 'the text content is the same JSON');
ok(!$res->{isError}, 'not an error');

($out) = tool($sid, 'hangar_status');
is_deeply([map { "$_->{id} $_->{indicator} $_->{state}" } @{ $out->{mcp_servers} }],
          ['math [COLD] cold', 'slow [COLD] cold', 'other [COLD] cold'], 'hangar_status: indicators');
is($out->{mcp_servers}[0]{note}, 'Will start on first request', 'hangar_status: a cold server\'s note');
is($out->{summary}{total_mcp_servers}, 3, 'hangar_status: summary total');
is($out->{summary}{healthy_mcp_servers}, 0, 'hangar_status: summary healthy');
like($out->{summary}{uptime}, qr/^\d+h \d+m$/, 'hangar_status: uptime "Nh Mm"');
like($out->{formatted}, qr/\[COLD\] math \(subprocess\)/, 'hangar_status: formatted text');

# ---- tools/list -------------------------------------------------------------

my (undef, undef, $list) = rpc('/mcp', $sid, 'tools/list');
my %listed = map { $_->{name} => $_ } @{ $list->{result}{tools} || [] };
is(join(',', grep { /^hangar_/ } sort keys %listed),
   'hangar_call,hangar_details,hangar_group_list,hangar_group_rebalance,'
   . 'hangar_health,hangar_list,hangar_metrics,hangar_start,hangar_status,'
   . 'hangar_stop,hangar_tools,hangar_warm',
   'tools/list: the control-plane tools (auth off: all of them)');
is($listed{hangar_start}{inputSchema}{type}, 'object', 'each with an object inputSchema');
is_deeply($listed{hangar_start}{inputSchema}{required}, ['mcp_server'], 'hangar_start needs mcp_server');
is_deeply($listed{hangar_call}{inputSchema}{required}, ['calls'], 'hangar_call needs calls');

# the first list warms the fleet: wait for it, then stop all
for (1 .. 200) {
    last unless grep { state_of($_) eq 'initializing' } qw(math slow other);
    select undef, undef, undef, 0.05;
}
http_request(POST => "/api/mcp_servers/$_/stop") for qw(math slow other);
is(join(',', map { state_of($_) } qw(math slow other)), 'cold,cold,cold', 'the fleet is cold again');

# ---- hangar_start, hangar_stop ---------------------------------------------------

($out, $res) = tool($sid, 'hangar_start', { mcp_server => 'math' });
is($out->{mcp_server}, 'math', 'hangar_start: mcp_server');
is($out->{state}, 'ready', 'hangar_start: ready');
ok((grep { $_ eq 'add' } @{ $out->{tools} || [] }), 'hangar_start: tool names');
is(state_of('math'), 'ready', 'the REST API sees it ready');

($out) = tool($sid, 'hangar_list', { state_filter => 'ready' });
is_deeply([map { $_->{mcp_server_id} } @{ $out->{mcp_servers} }], ['math'], 'hangar_list: state_filter');

($out) = tool($sid, 'hangar_stop', { mcp_server => 'math' });
is_deeply($out, { stopped => 'math', reason => 'user_request' }, 'hangar_stop: its answer');
is(state_of('math'), 'cold', 'the REST API sees it cold');

($out, $res) = tool($sid, 'hangar_start', { mcp_server => 'nope' });
is_deeply($out, { error => 'unknown_mcp_server: nope', type => 'ValueError', details => {} },
          'an unknown server: the error as a normal result');
ok(!$res->{isError}, '... not isError');

(undef, $res) = tool($sid, 'hangar_start', { mcp_server => '9bad' });
ok($res->{isError}, 'a bad server id: a tool error');
like($res->{content}[0]{text}, qr/mcp_server must match/, '... that says why');
(undef, $res) = tool($sid, 'hangar_stop', {});
ok($res->{isError}, 'no mcp_server: a tool error');
like($res->{content}[0]{text}, qr/mcp_server is required/, '... that says why');

# ---- hangar_tools, hangar_details -------------------------------------------------

($out) = tool($sid, 'hangar_tools', { mcp_server => 'other' });
is($out->{mcp_server}, 'other', 'hangar_tools: mcp_server');
is($out->{state}, 'ready', 'hangar_tools: started it');
is($out->{predefined}, JSON::PP::false, 'hangar_tools: predefined false');
is_deeply(names($out->{tools}), [qw(echo fail)], 'hangar_tools: tool objects');
ok($out->{tools}[0]{inputSchema}, '... with their schemas');

($out) = tool($sid, 'hangar_details', { mcp_server => 'other' });
is($out->{mcp_server_id}, 'other', 'hangar_details: key mcp_server_id');
is($out->{state}, 'ready', 'hangar_details: state');
ok(exists $out->{health}{success_rate}, 'hangar_details: health');
is_deeply(names($out->{tools}), [qw(echo fail)], 'hangar_details: tools');
is_deeply($out->{tools_policy}, { active => JSON::PP::false, unrestricted => JSON::PP::true },
          'hangar_details: tools_policy');

# ---- hangar_warm -------------------------------------------------------------

($out) = tool($sid, 'hangar_warm', { mcp_servers => 'math, nope' });
is_deeply($out->{warmed}, ['math'], 'hangar_warm: warmed');
is_deeply($out->{already_warm}, [], 'hangar_warm: none already warm');
is($out->{failed}[0]{id}, 'nope', 'hangar_warm: the unknown one failed');
is($out->{summary}, 'Warmed 1 mcp_servers, 0 already warm, 1 failed', 'hangar_warm: summary');
($out) = tool($sid, 'hangar_warm', { mcp_servers => undef });
is_deeply([sort @{ $out->{already_warm} }], [qw(math other)], 'hangar_warm all: already warm');
is_deeply($out->{warmed}, ['slow'], 'hangar_warm all: warmed the rest');

($out) = tool($sid, 'hangar_details', { mcp_server => 'math' });
is_deeply($out->{tools_policy}, { active => JSON::PP::true, unrestricted => JSON::PP::false,
                                  has_allow_list => JSON::PP::false, has_deny_list => JSON::PP::true,
                                  filtered_count => 1 },
          'hangar_details: a deny_list in tools_policy');
ok(!(grep { $_->{name} eq 'crash' } @{ $out->{tools} }) && (grep { $_->{name} eq 'add' } @{ $out->{tools} }),
   'hangar_details: the tools it denies are not shown');
($out) = tool($sid, 'hangar_tools', { mcp_server => 'math' });
ok(!(grep { $_->{name} eq 'crash' } @{ $out->{tools} }), 'hangar_tools: nor here');

# ---- hangar_health, hangar_metrics ----------------------------------------------

($out) = tool($sid, 'hangar_health');
is($out->{status}, 'healthy', 'hangar_health: status');
is($out->{mcp_servers}{total}, 3, 'hangar_health: total');
is($out->{mcp_servers}{by_state}{ready}, 3, 'hangar_health: by_state');
is($out->{groups}{total}, 0, 'hangar_health: groups');
ok(exists $out->{security}{rate_limiting}{active_buckets}, 'hangar_health: rate_limiting');

($out) = tool($sid, 'hangar_metrics');
is($out->{mcp_servers}{math}{state}, 'ready', 'hangar_metrics json: per server');
is($out->{mcp_servers}{math}{mode}, 'subprocess', '... mode');
is($out->{summary}{total_mcp_servers}, 3, 'hangar_metrics json: summary');
($out) = tool($sid, 'hangar_metrics', { format => 'prometheus' });
like($out->{metrics}, qr/^mcp_hangar_mcp_server_up\{mcp_server="math"\} 1\.0$/m,
     'hangar_metrics prometheus: the /metrics text');
($out) = tool($sid, 'hangar_metrics', { format => 'xml' });
is($out->{type}, 'ValueError', 'hangar_metrics: a bad format');

# ---- hangar_call ------------------------------------------------------------------

($out, $res) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'math', tool => 'add', arguments => { a => 2, b => 3 } },
    { mcp_server => 'other', tool => 'echo', arguments => { text => 'hi' } },
    { mcp_server => 'other', tool => 'fail', arguments => { message => 'no way' } },
] });
like($out->{batch_id} // '', $UUID, 'hangar_call: batch_id is a uuid');
is_deeply([@$out{qw(success total succeeded failed)}], [JSON::PP::false, 3, 2, 1],
          'hangar_call: 3 calls, one failing');
like($json->encode($out->{elapsed_ms}), qr/\./, 'hangar_call: elapsed_ms is a float');
my @r = @{ $out->{results} || [] };
is_deeply([map { $_->{index} } @r], [0, 1, 2], 'results in order');
is($r[0]{result}{content}[0]{text}, '5', 'the first result verbatim');
is($r[0]{result}{structuredContent}{sum}, 5, '... structuredContent too');
ok($r[0]{success} && !defined $r[0]{error} && !defined $r[0]{error_type}, '... a success');
like($r[0]{call_id} // '', $UUID, 'call_id is a uuid');
isnt($r[0]{call_id}, $r[1]{call_id}, 'one per call');
is($r[1]{result}{content}[0]{text}, 'hi', 'the second');
is($r[2]{success}, JSON::PP::false, 'the third failed');
is($r[2]{error}, 'tool_error: no way', '... error tool_error: <text>');
is($r[2]{error_type}, 'ToolInvocationError', '... ToolInvocationError');
is($r[2]{result}, undef, '... result null');
like($json->encode($r[2]{elapsed_ms}), qr/\./, 'a call\'s elapsed_ms is a float');

($out) = tool($sid, 'hangar_call', { calls => [] });
is_deeply([@$out{qw(success total results)}], [JSON::PP::true, 0, []], 'no calls: success, nothing');

($out, $res) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'math', tool => 'add', arguments => { a => 1, b => 1 } },
    { mcp_server => 'ghost', tool => 'add', arguments => {} },
    { mcp_server => 'other', tool => 'add', arguments => {} },
    { mcp_server => 'math', tool => 'add' },
    { mcp_server => '', tool => 'add', arguments => {}, timeout => -1 },
    'not an object',
] });
is($out->{success}, JSON::PP::false, 'validation: success false');
is($out->{error}, 'Validation failed', 'validation: "Validation failed"');
like($out->{batch_id} // '', $UUID, 'validation: a batch_id');
is_deeply([map { "$_->{index} $_->{field}" } @{ $out->{validation_errors} || [] }],
          ['1 mcp_server', '2 tool', '3 arguments', '4 mcp_server', '4 timeout', '5 '],
          'validation: every error of every call, by index and field');
is($out->{validation_errors}[0]{message}, "McpServer 'ghost' not found", 'validation: unknown server message');
is($out->{validation_errors}[1]{message}, "Tool 'add' not found on mcp_server 'other'",
   'validation: unknown tool of a known catalog');
ok(!exists $out->{results}, 'validation: nothing ran (all or nothing)');

($out) = tool($sid, 'hangar_call', { calls => [ map {
    { mcp_server => 'math', tool => 'add', arguments => { a => 1, b => 1 } } } 1 .. 101 ] });
is_deeply($out->{validation_errors},
          [{ index => -1, field => 'calls', message => 'Batch size 101 exceeds maximum 100' }],
          'validation: more than 100 calls');

# fail_fast: the failure cancels the rest
($out) = tool($sid, 'hangar_call', { fail_fast => JSON::PP::true, max_concurrency => 1, calls => [
    { mcp_server => 'other', tool => 'fail', arguments => { message => 'first' } },
    { mcp_server => 'slow', tool => 'echo', arguments => { text => 'never' } },
] });
is($out->{results}[0]{error}, 'tool_error: first', 'fail_fast: the first fails');
is($out->{results}[1]{error}, 'Cancelled', 'fail_fast: the rest is Cancelled');
is($out->{results}[1]{error_type}, 'CancellationError', '... CancellationError');
is($out->{failed}, 2, 'fail_fast: both count as failed');

# fail_fast: a call in flight is cancelled too
($out) = tool($sid, 'hangar_call', { fail_fast => JSON::PP::true, calls => [
    { mcp_server => 'slow', tool => 'sleep', arguments => { ms => 8000 } },
    { mcp_server => 'other', tool => 'fail', arguments => { message => 'second' } },
] });
is($out->{results}[0]{error}, 'Cancelled', 'fail_fast: the call in flight is Cancelled');
is($out->{results}[1]{error}, 'tool_error: second', '... by the failure');

# a server whose tools are not known yet is started, then its tool checked
my ($cst) = http_request(POST => '/api/mcp_servers', $json->encode(
    { mcp_server_id => 'fresh', mode => 'subprocess',
      command => ['perl', $SERVER, '--tools', 'echo'] }), { 'Content-Type' => 'application/json' });
is($cst, 201, 'a new server, never started');
($out) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'fresh', tool => 'echo', arguments => { text => 'lazy' } },
    { mcp_server => 'fresh', tool => 'nope', arguments => {} } ] });
is($out->{results}[0]{result}{content}[0]{text}, 'lazy', 'hangar_call starts it (lazy start)');
is($out->{results}[1]{error_type}, 'ToolNotFoundError', 'a tool it does not have: ToolNotFoundError');
is(state_of('fresh'), 'ready', 'it is ready');

# the budget: a slow call is cut off, the quick one is kept
($out) = tool($sid, 'hangar_call', { timeout => 1, calls => [
    { mcp_server => 'slow', tool => 'sleep', arguments => { ms => 8000 } },
    { mcp_server => 'slow', tool => 'echo', arguments => { text => 'quick' } },
] });
is($out->{results}[0]{error}, 'Timeout', 'the budget: the slow call times out');
is($out->{results}[0]{error_type}, 'TimeoutError', '... TimeoutError');
is($out->{results}[1]{result}{content}[0]{text}, 'quick', 'the budget: the quick one answered');

# a result over 10 MiB is left out
($out) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'slow', tool => 'blob', arguments => { bytes => 11 * 1024 * 1024 } },
    { mcp_server => 'slow', tool => 'blob', arguments => { bytes => 10 } } ] });
my $big = $out->{results}[0] // {};
is_deeply([@$big{qw(success result truncated truncated_reason)}],
          [JSON::PP::true, undef, JSON::PP::true, 'response_size_exceeded'],
          'a result over 10 MiB: result null, truncated');
ok(($big->{original_size_bytes} // 0) > 11 * 1024 * 1024, '... with its original size');
is($out->{results}[1]{result}{content}[0]{text}, 'x' x 10, 'a small one is kept');
ok(!exists $out->{results}[1]{truncated}, '... and not marked');

# a call's own timeout
($out) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'slow', tool => 'sleep', arguments => { ms => 8000 }, timeout => 0.5 },
] });
like($out->{results}[0]{error}, qr/timed out after 0\.5s/, 'a call\'s timeout');
is($out->{results}[0]{error_type}, 'TimeoutError', '... TimeoutError');

# max_attempts: math's flaky fails twice with "transient failure <i>"
($out) = tool($sid, 'hangar_call', { calls => [
    { mcp_server => 'math', tool => 'flaky', arguments => {} } ] });
is($out->{results}[0]{error}, 'tool_error: transient failure 1', 'max_attempts 1: no retry');
ok(!exists $out->{results}[0]{retry_metadata}, '... and no retry_metadata');
($out) = tool($sid, 'hangar_call', { max_attempts => 3, calls => [
    { mcp_server => 'math', tool => 'flaky', arguments => {} },
    { mcp_server => 'other', tool => 'fail', arguments => { message => 'permanent' } } ] });
is($out->{results}[0]{result}{content}[0]{text}, 'ok after 2 failures',
   'max_attempts 3: the transient error is tried again');
is($out->{results}[0]{retry_metadata}{attempts}, 2, '... in 2 attempts');
is_deeply($out->{results}[0]{retry_metadata}{retries}, ['ToolInvocationError'], '... retries: the error types');
is($out->{results}[1]{retry_metadata}{attempts}, 1, 'a tool error that is not transient is not retried');

# ---- the directive off --------------------------------------------------------

my $plain = session('/mcp-plain');
(undef, undef, $list) = rpc('/mcp-plain', $plain, 'tools/list');
ok(!(grep { $_->{name} =~ /^hangar_/ } @{ $list->{result}{tools} || [] }),
   'directive off: no hangar_* tools listed');
ok((grep { $_->{name} eq 'add' } @{ $list->{result}{tools} || [] }), '... the fleet\'s are');
my (undef, undef, $err) = tool($plain, 'hangar_list', {}, undef, '/mcp-plain');
is($err->{error}{code}, -32601, 'directive off: hangar_list is -32601');
like($err->{error}{message}, qr/Unknown tool: hangar_list/, '... not found');

# ---- the official SDK client ------------------------------------------------------

{
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my $calls = $json->encode([{ name => 'hangar_list', arguments => {} }]);
    my @lines = map { eval { $json->decode($_) } // { raw => $_ } }
                `$NODE $REPO/t/servers/sdk-client.mjs $url '$calls' 2>&1`;
    my ($call) = grep { ($_->{call} // '') eq 'hangar_list' } @lines;
    is_deeply([map { $_->{mcp_server_id} } @{ $call->{result}{structuredContent}{mcp_servers} || [] }],
              [qw(math slow other fresh)], 'the SDK client calls hangar_list')
        or diag(join "\n", map { $json->encode($_) } @lines);
    ok((grep { $_ eq 'hangar_call' } @{ $lines[1]{tools} || [] }), 'and lists the tools');
}

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();

# ---- hangar_call through the approval gate ------------------------------------

nginx_start({ workers => 2, http_config => $http, config => $locations, timeout => $timeout,
              user_files => ">>> conf/hangar.yaml\nmcp_servers:\n"
                  . "  gated:\n    command: [perl, $SERVER, --tools, \"echo,sleep\"]\n"
                  . "    tools: {approval_list: [echo], approval_timeout_seconds: 300}\n" });
http_request(POST => '/api/mcp_servers/gated/start');
$sid = session('/mcp');

# the batch waits on its own connection while the call is held
my $held = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port(), Timeout => 10)
    or die "connect: $!";
my $body = $json->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call', params => {
    name => 'hangar_call', arguments => { calls => [
        { mcp_server => 'gated', tool => 'echo', arguments => { text => 'approved' } },
        { mcp_server => 'gated', tool => 'sleep', arguments => { ms => 1 } } ] } } });
syswrite($held, "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
         . "Accept: application/json, text/event-stream\r\nMcp-Session-Id: $sid\r\n"
         . "Content-Length: " . length($body) . "\r\n\r\n$body");
my $pending;
for (1 .. 200) {
    my (undef, undef, $b) = http_request(GET => '/api/approvals');
    ($pending) = grep { $_->{tool_name} eq 'echo' && $_->{state} eq 'pending' }
                 @{ (eval { $json->decode($b) }) // [] };
    last if $pending;
    select undef, undef, undef, 0.05;
}
ok($pending, 'hangar_call: an approval-listed tool is held for approval');
my ($ast) = http_request(POST => "/api/approvals/$pending->{approval_id}/resolve",
                         '{"decision":"approve"}', { 'Content-Type' => 'application/json' });
is($ast, 200, 'approved');
my ($buf, $sel) = ('', IO::Select->new($held));
my @resp;
while ($sel->can_read($timeout)) {
    sysread($held, $buf, 65536, length $buf) or last;
    last if @resp = Hangar::Test::parse_response($buf, 0, 0);
}
my $doc = eval { $json->decode($resp[2] // '') } // {};
my $bo = $doc->{result}{structuredContent} // {};
is($bo->{results}[0]{result}{content}[0]{text}, 'approved', 'then the held call runs');
is($bo->{results}[1]{result}{content}[0]{text}, 'slept 1', 'the other call was not held');
close $held;

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();

# ---- auth on: the permission table of §7.5 ---------------------------------------

my %key = map { $_ => "mcp_test_${_}_" . ('k' x 24) } qw(viewer service developer);
nginx_start({ workers => 2, http_config => $http, config => $locations,
              timeout => $timeout, user_files => $fleet . "auth:\n  enabled: true\n  api_keys:\n"
                  . join('', map { "    - {name: $_, principal_id: \"svc:$_\", key: \"$key{$_}\"}\n" }
                             sort keys %key)
                  . "  role_assignments:\n"
                  . "    - {principal: \"svc:viewer\", role: viewer}\n"
                  . "    - {principal: \"svc:service\", role: service-account}\n"
                  . "    - {principal: \"svc:developer\", role: developer}\n"
                  . "rate_limit:\n  tools: {rps: 0.001, burst: 3}\n" });

my %as = map { $_ => { 'X-API-Key' => $key{$_} } } keys %key;
my %sid = map { $_ => session('/mcp', $as{$_}) } keys %key;
ok($sid{viewer} && $sid{service} && $sid{developer}, 'auth on: sessions for three keys');

(undef, $res) = tool($sid{viewer}, 'hangar_start', { mcp_server => 'math' }, $as{viewer});
ok($res->{isError}, 'viewer: hangar_start is a tool error');
is($res->{content}[0]{text},
   "Not authorized to call 'hangar_start': mcp_servers:lifecycle permission required",
   '... with the message of §7.5');
is(state_of_auth('math'), 'cold', '... and nothing started');
my %seen;
for my $who (keys %key) {
    (undef, undef, $list) = rpc('/mcp', $sid{$who}, 'tools/list', {}, $as{$who});
    $seen{$who} = join ',', sort grep { /^hangar_/ } map { $_->{name} } @{ $list->{result}{tools} || [] };
}
is($seen{viewer}, 'hangar_details,hangar_group_list,hangar_health,hangar_list,hangar_metrics,'
   . 'hangar_status,hangar_tools', 'viewer: the read tools, metrics and hangar_group_list are listed');
is($seen{service}, 'hangar_call', 'service-account: only hangar_call');
is($seen{developer}, 'hangar_call,hangar_details,hangar_group_list,hangar_health,hangar_list,'
   . 'hangar_start,hangar_status,hangar_stop,hangar_tools,hangar_warm',
   'developer: no hangar_metrics, no hangar_group_rebalance');

(undef, $res) = tool($sid{service}, 'hangar_list', {}, $as{service});
is($res->{content}[0]{text}, "Not authorized to call 'hangar_list': mcp_servers:read permission required",
   'service-account: hangar_list refused');
(undef, $res) = tool($sid{developer}, 'hangar_metrics', {}, $as{developer});
is($res->{content}[0]{text}, "Not authorized to call 'hangar_metrics': metrics:read permission required",
   'developer: hangar_metrics refused');
($out) = tool($sid{viewer}, 'hangar_list', {}, $as{viewer});
is(scalar @{ $out->{mcp_servers} || [] }, 3, 'viewer: hangar_list answers');

($out) = tool($sid{viewer}, 'hangar_call', { calls => [
    { mcp_server => 'math', tool => 'add', arguments => { a => 1, b => 2 } } ] }, $as{viewer});
is($out->{results}[0]{error_type}, 'AuthorizationDenied', 'viewer: hangar_call\'s call denied (tool:invoke)');
like($out->{results}[0]{error}, qr/tool:invoke permission required/, '... saying why');
($out) = tool($sid{service}, 'hangar_call', { calls => [
    { mcp_server => 'math', tool => 'add', arguments => { a => 1, b => 2 } } ] }, $as{service});
is($out->{results}[0]{result}{content}[0]{text}, '3', 'service-account: hangar_call runs the call');

# the rate limit comes first: a bucket per principal and tool
my @health = map { (tool($sid{viewer}, 'hangar_health', {}, $as{viewer}))[1] } 1 .. 4;
is(join(',', map { $_->{isError} ? 'refused' : 'ok' } @health), 'ok,ok,ok,refused',
   'rate limit: the burst (3) of hangar_health passes, then a tool error');
like($health[3]{content}[0]{text}, qr/^Rate limit exceeded: .*retry in \d+s$/, '... saying so');
($out) = tool($sid{developer}, 'hangar_health', {}, $as{developer});
is($out->{status}, 'healthy', '... another principal has its own bucket');

sub state_of_auth {
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$_[0]", undef,
                                         { 'X-API-Key' => $key{developer} });
    return (eval { $json->decode($b) } // {})->{state} // '';
}

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('control tools') if Hangar::Test::valgrind_on();
Test::More::done_testing();
