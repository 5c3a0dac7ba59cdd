# PATCH/PUT of a running server: a change to what the process runs with
# (env, command, ...) restarts it with the new spec; a change to a field
# read at call time (description, tools, timeouts) applies at once and
# leaves the process alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Time::HiRes qw(sleep time);

my $SERVER = "$FindBin::Bin/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body);
    return ($st, eval { $json->decode($b) } // {}, $b);
}

sub alive ($) {
    my $pid = shift or return 0;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    return scalar(<$fh>) !~ /\) Z /;
}

sub wait_for ($$) {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

my %h = ('Content-Type' => 'application/json',
         Accept => 'application/json, text/event-stream');
my $sid;

# a tools/call through the front door: the text of the result
sub call ($$) {
    my ($tool, $args) = @_;
    if (!$sid) {
        my (undef, $hd) = http_request(POST => '/mcp',
            '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}', \%h);
        $sid = $hd->{'mcp-session-id'};
    }
    my $body = $json->encode({ jsonrpc => '2.0', id => 2, method => 'tools/call',
                               params => { name => $tool, arguments => $args } });
    my (undef, undef, $b) = http_request(POST => '/mcp', $body,
                                         { %h, 'Mcp-Session-Id' => $sid });
    my $doc = eval { $json->decode($b) } // {};
    return $doc->{result}{content}[0]{text};
}

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "execution: {allowed_commands: [perl]}\n"
                 . "mcp_servers:\n"
                 . "  echoer:\n    command: [perl, $SERVER]\n"
                 . "    env: {GREETING: one}\n",
});

my ($st, $doc) = api(POST => '/api/mcp_servers/echoer/start');
is($st, 200, 'started');
($st, $doc) = api(GET => '/api/mcp_servers/echoer');
my $pid = $doc->{meta}{server_pid};
ok(alive($pid), "the server runs (pid $pid)");
is(call('env', { name => 'GREETING' }), 'one', 'the server sees GREETING=one');

# a call-time field: applied at once, same process
($st) = api(PATCH => '/api/mcp_servers/echoer', '{"description":"new words","idle_ttl_s":900}');
is($st, 200, 'description patched');
($st, $doc) = api(GET => '/api/mcp_servers/echoer');
is($doc->{description}, 'new words', 'the new description is served at once');
is($doc->{state}, 'ready', 'still ready');
is($doc->{meta}{server_pid}, $pid, 'same process');
ok(alive($pid), 'the process was not touched');

# what the process runs with: restarted with the new spec
($st) = api(PATCH => '/api/mcp_servers/echoer', '{"env":{"GREETING":"two"}}');
is($st, 200, 'env patched');
ok(wait_for(sub { !alive($pid) }, 5), 'the old process is gone');
is(call('env', { name => 'GREETING' }), 'two', 'the new env is visible to the server');
($st, $doc) = api(GET => '/api/mcp_servers/echoer');
my $pid2 = $doc->{meta}{server_pid};
ok($pid2 && $pid2 != $pid && alive($pid2), "a new process runs ($pid2)");

# PUT behaves the same
($st) = api(PUT => '/api/mcp_servers/echoer',
            qq({"command":["perl","$SERVER","--name","renamed"]}));
is($st, 200, 'command replaced');
ok(wait_for(sub { !alive($pid2) }, 5), 'the process of the old command is gone');
is(call('env', { name => 'GREETING' }), 'two', 'a call starts the new command');

is(nginx_stop(), '', 'nginx stopped');
no_alerts();
no_orphans();
Test::More::done_testing();
