# The MCP front door (hangar_mcp) with the official TypeScript SDK client:
# the fleet's tools in one list, calls routed to the right server (started
# on demand), signed sessions that every worker accepts, DELETE ends them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();
use IO::Select ();
use IO::Socket::INET ();

my $REPO = "$FindBin::Bin/..";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK && -f $EV;

my $json = JSON::PP->new->canonical;
my $SERVER = "$REPO/t/servers/hangar-test-server";

sub sdk ($$) {
    my ($path, $calls) = @_;
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . $path;
    my @lines = `$NODE $REPO/t/servers/sdk-client.mjs $url '@{[ $json->encode($calls) ]}' 2>&1`;
    return map { eval { $json->decode($_) } // { raw => $_ } } @lines;
}

sub raw ($$;$$) {
    my ($method, $body, $sid, $accept) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => $accept // 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request($method, '/mcp', $body, \%h);
    return ($st, $hd, eval { $json->decode($b) } // $b);
}

for my $naming (qw(auto prefixed flat)) {
    nginx_start({
        workers     => 2,
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_mcp_naming $naming;\n",
        config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                     . "  math:\n    command: [perl, $SERVER, --name, math]\n"
                     . "    tools: {deny_list: [\"crash\", \"sampl*\"]}\n"
                     . "  everything:\n    command: [$NODE, $EV, stdio]\n"
                     . "  crashy:\n    command: [perl, $SERVER, --tools, crash]\n",
    });

    # warm both once so their catalogs are known (cold servers then list)
    http_request(POST => "/api/mcp_servers/$_/start") for qw(math everything crashy);
    http_request(POST => "/api/mcp_servers/$_/stop") for qw(math everything crashy);

    my @calls = $naming eq 'prefixed'
        ? ({ name => 'math__add', arguments => { a => 2, b => 3 } },
           { name => 'everything__echo', arguments => { message => 'hi' } })
        : ({ name => 'add', arguments => { a => 2, b => 3 } },
           { name => $naming eq 'auto' ? 'everything__echo' : 'echo',
             arguments => { message => 'hi' } });
    push @calls, { name => 'nope', arguments => {} };
    push @calls, { name => $naming eq 'prefixed' ? 'math__progress' : 'progress',
                   arguments => { steps => 3, interval_ms => 150 }, progress => 1 },
                 { name => $naming eq 'prefixed' ? 'crashy__crash' : 'crash',
                   arguments => { code => 9 } };

    my @out = sdk('/mcp', \@calls);
    my ($info, $list, @res) = @out;
    my $end = pop @res;

    is($info->{server}{name}, 'mcp-hangar', "$naming: the SDK client connects")
        or diag(join '', map { $_->{raw} // $json->encode($_) } @out);
    my %names = map { $_ => 1 } @{ $list->{tools} || [] };

    if ($naming eq 'prefixed') {
        ok($names{math__add} && $names{everything__echo}, 'prefixed: <server>__<tool>');
    } elsif ($naming eq 'auto') {
        ok($names{add} && !$names{everything__add}, 'auto: unique names stay flat');
        ok($names{math__echo} && $names{everything__echo}, 'auto: a shared name is prefixed');
    } else {
        ok($names{add} && !$names{echo}, 'flat: unique names kept, a shared name dropped');
    }
    ok(!grep({ /(^|__)sample$|^math__crash$/ } keys %names)
       && 1 == grep({ /crash$/ } keys %names),
       "$naming: deny_list globs hide math's crash and sample (crashy's crash stays)");

    is($res[0]{result}{content}[0]{text}, '5', "$naming: add routed to math (started on demand)");
    if ($naming ne 'flat') {
        is($res[1]{result}{content}[0]{text}, 'Echo: hi', "$naming: echo routed to server-everything");
    } else {
        like($res[1]{error} // '', qr/Unknown tool/, 'flat: the dropped name is unknown');
    }
    like($res[2]{error} // '', qr/Unknown tool: nope/, "$naming: unknown tool is an error");
    is($res[2]{code}, -32601, "$naming: -32601");
    is($res[3]{result}{content}[0]{text}, 'done 3', "$naming: progress tool answered");
    ok(@{ $res[3]{progress} || [] } >= 2, "$naming: progress relayed on the SSE stream: "
       . join(',', @{ $res[3]{progress} || [] }));
    ok($res[4]{result}{isError}, "$naming: a crash mid-call is a tool error");
    like($res[4]{result}{content}[0]{text} // '', qr/exited with code 9/, "$naming: which says so");
    my $dead = 0;
    for (1 .. 60) {
        my (undef, undef, $cb) = http_request(GET => '/api/mcp_servers/crashy');
        $dead = 1, last if $cb =~ /"state":"dead"/;
        select undef, undef, undef, 0.05;
    }
    ok($dead, "$naming: and the server is dead at once");

    # invocation history
    my (undef, undef, $hb) = http_request(GET => '/api/mcp_servers/math/tools/history');
    my $hist = eval { $json->decode($hb) } || {};
    my @tools = map { $_->{tool_name} } @{ $hist->{history} || [] };
    is(join(',', @tools), 'add,progress', "$naming: history of math, oldest first");
    my $first = $hist->{history}[0] || {};
    ok($first->{event_type} eq 'ToolInvocationCompleted' && $first->{result_size_bytes} > 0
       && $first->{duration_ms} >= 0 && $first->{correlation_id} =~ /^[0-9a-f-]{36}$/,
       "$naming: a completed record");
    (undef, undef, $hb) = http_request(GET => '/api/mcp_servers/math/tools/history?limit=1&from_position=1');
    $hist = eval { $json->decode($hb) } || {};
    is(join(',', map { $_->{tool_name} } @{ $hist->{history} || [] }) . "/$hist->{total}",
       'progress/1', "$naming: limit and from_position");
    (undef, undef, $hb) = http_request(GET => '/api/mcp_servers/crashy/tools/history');
    like($hb, qr/"event_type":"ToolInvocationFailed".*"error_message":"MCP server exited with code 9"/,
         "$naming: a failed record");
    ok($end->{terminated}, "$naming: the session ended");

    # the ended session is refused, in any worker
    my ($st) = raw(POST => '{"jsonrpc":"2.0","id":5,"method":"ping"}', $end->{session});
    is($st, 404, "$naming: an ended session is 404");

    if ($naming eq 'auto') {
        # concurrent SDK clients, spread over both workers
        my @kids;
        for my $k (1 .. 6) {
            my $pid = fork // die;
            if (!$pid) {
                my @o = sdk('/mcp', [{ name => 'add', arguments => { a => $k, b => 100 } },
                                     { name => 'everything__echo', arguments => { message => "c$k" } }]);
                my $ok = ($o[2]{result}{content}[0]{text} // '') eq 100 + $k
                         && ($o[3]{result}{content}[0]{text} // '') eq "Echo: c$k";
                POSIX::_exit($ok ? 0 : 1);
            }
            push @kids, $pid;
        }
        my $good = 0;
        for (@kids) { waitpid $_, 0; $good++ if $? == 0 }
        is($good, 6, 'auto: 6 concurrent SDK clients each get their own answers');
    }

    is(nginx_stop(), '', "$naming: nginx stopped");
}

# protocol rules, by hand
nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; hangar_mcp_page_size 2; }\n"
                 . "location = /mcp-strict { hangar_mcp; hangar_mcp_origins https://app.example; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n  p:\n    command: [x]\n"
                 . "    tools: [{name: t1}, {name: t2}, {name: t3}, {name: t4}, {name: t5}]\n",
});

my ($st, $h, $b) = raw(POST => '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}');
is($st, 200, 'initialize');
is($b->{result}{protocolVersion}, '2025-06-18', 'a version we speak is kept');
my $sid = $h->{'mcp-session-id'};
like($sid, qr/^hs3-[0-9a-f]{26}-[0-9a-f]{32}$/, 'a signed session id');

($st, $h, $b) = raw(POST => '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}');
is($b->{result}{protocolVersion}, '2025-11-25', 'an unknown version gets our latest');

my $ok = 0;
for (1 .. 10) {
    ($st, $h, $b) = raw(POST => '{"jsonrpc":"2.0","id":2,"method":"ping"}', $sid);
    $ok++ if $st == 200 && ref $b && $b->{id} == 2;
}
is($ok, 10, 'the session works on every request, whichever worker answers');

(my $forged = $sid) =~ s/-([0-9a-f])([0-9a-f]{31})$/'-' . ($1 eq 'a' ? 'b' : 'a') . $2/e;
isnt($forged, $sid, 'a forged id differs from the real one');
($st) = raw(POST => '{"jsonrpc":"2.0","id":3,"method":"ping"}', $forged);
is($st, 404, 'a forged session id is 404');
($st) = raw(POST => '{"jsonrpc":"2.0","id":3,"method":"ping"}');
is($st, 400, 'no session id: 400');
($st) = raw(POST => '{"jsonrpc":"2.0","method":"notifications/initialized"}', $sid);
is($st, 202, 'a notification: 202');
($st, $h, $b) = raw(POST => '{"jsonrpc":"2.0","id":4,"method":"no/such/method"}', $sid);
is($b->{error}{code}, -32601, 'unknown method: -32601');
($st, $h, $b) = raw(POST => '{"jsonrpc":"2.0","id":4,', $sid);
ok($st == 400 && $b->{error}{code} == -32700, 'unparsable JSON: -32700');
($st) = raw(POST => '{"jsonrpc":"2.0","id":4,"method":"ping"}', $sid, 'application/json');
is($st, 406, 'an Accept without text/event-stream: 406');
($st) = http_request(POST => '/mcp', '{}', { 'Content-Type' => 'text/plain',
    Accept => 'application/json, text/event-stream' });
is($st, 415, 'a body that is not JSON: 415');
# pagination: 5 predefined tools of a cold server, pages of 2
my @pages;
my $cursor;
for (1 .. 5) {
    my $params = defined $cursor ? qq({"cursor":"$cursor"}) : '{}';
    ($st, $h, $b) = raw(POST => qq({"jsonrpc":"2.0","id":9,"method":"tools/list","params":$params}), $sid);
    push @pages, join ',', map { $_->{name} } @{ $b->{result}{tools} };
    $cursor = $b->{result}{nextCursor};
    last unless defined $cursor;
}
is(join('|', @pages), 't1,t2|t3,t4|t5', 'tools/list pages with nextCursor (cold server, predefined tools)');

# Origin: the local host by default, an allow-list when configured
($st) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Origin => 'http://evil.example' });
is($st, 403, 'a foreign Origin is refused (DNS rebinding)');
($st) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Origin => 'http://localhost:5173' });
is($st, 200, 'a local Origin is served');
($st) = http_request(POST => '/mcp-strict', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Origin => 'https://app.example' });
is($st, 200, 'an Origin of hangar_mcp_origins is served');
($st) = http_request(POST => '/mcp-strict', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Origin => 'http://localhost' });
is($st, 403, 'others are not, once the list is set');

# Host: the local names and server_name by default
($st) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Host => 'rebound.example' });
is($st, 403, 'a foreign Host is refused (DNS rebinding)');
($st) = http_request(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream',
      'Mcp-Session-Id' => $sid, Host => '127.0.0.1:' . port() });
is($st, 200, 'a local Host is served');

# GET: the session's stream announces catalog changes
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) or die $!;
    print $s "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
           . "Mcp-Session-Id: $sid\r\n\r\n";
    my $head = '';
    while (<$s>) { $head .= $_; last if /^\r\n$/ }
    like($head, qr{^HTTP/1.1 200.*Content-Type: text/event-stream}s, 'GET opens an SSE stream');

    my ($cst) = http_request(POST => '/api/mcp_servers',
        '{"mcp_server_id":"newcomer","mode":"subprocess","command":["node"],"tools":[{"name":"n1"}]}');
    is($cst, 201, 'the fleet changes');

    my $got = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + 5;
    while (time < $deadline && $got !~ /list_changed/) {
        last unless $sel->can_read(0.5);
        sysread($s, my $buf, 4096) or last;
        $got .= $buf;
    }
    like($got, qr{"method":"notifications/tools/list_changed"}, 'the stream says tools/list_changed');
    close $s;
}

($st) = raw(DELETE => '', $sid);
is($st, 200, 'DELETE ends the session');
($st) = raw(POST => '{"jsonrpc":"2.0","id":6,"method":"ping"}', $sid);
is($st, 404, 'then it is 404');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
