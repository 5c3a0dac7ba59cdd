# Hostile remote MCP servers: every length a peer sends is bounded (chunk
# sizes, Content-Length, header and SSE lines, JSON depth, message size),
# a response that never ends is cut by the read timeout, a peer that stops
# reading is cut by the send timeout.  Each costs the one call an isError
# result (front door) or a JSON error (REST) and a log line naming the
# server; the workers live on and the next call works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep);

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;

# a plain fork, not a pipe open: closing that would wait for the server
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
die "the hostile server did not start\n" unless $hport;

sub stop_hostile () {
    return unless $hpid;
    kill 'TERM', $hpid;
    for (1 .. 50) { last if waitpid($hpid, POSIX::WNOHANG()) != 0; sleep 0.1 }
    kill 'KILL', $hpid;
    waitpid $hpid, 0;
    $hpid = undef;
}

END { stop_hostile() }

# valgrind makes nginx far slower: the timeouts grow with it
my $K = Hangar::Test::valgrind_on() ? 5 : 1;
my $remote = sub {
    my ($path) = @_;
    return "    mode: remote\n    endpoint: http://127.0.0.1:$hport$path\n"
         . "    http: {read_timeout: @{[ 2 * $K ]}, connect_timeout: @{[ 2 * $K ]}}\n";
};

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; hangar_body_limit 8m; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  hostile:\n" . $remote->('/mcp')
                 . "  badinit:\n" . $remote->('/chunk_overflow/mcp')
                 . "  badinit2:\n" . $remote->('/huge_sse_line/mcp'),
});

# the front door lists the tools of servers it has seen once
my ($st, $hd, $b) = http_request(POST => '/api/mcp_servers/hostile/start');
is($st, 200, 'the hostile server starts (it answers initialize well)') or diag($b);

my @workers = Hangar::Test::worker_pids(master_pid());
is(scalar @workers, 2, 'two workers');

sub rpc ($;$$) {
    my ($body, $sid, $accept) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => $accept // 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode($body), \%h);
    # an SSE answer: the last data line is the response
    if (($hd->{'content-type'} // '') =~ /event-stream/) {
        my @d = $b =~ /^data: ?(.*)$/mg;
        $b = $d[-1] // '';
    }
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

($st, $hd, my $init) = rpc({ jsonrpc => '2.0', id => 1, method => 'initialize',
                             params => { protocolVersion => '2025-06-18', capabilities => {},
                                         clientInfo => { name => 't', version => '0' } } });
my $sid = $hd->{'mcp-session-id'};
ok($sid, 'a front-door session') or diag("$st " . $json->encode($init));

my $id = 10;
sub call ($;$$) {
    my ($tool, $progress, $args) = @_;
    my $params = { name => "hostile__$tool", arguments => $args // { text => 'hi' } };
    $params->{_meta} = { progressToken => "p$id" } if $progress;
    my ($st, $hd, $r) = rpc({ jsonrpc => '2.0', id => ++$id, method => 'tools/call',
                              params => $params }, $sid);
    return ($st, $r);
}

($st, my $r) = call('echo');
is($r->{result}{content}[0]{text}, 'echo: hi', 'the hostile server answers a normal call')
    or diag("$st " . $json->encode($r));

my @cases = (
    [chunk_overflow      => 'a chunk size of ffffffffffffffff0 in an SSE body'],
    [chunk_overflow_json => 'a chunk size of ffffffffffffffff0 in a JSON body'],
    [chunk_huge          => 'a chunk size of 7fffffffffffffff'],
    [chunk_negative      => 'a chunk size of -10'],
    [huge_sse_line       => 'an SSE line of 25 MB'],
    [huge_json           => 'a 25 MB body without a length'],
    [never_ends          => 'a response that never ends'],
    [dribble             => 'a response that dribbles one byte at a time'],
    [bad_length_negative => 'Content-Length: -5'],
    [bad_length_huge     => 'Content-Length: 184467440737095516170'],
    [bad_length_garbage  => 'Content-Length: 12abc'],
    [bad_length_twice    => 'two different Content-Length headers'],
    [short_body          => 'a body shorter than its Content-Length'],
    [huge_header         => 'a 200 KB header line'],
    [many_headers        => '20,000 header lines'],
    [not_http            => 'an answer that is not HTTP'],
    [bad_status          => 'a status line without a status'],
    [deep_json           => 'JSON nested 100,000 deep'],
);

for my $c (@cases) {
    my ($tool, $what) = @$c;
    for my $progress (0, 1) {
        my $name = "$what" . ($progress ? ' (with progress)' : '');
        ($st, $r) = call($tool, $progress);
        ok($r->{result}{isError}, "$name: the call is a tool error")
            or diag("$st " . substr($json->encode($r), 0, 300));
        ($st, $r) = call('echo');
        is($r->{result}{content}[0]{text}, 'echo: hi', "$name: the next call works")
            or diag("$st " . substr($json->encode($r), 0, 300));
    }
}

# many notifications before the answer are relayed or dropped, not a crash
($st, $r) = call('sse_many_events', 1);
ok($r->{result} && !$r->{result}{isError}, 'a thousand notifications before the answer: the answer')
    or diag("$st " . substr($json->encode($r), 0, 300));

# a peer that stops reading our request: cut by the send timeout
($st, $r) = call('echo', 0, { text => 'y' x (6 * 1024 * 1024) });
ok($r->{result}{isError}, 'a peer that stops reading: the call is a tool error')
    or diag("$st " . substr($json->encode($r), 0, 300));
($st, $r) = call('echo');
is($r->{result}{content}[0]{text}, 'echo: hi', 'a peer that stops reading: the next call works');

# REST: a start whose initialize answer is hostile is a JSON error
for my $s (qw(badinit badinit2)) {
    my ($st, $h, $b) = http_request(POST => "/api/mcp_servers/$s/start");
    my $e = eval { $json->decode($b) } || {};
    ok($st >= 500 && $e->{error} && $e->{status_code} == $st,
       "REST: a hostile initialize answer ($s) is a JSON error") or diag("$st $b");
}

my @after = Hangar::Test::worker_pids(master_pid());
is("@after", "@workers", 'the same workers: none crashed');

# line by line, without the debug lines: a broken build may log gigabytes
my ($log, @died) = ('');
open my $lfh, '<', servroot() . '/logs/error.log' or die "error.log: $!\n";
while (my $l = <$lfh>) {
    next if $l =~ /\[debug\]/;
    push @died, $l if $l =~ /exited on signal|core dumped|signal \d+ \(SIG(SEGV|ABRT|BUS)/;
    $log .= $l if $l =~ /\[error\]/ && length $log < 1e6;
}
close $lfh;
ok(!@died, 'no worker died on a signal') or diag(join '', @died[0 .. ($#died > 9 ? 9 : $#died)]);
ok($log =~ qr/\[error\].*MCP server "hostile".*chunk size/,
     'a log line names the server and what it did wrong');
ok($log =~ qr/\[error\].*MCP server "hostile".*(timed out)/,
     'a log line for the response that never ends');
ok($log =~ qr/\[error\].*MCP server "badinit".*chunk size/,
     'a log line for the hostile initialize answer');
no_alerts();

is(nginx_stop(), '', 'nginx stops');
stop_hostile();
no_orphans();

Test::More::done_testing();
