# Stable, complete tool lists on the front door (issue 9, item 4): the
# first tools/list waits (hangar_mcp_list_wait) for servers never started,
# so it is complete and its names do not change when they warm; a server
# that cannot start is left out with a warning; a server later than the
# bound comes with notifications/tools/list_changed, and a name a session
# was given keeps calling the same tool for that session.  2 workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use Time::HiRes qw(time sleep);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

my %H = ('Content-Type' => 'application/json',
         'Accept' => 'application/json, text/event-stream');

sub rpc ($$$;$) {
    my ($loc, $sid, $method, $params) = @_;
    my $body = $json->encode({ jsonrpc => '2.0', id => 1, method => $method,
                               params => $params // {} });
    my ($st, $hd, $b, $err) = http_request(POST => $loc, $body,
        { %H, $sid ? ('Mcp-Session-Id' => $sid) : () });
    my $doc = eval { $json->decode($b // '') } || { status => $st, error => $err };
    return wantarray ? ($doc, $hd) : $doc;
}

sub session ($) {
    my $loc = shift;
    my (undef, $hd) = rpc($loc, undef, 'initialize',
                          { protocolVersion => '2025-06-18', capabilities => {},
                            clientInfo => { name => 't', version => '0' } });
    return $hd->{'mcp-session-id'};
}

sub names ($$) {
    my ($loc, $sid) = @_;
    my $doc = rpc($loc, $sid, 'tools/list');
    return join ' ', sort map { $_->{name} } @{ $doc->{result}{tools} || [] };
}

sub call ($$$) {
    my ($loc, $sid, $tool) = @_;
    my $doc = rpc($loc, $sid, 'tools/call',
                  { name => $tool, arguments => { name => 'WHO' } });
    return $doc->{error} ? "error $doc->{error}{code}"
         : join '', map { $_->{text} // '' } @{ $doc->{result}{content} || [] };
}

sub error_log () {
    local (@ARGV, $/) = (servroot() . '/logs/error.log');
    return <> // '';
}

sub fleet (@) {
    my @servers = @_;
    return ">>> conf/hangar.yaml\nmcp_servers:\n" . join '', map {
        my ($id, $who, @args) = @$_;
        "  $id:\n    command: [perl, $SERVER"
        . join('', map { ", \"$_\"" } @args) . "]\n"
        . "    env:\n      WHO: $who\n"
    } @servers;
}

my $http = "    hangar_zone hangar 2m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n";

# -- a cold server at the first list, colliding names, each naming mode ----
#
# alpha offers env and add; beta, slow to start, offers env and echo; broken
# cannot start.  Every mode gets a fresh nginx, so that beta is cold at its
# first list.

my %want = (
    auto     => 'add alpha__env beta__env echo',
    prefixed => 'alpha__add alpha__env beta__echo beta__env',
    flat     => 'add echo',
);

for my $mode (qw(auto prefixed flat)) {
    nginx_start({
        workers     => 2,
        timeout     => 30,
        http_config => $http,
        config      => "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; hangar_mcp_naming $mode; }\n",
        user_files  => fleet([alpha => 'alpha', '--tools', 'env,add'],
                             [beta => 'beta', '--slow-init', 1500, '--tools', 'env,echo'],
                             [broken => 'broken', '--exit-on-start', 3]),
    });

    my $sid = session('/mcp');
    ok($sid, "$mode: a session");
    is(names('/mcp', $sid), $want{$mode},
       "$mode: the first tools/list is complete, beta (cold) included");

    like(error_log(), qr/tools\/list leaves out "broken"/,
         "$mode: the server that cannot start is left out, with a warning");

    my $other = session('/mcp');
    for my $i (1 .. 4) {
        is(names('/mcp', $i % 2 ? $sid : $other), $want{$mode},
           "$mode: the names stay the same once every server is warm ($i)");
    }

    if ($mode eq 'auto') {
        is(call('/mcp', $sid, 'alpha__env'), 'alpha', 'auto: alpha__env calls alpha');
        is(call('/mcp', $sid, 'beta__env'), 'beta', 'auto: beta__env calls beta');
        is(call('/mcp', $sid, 'echo') =~ /^error/ ? 'error' : 'ok', 'ok',
           'auto: echo (beta alone) keeps its own name');

        # the next nginx knows the catalogs of this run (hangar_state):
        # the same names at once, beta not even started for them
        Hangar::Test::nginx_restart();
        my $again = session('/mcp');
        is(names('/mcp', $again), $want{auto},
           'auto: after a restart, the same names from the remembered catalogs');
        my (undef, undef, $b) = http_request(GET => '/api/mcp_servers/beta');
        like($b // '', qr/"state":"cold"/, 'auto: beta is still cold');
    }

    is(nginx_stop(), '', "$mode: nginx stopped");
    no_orphans();
    no_alerts();
    Hangar::Test::check_valgrind($mode) if Hangar::Test::valgrind_on();
}

# -- a server later than the bound ----------------------------------------
#
# late needs 8 s to start; the lists wait 3 s at most: they are answered
# without it (a warning in the log), and it comes later, with
# notifications/tools/list_changed.  Its env takes alpha's flat name "env":
# sessions made before keep calling alpha's env by it, newer ones do not
# have it.

# valgrind makes nginx far slower: the bound and the late start grow with it
# (late starts within the bridge's 15 s initialize timeout)
my $K = Hangar::Test::valgrind_on() ? 4 : 1;
my $LATE_MS = Hangar::Test::valgrind_on() ? 13000 : 8000;
nginx_start({
    workers     => 2,
    timeout     => 30 * $K,
    http_config => $http,
    config      => "location /api/ { hangar_api; }\n"
                 . "hangar_mcp_list_wait @{[ Hangar::Test::valgrind_on() ? 4 : 3 ]}s;\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location = /mcp-flat { hangar_mcp; hangar_mcp_naming flat; }\n"
                 . "location = /mcp-prefixed { hangar_mcp; hangar_mcp_naming prefixed; }\n",
    user_files  => fleet([alpha => 'alpha', '--tools', 'env,add'],
                         [late => 'late', '--slow-init', $LATE_MS, '--tools', 'env']),
});

my $s1 = session('/mcp');
my $s3 = session('/mcp-flat');

my $t0 = time;
is(names('/mcp', $s1), 'add env', 'the first list is answered within the bound, without late');
ok(time - $t0 < $LATE_MS / 1000, 'it did not wait for late');
is(names('/mcp-flat', $s3), 'add env', 'flat: the same');

# the session's stream, open before late comes
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) or die $!;
print $sock "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
          . "Mcp-Session-Id: $s1\r\n\r\n";
like(error_log(), qr/tools\/list leaves out "late"/, 'late is left out, with a warning');
is(call('/mcp', $s1, 'env'), 'alpha', 'env calls alpha');

my $got = '';
my $sel = IO::Select->new($sock);
my $deadline = time + 20 * $K;
while (time < $deadline && $got !~ /list_changed/) {
    next unless $sel->can_read(0.5);
    sysread($sock, my $buf, 4096) or last;
    $got .= $buf;
}
like($got, qr{"method":"notifications/tools/list_changed"},
     'when late comes, the session is told: tools/list_changed');
close $sock;

my $now = '';
$deadline = time + 20 * $K;
while (time < $deadline) {
    $now = names('/mcp', $s1);
    last if $now =~ /late/;
    sleep 0.2;
}
is($now, 'add alpha__env late__env', 'the names changed (auto)');
is(names('/mcp-flat', $s3), 'add', 'flat: env is ambiguous now, not listed');

# both workers: every call of the session keeps its name
for my $i (1 .. 4) {
    is(call('/mcp', $s1, 'env'), 'alpha',
       "auto: the session's old name env still calls alpha's env ($i)");
    is(call('/mcp-flat', $s3, 'env'), 'alpha',
       "flat: the session's old name env still calls alpha's env ($i)");
}
is(call('/mcp', $s1, 'late__env'), 'late', 'the new names work: late__env');
is(call('/mcp', $s1, 'alpha__env'), 'alpha', 'the new names work: alpha__env');

# a session id knows its birth to the second: one of the same second as
# the change keeps the old names too
sleep 1.1;
my $s2 = session('/mcp');
is(call('/mcp', $s2, 'env'), 'error -32601', 'a session made after the change has no env');
is(call('/mcp-flat', session('/mcp-flat'), 'env'), 'error -32601',
   'flat: neither');
is(names('/mcp-prefixed', session('/mcp-prefixed')),
   'alpha__add alpha__env late__env', 'prefixed names never change');

# the other way round: late goes, alpha's env is "env" again; the name the
# session had since, alpha__env, still calls it; late__env is gone
my ($st) = http_request(DELETE => '/api/mcp_servers/late');
ok($st == 200 || $st == 204, "late is deleted ($st)");
$deadline = time + 20 * $K;
while (time < $deadline) {
    $now = names('/mcp', $s1);
    last if $now !~ /late/;
    sleep 0.2;
}
is($now, 'add env', 'the names changed back (auto)');
for my $i (1 .. 4) {
    is(call('/mcp', $s1, 'alpha__env'), 'alpha',
       "auto: the session's alpha__env still calls alpha's env ($i)");
}
is(call('/mcp', $s1, 'late__env'), 'error -32601', 'a retired name of a tool gone is gone');
is(call('/mcp', $s1, 'env'), 'alpha', 'env is alpha\'s again');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('late server') if Hangar::Test::valgrind_on();
Test::More::done_testing();
