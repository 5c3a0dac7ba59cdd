# Faults around the state file: a full disk is reported with its real
# cause and changes nothing; a state file hangar cannot read never keeps
# "nginx -s quit" from stopping nginx; kill -9 of a worker during a burst
# of writes loses no change that was answered 2xx; a full zone refuses a
# suspension or withdrawal with 507 and changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use POSIX ();
use Time::HiRes qw(sleep time);

my $http = <<'CONF';
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
CONF
my $config = "location /api/ { hangar_api; }\n";

sub state_file () { servroot() . '/state/hangar-state.json' }

sub slurp_file ($) {
    open my $fh, '<', shift or return '';
    local $/;
    return scalar <$fh>;
}

sub create ($) {
    my $id = shift;
    return (http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"$id","mode":"subprocess","command":["node"]})))[0];
}

# -- a full disk: the real errno, and nothing changed ----------------------
nginx_start({ http_config => $http, config => $config });

is(create('before'), 201, 'a server is created');
my $saved = slurp_file(state_file());
symlink('/dev/full', state_file() . '.tmp') or die "symlink: $!";

my ($st, undef, $body) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"full","mode":"subprocess","command":["node"]}');
is($st, 503, 'a write to a full disk answers 503');
like($body, qr/\(write: No space left on device\); nothing was changed/,
     'the message names the real cause');
unlike($body, qr/Success/, 'not "Success"');
is((http_request(GET => '/api/mcp_servers/full'))[0], 404,
   'the refused server does not exist');
is(slurp_file(state_file()), $saved, 'the state file is as it was');
ok(!-l state_file() . '.tmp', 'the failed temp file is removed');
is(create('after'), 201, 'the next write succeeds');
like(slurp_file(servroot() . '/logs/error.log'),
     qr/\[error\].*hangar: write "[^"]+hangar-state\.json\.tmp" failed \(28: No space left on device\)/,
     'the error log has the errno');
is(nginx_stop(), '', 'nginx stopped');

# -- a write cut short (a file size limit): the real errno, not "Success" --
{
    my $wrap = servroot() . '-fsize.sh';
    open my $fh, '>', $wrap or die;
    # SIGXFSZ ignored: a write over the limit fails with EFBIG instead
    print {$fh} "#!/bin/sh\ntrap '' XFSZ\nulimit -f 400\nexec /usr/sbin/nginx \"\$@\"\n";
    close $fh;
    chmod 0755, $wrap;
    local $ENV{NGINX_BIN} = $wrap;

    # request logs kept small: a log write over the limit would set errno
    nginx_start({ http_config => "    hangar_zone hangar 4m;\n"
                               . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                               . "    error_log \$TEST_NGINX_SERVROOT/logs/http.log warn;\n",
                  config => $config });
    my $desc = 'd' x 4000;
    my ($n, $fail) = (0, undef);
    for my $i (1 .. 200) {
        my ($st, undef, $body) = http_request(POST => '/api/mcp_servers',
            qq({"mcp_server_id":"big$i","mode":"subprocess","command":["node"],"description":"$desc"}));
        if ($st == 201) { $n++; next }
        $fail = [$i, $st, $body];
        last;
    }
    ok($fail, "a write was cut short after $n servers");
    is($fail->[1], 503, 'it answers 503');
    like($fail->[2], qr/\(write: File too large\); nothing was changed/,
         'the message names the real cause');
    is((http_request(GET => "/api/mcp_servers/big$fail->[0]"))[0], 404,
       'the refused server does not exist');
    is(nginx_stop(), '', 'nginx stopped');
    unlink $wrap;
}

# -- a state file hangar cannot read does not keep nginx from stopping -----
for my $signal (qw(quit stop)) {
    nginx_start({ http_config => $http, config => $config });
    my $master = master_pid();
    is(create('s1'), 201, "a server is created ($signal)");

    open my $fh, '>', state_file() or die;
    print {$fh} "{\"version\":1,\"withdrawn\":[{\"tool\":\"\xff\"";
    close $fh;

    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>>', servroot() . '/logs/stderr.log';
        open STDERR, '>&', \*STDOUT;
        exec('/usr/sbin/nginx', '-p', servroot() . '/', '-c', 'conf/nginx.conf',
             '-e', 'logs/error.log', '-s', $signal) or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    is($? >> 8, 0, "nginx -s $signal succeeds with a damaged state file");
    ok(Hangar::Test::wait_gone([$master], 60),
       "nginx -s $signal stopped the master");
    my $out = slurp_file(servroot() . '/logs/stderr.log');
    unlike($out, qr/damaged|emerg/, "nothing was read by nginx -s $signal");
    is(nginx_stop(), '', 'nothing left to stop');
}

# -- kill -9 of a worker during a burst of writes --------------------------
nginx_start({ workers => 2, http_config => $http, config => $config,
              timeout => 30 });

my $dir = servroot() . '/burst';
mkdir $dir;
my @kids;
for my $c (0 .. 3) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open my $out, '>', "$dir/$c" or POSIX::_exit(1);
        my $deadline = time + 6;
        for (my $k = 0; time < $deadline && $k < 400; $k++) {
            my ($st) = http_request(POST => '/api/mcp_servers',
                qq({"mcp_server_id":"k${c}_$k","mode":"subprocess","command":["node"]}));
            print {$out} "k${c}_$k $st\n" if defined $st;
        }
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
my $killed = 0;
for (1 .. 3) {
    sleep 1;
    my @w = Hangar::Test::worker_pids(master_pid());
    $killed += kill 'KILL', $w[0] if @w;
}
waitpid($_, 0) for @kids;
ok($killed >= 2, "$killed workers were killed during the burst");

my @ok;
for my $c (0 .. 3) {
    open my $fh, '<', "$dir/$c" or next;
    push @ok, map { /^(\S+) 2\d\d$/ ? $1 : () } <$fh>;
}
ok(@ok > 0, scalar(@ok) . ' creations were answered 2xx');

is(nginx_stop(), '', 'nginx stopped');
nginx_start({ workers => 2, http_config => $http, config => $config,
              keep_servroot => 1 });
($st, undef, $body) = http_request(GET => '/api/mcp_servers');
my %have = map { $_ => 1 } $body =~ /"mcp_server_id":"([^"]+)"/g;
my @lost = grep { !$have{$_} } @ok;
is(scalar @lost, 0, 'every creation answered 2xx is there after a restart')
    or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
no_alerts(qr/worker process \d+ exited on signal 9/);
is(nginx_stop(), '', 'nginx stopped');

# -- a full zone: 507 for suspensions and withdrawals, nothing changed -----
nginx_start({
    http_config => "    hangar_zone tiny 64k;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => $config,
});

my $tenant = 't' x 120;
my ($n, $full) = (0, undef);
for my $i (1 .. 2000) {
    my ($st, undef, $body) = http_request(POST => "/api/admin/tools/srv/tool$i/withdraw",
                                          qq({"tenant_id":"$tenant"}));
    if ($st == 200) { $n++; next }
    $full = [$i, $st, $body];
    last;
}
ok($full, "the zone filled up after $n withdrawals");
is($full->[1], 507, 'a full zone answers 507');
like($full->[2], qr/^\{"error":"RegistryFullError","message":"the hangar zone \\"tiny\\" is full; nothing was changed","status_code":507\}$/,
     '507 envelope');
my $state = slurp_file(state_file());
unlike($state, qr/"tool$full->[0]"/, 'the refused withdrawal is not in the state file');
like($state, qr/"tool$n"/, 'the last accepted one is');
($st) = http_request(POST => "/api/admin/tools/srv/tool$full->[0]/withdraw",
                     qq({"tenant_id":"$tenant"}));
is($st, 507, 'and again: the refused one did not half-happen');
is(nginx_stop(), '', 'nginx stopped');

Test::More::done_testing();
