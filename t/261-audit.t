# The audit log (hangar_audit_log): one JSON line per front-door tool call
# and per change made through the API, written like nginx's access log:
# "nginx -s reopen" after moving the file sends the next lines to a new
# one; a buffer is flushed by its timer and when nginx stops.
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

sub lines ($) {
    my $f = servroot() . "/logs/$_[0]";
    open my $fh, '<', $f or return ();
    return map { $json->decode($_) } grep { /\S/ } <$fh>;
}

sub wait_lines ($$) {
    my ($file, $n) = @_;
    for (1 .. (Hangar::Test::valgrind_on() ? 600 : 100)) {
        my @l = lines($file);
        return @l if @l >= $n;
        Time::HiRes::sleep(0.1);
    }
    return lines($file);
}

sub mcp ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $body, \%h);
    return ($st, $hd, eval { $json->decode($b) } // $b);
}

sub session () {
    my (undef, $h) = mcp('{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                         . '{"protocolVersion":"2025-06-18","capabilities":{},'
                         . '"clientInfo":{"name":"t","version":"1"}}}');
    return $h->{'mcp-session-id'};
}

sub call ($$$) {
    my ($sid, $tool, $args) = @_;
    my ($st, undef, $b) = mcp($json->encode({ jsonrpc => '2.0', id => 7,
        method => 'tools/call', params => { name => $tool, arguments => $args } }), $sid);
    return ($st, $b);
}

sub conf ($) {
    my ($audit) = @_;
    return {
        workers     => 2,
        timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_mcp_naming prefixed;\n"
                     . "    hangar_audit_log $audit;\n",
        config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n"
                     . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                     . "  math:\n    command: [perl, $SERVER, --name, math]\n",
    };
}

# -- unbuffered: a line per API change and per tool call ---------------------
nginx_start(conf('logs/audit.log'));

my ($st) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"a1","mode":"subprocess","command":["node"]}');
is($st, 201, 'create a1');
($st) = http_request(PATCH => '/api/mcp_servers/a1', '{"description":"x"}');
is($st, 200, 'update a1');
($st) = http_request(POST => '/api/mcp_servers', '{"mcp_server_id":"bad id!"}');
is($st, 422, 'a refused create');
($st) = http_request(GET => '/api/mcp_servers/a1');
is($st, 200, 'a read');
($st) = http_request(DELETE => '/api/mcp_servers/a1');
is($st, 200, 'delete a1');

my @l = wait_lines('audit.log', 4);
is(scalar @l, 4, 'four API lines: reads are not changes') or Test::More::diag(Test::More::explain(\@l));
# each worker writes its line after its answer: two may swap places
is(join(' ', sort map { "$_->{method}:$_->{status}:" . ($_->{resource} // 'null') } @l),
   'DELETE:200:a1 PATCH:200:a1 POST:201:a1 POST:422:bad id!',
   'method, status and resource of each change');
my ($first) = grep { $_->{method} eq 'POST' && $_->{status} == 201 } @l;
is($first->{kind}, 'api', 'kind api');
is($first->{path}, '/api/mcp_servers', 'the path');
like($l[0]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'an ISO 8601 time');
ok(exists $l[0]{principal} && !defined $l[0]{principal},
   'principal null when auth is off');

($st) = http_request(POST => '/api/mcp_servers/math/start');
is($st, 200, 'math started: its tools are known');
my $sid = session();
ok($sid, 'a front-door session');
my ($cst, $res) = call($sid, 'math__echo', { text => 'secret-argument' });
is($cst, 200, 'tools/call echo');
call($sid, 'math__fail', { message => 'no' });
call($sid, 'math__error', { code => -32001, message => 'boom' });

@l = grep { $_->{kind} eq 'tool_call' } wait_lines('audit.log', 8);
is(scalar @l, 3, 'three tool-call lines');
is(join(' ', map { "$_->{server}:$_->{tool}:$_->{outcome}" }
            sort { $a->{tool} cmp $b->{tool} } @l),
   'math:echo:ok math:error:error math:fail:tool_error',
   'server, tool and outcome of each call');
ok(!(grep { !($_->{duration_ms} >= 0 && $_->{request_bytes} > 0
              && $_->{response_bytes} > 0) } @l), 'duration and sizes');
ok(!(grep { exists $_->{arguments} } @l), 'no arguments unless asked');
unlike(Hangar::Test::slurp(servroot() . '/logs/audit.log'), qr/secret-argument/,
       'the arguments are nowhere in the log');

# -- the pass-through: a line per POST to one server --------------------------
my ($pst) = http_request(POST => '/mcp/math',
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
    . '"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}',
    { 'Content-Type' => 'application/json',
      'Accept' => 'application/json, text/event-stream' });
is($pst, 200, 'initialize through hangar_pass');
my ($pl) = grep { $_->{kind} eq 'pass' } wait_lines('audit.log', 9);
is($pl->{server}, 'math', 'a pass line names the server');
is($pl->{status}, 200, 'and the status');
ok($pl->{response_bytes} > 0 && $pl->{request_bytes} > 0, 'and the sizes');

# -- nginx -s reopen after moving the file -----------------------------------
my $dir = servroot() . '/logs';
rename "$dir/audit.log", "$dir/audit.log.1" or die "rename: $!";
http_request(POST => '/api/mcp_servers/math/stop');
is(scalar(wait_lines('audit.log.1', 10)), 10,
   'before the reopen: lines go to the moved file');
kill 'USR1', master_pid();
my (@new, $made);
for (1 .. 50) {
    Time::HiRes::sleep(0.1);
    my ($cs) = http_request(POST => '/api/mcp_servers',
                 qq({"mcp_server_id":"r$_","mode":"subprocess","command":["node"]}));
    $made++ if $cs == 201;
    @new = lines('audit.log');
    last if @new;
}
# the line is written in the log phase, after the answer: let it land
@new = wait_lines('audit.log', $made);
ok(@new >= 1, 'after "nginx -s reopen", the next lines are in a new file');
like($new[0]{resource} // '', qr/^r\d+$/, 'the change made after the reopen');
is(scalar(grep { ($_->{resource} // '') =~ /^r\d+$/ } lines('audit.log.1'), @new),
   $made, 'every change is in one file or the other, once');
no_alerts();
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('unbuffered audit log') if Hangar::Test::valgrind_on();

# -- buffered, arguments: flushed by the timer, at reopen and at exit --------
nginx_start(conf('logs/audit.log buffer=64k flush=300ms arguments'));
http_request(POST => '/api/mcp_servers/math/start');
$sid = session();
call($sid, 'math__echo', { text => 'hello' });
@l = grep { $_->{kind} eq 'tool_call' } wait_lines('audit.log', 2);
is(scalar @l, 1, 'a buffered line is written by the flush timer');
is_deeply($l[0]{arguments}, { text => 'hello' }, '"arguments" logs them');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('a flush timer') if Hangar::Test::valgrind_on();

nginx_start(conf('logs/audit2.log buffer=64k flush=1h'));
($st) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"q1","mode":"subprocess","command":["node"]}');
is($st, 201, 'a change with a buffer flushed hourly');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('flushed at exit') if Hangar::Test::valgrind_on();
@l = lines('audit2.log');
is(scalar(grep { ($_->{resource} // '') eq 'q1' } @l), 1,
   'nginx stopping flushes the buffer');

nginx_start(conf('logs/audit3.log buffer=64k flush=1h'));
($st) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"q2","mode":"subprocess","command":["node"]}');
rename "$dir/audit3.log", "$dir/audit3.log.1" or die "rename: $!";
kill 'USR1', master_pid();
my @old;
for (1 .. 50) {
    Time::HiRes::sleep(0.1);
    @old = lines('audit3.log.1');
    last if @old;
}
is(scalar(grep { ($_->{resource} // '') eq 'q2' } @old), 1,
   'a reopen flushes the buffer into the moved file first');
no_alerts();
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('flushed at reopen') if Hangar::Test::valgrind_on();

Test::More::done_testing();
