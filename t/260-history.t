# Tool history as hangar-core §2.13 says: a failed call's error_message is
# the message (a tool error's text, a JSON-RPC error's message), never the
# whole result; error_type tells a tool error, a JSON-RPC error (its code),
# a timeout and a crash apart; duration_ms is a float with the fraction of
# a millisecond.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

# a remote whose tool "never_ends" keeps its SSE stream open forever
pipe(my $hr, my $hw) or die "pipe: $!\n";
my $hpid = fork // die "fork: $!\n";
if (!$hpid) {
    close $hr;
    open STDOUT, '>&', $hw or POSIX::_exit(1);
    exec($^X, "$REPO/t/servers/hangar-hostile-server") or POSIX::_exit(127);
}
close $hw;
my ($hport) = (scalar(<$hr>) // '') =~ /^port (\d+)/;
close $hr;
die "the remote server did not start\n" unless $hport;
END { local $?; if ($hpid) { kill 'TERM', $hpid; waitpid $hpid, 0 } }

my $sid;

sub rpc ($$;$) {
    my ($method, $params, $id) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => $id // 1, method => $method, params => $params }), \%h);
    $sid //= $hd->{'mcp-session-id'};
    # an SSE answer: its last data line
    my @data = $b =~ /^data: (.*)$/mg;
    return eval { $json->decode(@data ? $data[-1] : $b) } // { raw => $b };
}

sub history ($) {
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$_[0]/tools/history");
    return (eval { $json->decode($b) } || {})->{history} || [];
}

nginx_start({
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  math:\n    command: [perl, $SERVER]\n"
                 . "  crashy:\n    command: [perl, $SERVER]\n"
                 . "  far:\n    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:$hport/mcp\n"
                 . "    http: {read_timeout: 3}\n",
});

http_request(POST => "/api/mcp_servers/$_/start") for qw(math crashy far);

my $init = rpc(initialize => { protocolVersion => '2025-06-18', capabilities => {},
                               clientInfo => { name => 't', version => '0' } });
ok($sid, 'a session') or diag($json->encode($init));

my $r = rpc('tools/call', { name => 'math__add', arguments => { a => 2, b => 3 } }, 2);
is($r->{result}{content}[0]{text}, '5', 'a call that works');
$r = rpc('tools/call', { name => 'math__fail', arguments => { message => 'division by zero' } }, 3);
ok($r->{result}{isError}, 'a tool error');
$r = rpc('tools/call', { name => 'math__error', arguments => { code => -32042, message => 'no such row' } }, 4);
is($r->{result}{isError} || $r->{error} ? 1 : 0, 1, 'a JSON-RPC error');
$r = rpc('tools/call', { name => 'crashy__crash', arguments => { code => 9 } }, 5);
ok($r->{result}{isError} || $r->{error}, 'a crash fails the call');
$r = rpc('tools/call', { name => 'far__never_ends', arguments => {} }, 6);
ok($r->{result}{isError} || $r->{error}, 'a call that never answers times out');

my @h = @{ history('math') };
is(scalar @h, 3, 'three records of math') or diag($json->encode(\@h));
my ($ok, $tool, $rpc) = @h;
is($ok->{event_type}, 'ToolInvocationCompleted', 'the call that worked');
ok(defined $ok->{duration_ms} && $ok->{duration_ms} > 0
   && $ok->{duration_ms} != int($ok->{duration_ms}),
   "duration_ms is a float with a fraction: $ok->{duration_ms}");

is($tool->{event_type}, 'ToolInvocationFailed', 'a tool error is a failure');
is($tool->{error_message}, 'division by zero', "a tool error's message is its text")
    or diag($json->encode($tool));
is($tool->{error_type}, 'tool_error', 'and its type tool_error');

is($rpc->{error_message}, 'no such row', "a JSON-RPC error's message")
    or diag($json->encode($rpc));
is($rpc->{error_type}, '-32042', 'and its type the code');

my ($crash) = @{ history('crashy') };
like($crash->{error_message} // '', qr/^MCP server exited with code 9/, "a crash's message")
    or diag($json->encode($crash));
is($crash->{error_type}, 'McpServerCrashedError', 'a crash is told apart');

my ($late) = @{ history('far') };
like($late->{error_message} // '', qr/timed out/, "a timeout's message")
    or diag($json->encode($late));
is($late->{error_type}, 'ToolTimeoutError', 'a timeout is told apart');
ok($late->{duration_ms} >= 2900, "it took the read_timeout: $late->{duration_ms}");

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('history') if Hangar::Test::valgrind_on();
Test::More::done_testing();
