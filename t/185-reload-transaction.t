# A reload is a transaction: a reload that fails (here bind() on a port
# that this test holds) changes nothing -- registry, processes, workers;
# a reload that succeeds stops the servers it removes and restarts the
# ones it changes; nothing survives "nginx -s quit".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, undef, $b) = http_request($method, $uri, $body);
    return ($st, eval { $json->decode($b) } || {}, $b);
}

sub ids () {
    my (undef, undef, $body) = http_request(GET => '/api/mcp_servers');
    return join ',', sort $body =~ /"mcp_server_id":"([^"]+)"/g;
}

sub alive ($) {
    my $pid = shift or return 0;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    return $stat !~ /\) [ZX] /;
}

sub wait_for {
    my ($cond, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

sub slurp ($) {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh>;
}

sub spit ($$) {
    open my $fh, '>', $_[0] or die "$_[0]: $!";
    print {$fh} $_[1];
    close $fh;
}

sub pids ($) {
    my (undef, $doc) = api(GET => "/api/mcp_servers/$_[0]");
    return ($doc->{meta}{bridge_pid} // 0, $doc->{meta}{server_pid} // 0);
}

sub server ($) { "    command: [perl, $SERVER, --name, $_[0]]\n" }

my $yaml = "mcp_servers:\n"
         . "  keep:\n" . server('keep')
         . "  gone:\n" . server('gone')
         . "  chg:\n" . server('chg') . "    description: before\n"
         . "  far: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp'}\n";

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml",
});

my $root = servroot();
my $conf = slurp("$root/conf/nginx.conf");
my %pid;

for my $id (qw(keep gone chg)) {
    my ($st, undef, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id started") or diag($raw);
    $pid{$id} = [pids($id)];
    ok(alive($pid{$id}[0]) && alive($pid{$id}[1]),
       "$id: bridge $pid{$id}[0] and server $pid{$id}[1] run");
}

my ($st) = api(POST => '/api/mcp_servers',
               '{"mcp_server_id":"viaapi","mode":"subprocess",'
               . '"command":["node"]}');
is($st, 201, 'a server created through the API');

my $before = ids();
is($before, 'chg,far,gone,keep,viaapi', 'the fleet before the reloads');
my @workers = Hangar::Test::worker_pids(master_pid());

# -- a reload that fails at bind() changes nothing ------------------------
my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1, ReuseAddr => 0)
    or die "listen: $!";
my $busy_port = $busy->sockport;

spit("$root/conf/hangar.yaml", "mcp_servers:\n  keep:\n" . server('keep')
     . "  chg:\n" . server('chg') . "    description: after\n"
     . "  added: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp'}\n");
(my $bad = $conf) =~ s/(listen 127\.0\.0\.1:\d+;)/$1\n        listen 127.0.0.1:$busy_port;/
    or die 'no listen in nginx.conf';
spit("$root/conf/nginx.conf", $bad);

kill 'HUP', master_pid();
ok(wait_for(sub { slurp("$root/logs/error.log") =~ /still could not bind\(\)/ }, 60),
   'the reload failed at bind()');
sleep 0.5;   # the master goes on with the old cycle

is(ids(), $before, 'failed reload: the registry is as it was');
is(join(',', Hangar::Test::worker_pids(master_pid())), join(',', @workers),
   'failed reload: the same workers');
for my $id (qw(keep gone chg)) {
    ok(alive($pid{$id}[0]) && alive($pid{$id}[1]),
       "failed reload: $id still runs");
    is(join(',', pids($id)), join(',', @{ $pid{$id} }),
       "failed reload: $id has the same processes");
}
my (undef, $doc) = api(GET => '/api/mcp_servers/chg');
is($doc->{state}, 'ready', 'failed reload: chg is still ready');
is($doc->{description}, 'before', 'failed reload: chg keeps its spec');
($st, $doc) = api(POST => '/api/mcp_servers/gone/start');
is($st, 200, 'failed reload: gone still answers');

# a respawned worker works with the registry of the running cycle
kill 'KILL', $workers[0];
ok(wait_for(sub {
    my @w = Hangar::Test::worker_pids(master_pid());
    @w == 2 && !grep { $_ == $workers[0] } @w;
}, 30), 'a killed worker is respawned');
@workers = Hangar::Test::worker_pids(master_pid());
my @seen = map { ids() } 1 .. 10;   # both workers answer some of them
is_deeply(\@seen, [($before) x 10], 'after a respawn: the registry is as it was');

# -- the same reload, now that it can bind ---------------------------------
spit("$root/conf/nginx.conf", $conf);
close $busy;
nginx_reload();

is(ids(), 'added,chg,keep,viaapi', 'reload: removed gone, added added');
ok(wait_for(sub { !alive($pid{gone}[0]) && !alive($pid{gone}[1]) }, 15),
   "reload: gone's bridge and server are stopped");
ok(alive($pid{keep}[0]) && alive($pid{keep}[1]), 'reload: keep runs on');
is(join(',', pids('keep')), join(',', @{ $pid{keep} }),
   'reload: keep has the same processes');
ok(wait_for(sub { !alive($pid{chg}[0]) && !alive($pid{chg}[1]) }, 15),
   'reload: the changed server is stopped');
(undef, $doc) = api(GET => '/api/mcp_servers/chg');
is($doc->{description}, 'after', 'reload: chg has its new spec');
is($doc->{state}, 'cold', 'reload: chg is cold until used');
($st, $doc) = api(POST => '/api/mcp_servers/chg/start');
is($st, 200, 'reload: chg starts again with its new spec');
my @chg = pids('chg');
ok(alive($chg[0]) && $chg[0] != $pid{chg}[0], 'reload: chg has a new bridge');

# -- nothing survives quit -------------------------------------------------
is(nginx_stop(), '', 'nginx stopped');
ok(wait_for(sub { !grep { alive($_) } @{ $pid{keep} }, @chg }, 15),
   'quit: every bridge and server is gone');
no_orphans();

no_alerts(qr/bind\(\) to 127\.0\.0\.1:$busy_port failed/,
          qr/still could not bind\(\)/, qr/exited on signal 9/);
Hangar::Test::check_valgrind('reload transaction')
    if Hangar::Test::valgrind_on();

# -- a fleet that does not fit in the zone is not applied at all ----------
nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 64k;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  one: {command: [a]}\n  two: {command: [b]}\n",
});
$root = servroot();
is(ids(), 'one,two', 'small zone: the fleet at start');
spit("$root/conf/hangar.yaml", "mcp_servers:\n  two: {command: [b]}\n"
     . join('', map { "  s$_: {command: [c], description: '" . ('d' x 1000)
                      . "'}\n" } 1 .. 200));
nginx_reload();
is(ids(), 'one,two', 'a fleet too big for the zone: the registry is as it was');
like(slurp("$root/logs/error.log"),
     qr/\[alert\].*servers of the new configuration were not applied/,
     'the reload says the fleet was not applied');
spit("$root/conf/hangar.yaml", "mcp_servers:\n  two: {command: [b]}\n"
     . "  three: {command: [c]}\n");
nginx_reload();
is(ids(), 'three,two', 'a fleet that fits is applied by the next reload');

# -- a reload that drops hangar from nginx.conf stops its servers ----------
spit("$root/conf/hangar.yaml", "mcp_servers:\n  two:\n" . server('two'));
nginx_reload();
($st) = api(POST => '/api/mcp_servers/two/start');
is($st, 200, 'two started');
my @two = pids('two');
ok(alive($two[0]) && alive($two[1]), 'two runs');
(my $plain = slurp("$root/conf/nginx.conf")) =~ s/^\s*hangar_\w+ [^\n]*\n//mg;
$plain =~ s/\{ hangar_api; \}/{ return 204; }/;
spit("$root/conf/nginx.conf", $plain);
nginx_reload();
ok(wait_for(sub { !alive($two[0]) && !alive($two[1]) }, 15),
   'without hangar in nginx.conf, its servers are stopped');
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts(qr/hangar zone "hangar" is full/,
          qr/servers of the new configuration were not applied/);
Hangar::Test::check_valgrind('small zone') if Hangar::Test::valgrind_on();

# -- quit right after a failed reload stops what runs ----------------------
nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n  one:\n" . server('one'),
});
$root = servroot();
($st) = api(POST => '/api/mcp_servers/one/start');
is($st, 200, 'one started');
my @one = pids('one');
$busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                              Listen => 1, ReuseAddr => 0)
    or die "listen: $!";
$busy_port = $busy->sockport;
spit("$root/conf/hangar.yaml", "mcp_servers:\n  other:\n" . server('other'));
($bad = slurp("$root/conf/nginx.conf"))
    =~ s/(listen 127\.0\.0\.1:\d+;)/$1\n        listen 127.0.0.1:$busy_port;/;
spit("$root/conf/nginx.conf", $bad);
kill 'HUP', master_pid();
ok(wait_for(sub { slurp("$root/logs/error.log") =~ /still could not bind\(\)/ }, 60),
   'the second reload failed at bind()');
sleep 0.5;
is(ids(), 'one', 'failed reload: one is still there');
is(nginx_stop(), '', 'nginx stopped right after the failed reload');
ok(wait_for(sub { !alive($one[0]) && !alive($one[1]) }, 15),
   'quit after a failed reload: the bridge and server are gone');
no_orphans();
close $busy;
no_alerts(qr/bind\(\) to 127\.0\.0\.1:$busy_port failed/,
          qr/still could not bind\(\)/);
Hangar::Test::check_valgrind('quit after a failed reload')
    if Hangar::Test::valgrind_on();
Test::More::done_testing();
