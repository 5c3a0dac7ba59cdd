# Filesystem discovery at scale: 300 server files registered by one cycle
# in a few state file writes (batches), a broken file among them, the
# unchanged files not read again by the next cycle, a file changed while
# its server runs, and the lot kept across a restart.  2 workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use File::Path ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $N = $ENV{T323_N} || 300;
my $json = JSON::PP->new->canonical;
my $root = servroot();
my $dir = "$root-dir";   # beside the servroot, which a start wipes
my $FS = 'dfb13b95-3535-554f-b65b-9ce9c8fddb0e';

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body);
    return ($st, (eval { $json->decode($b) } // $b), $h);
}

sub put_file ($$) {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name.tmp" or die "$dir/$name.tmp: $!";
    print $fh $text;
    close $fh;
    rename "$dir/$name.tmp", "$dir/$name" or die $!;
}

sub servers () {
    my (undef, $b) = api(GET => '/api/mcp_servers');
    return { map { $_->{mcp_server_id} => $_ } @{ $b->{mcp_servers} || [] } };
}

sub state_file () {
    return eval { $json->decode(Hangar::Test::slurp("$root/state/hangar-state.json")) } || {};
}

sub wait_for ($) {
    my ($cond) = @_;
    my $deadline = time + 120;
    while (time < $deadline) {
        return 1 if $cond->();
        select undef, undef, undef, 0.2;
    }
    return 0;
}

sub error_log () { Hangar::Test::slurp("$root/logs/error.log") }

sub start_nginx ($) {
    my ($keep) = @_;
    nginx_start({
        workers     => 2,
        timeout     => 120,
        $keep ? (keep_servroot => 1) : (),
        http_config => "    hangar_zone hangar 8m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
        config      => "location /api/ { hangar_api; }\n",
        user_files  => ">>> conf/hangar.yaml\n"
                     . "execution:\n  allowed_commands: [perl]\n"
                     . "mcp_servers:\n  static1:\n    command: [perl, $SERVER, --tools, echo]\n"
                     . "discovery:\n  enabled: true\n  refresh_interval_s: 3600\n"
                     . "  security: {max_registration_rate: 100000, "
                     . "max_mcp_servers_per_source: 100000}\n"
                     . "  sources:\n    - type: filesystem\n      path: $dir\n",
    });
}

File::Path::remove_tree($dir);
File::Path::make_path($dir);

for my $i (1 .. $N) {
    put_file("d$i.yaml", "name: d$i\nconnection:\n  command: [perl, $SERVER, --tools, echo]\n");
}
put_file('broken.yaml', "name: [unclosed\n");
put_file('run1.yaml', "name: run1\nconnection:\n  command: [perl, $SERVER, --tools, echo]\n");

start_nginx(0);

# ---- one cycle registers them all, in a few state file writes -------------

ok(wait_for(sub { keys %{ servers() } == $N + 2 }),
   "the first cycle registers the $N good files (and run1), the static one kept")
    or diag(scalar keys %{ servers() });
my $st = state_file();
is(scalar(grep { /^d\d+$/ } keys %{ $st->{mcp_servers} || {} }), $N,
   "all $N are in the state file");
my @writes = error_log() =~ /hangar: state file written/g;
ok(@writes >= 1 && @writes <= 6,
   'they were written in batches: ' . scalar(@writes) . " state file writes for $N servers");
my @reg = error_log() =~ /discovery: registered "d\d+"/g;
is(scalar @reg, $N, 'each registration logged once (its event and counters)');

my ($s, $b) = api(GET => '/api/discovery/quarantined');
is(join(',', sort keys %{ $b->{quarantined} || {} }), 'broken',
   'the broken file is quarantined; none of the good ones is');
ok(!servers()->{broken}, 'and not registered');

# ---- the next cycles do not read the unchanged files again ---------------
# (each worker keeps what its last scan found; three scans on two workers
# run twice on one of them)

for (1 .. 3) {
    ($s) = api(POST => "/api/discovery/sources/$FS/scan");
    is($s, 200, 'a scan through the API');
}
my @reads = error_log() =~ /: (\d+) items, (\d+) files read/g;
my %read;
while (my ($items, $files) = splice @reads, 0, 2) { $read{$files}++ if $items == $N + 2 }
ok($read{0}, 'a scan of unchanged files read none of them')
    or diag(join ' ', error_log() =~ /(\d+ items, \d+ files read)/g);
is(scalar(() = error_log() =~ /hangar: state file written/g), scalar @writes,
   'and wrote nothing (nothing changed)');

# ---- a file changed while its server runs --------------------------------

($s) = api(POST => '/api/mcp_servers/run1/start');
is($s, 200, 'run1 starts');
($s, $b) = api(GET => '/api/mcp_servers/run1/tools');
is(join(',', sort map { $_->{name} } @{ $b->{tools} || [] }), 'echo', 'with its tool echo');

put_file('run1.yaml', "name: run1\nconnection:\n  command: [perl, $SERVER, --tools, 'echo,add']\n");
# a scan, not only inotify (t/320 tests that): the lease may have moved
($s) = api(POST => "/api/discovery/sources/$FS/scan");
is($s, 200, 'a scan after the change');
ok(wait_for(sub {
       join(' ', @{ state_file()->{mcp_servers}{run1}{command} || [] }) =~ /echo,add/
   }), 'the changed file updates run1 in the state file')
    or diag(join "\n", grep { /hangar: (discovery|state)|scan HTTP/ && !/registered "d/ } split /\n/, error_log());
like(error_log(), qr/discovery: "run1" changed in filesystem, updated/, 'logged as a change');
($s) = api(POST => '/api/mcp_servers/run1/start');
ok($s == 200, 'run1 runs with its new spec');
($s, $b) = api(GET => '/api/mcp_servers/run1/tools');
is(join(',', sort map { $_->{name} } @{ $b->{tools} || [] }), 'add,echo',
   'the new process has the new tools (the old one was stopped)');
is(scalar(grep { /^d\d+$/ } keys %{ state_file()->{mcp_servers} || {} }), $N,
   'the others are still in the state file');

no_alerts();
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
Hangar::Test::check_valgrind('first run');

# ---- a restart keeps them ------------------------------------------------

start_nginx(1);
my $all = servers();
is(scalar(grep { /^d\d+$/ } keys %$all), $N, "the $N servers are there at start (the state file)");
ok($all->{run1}, 'and run1');
($s) = api(POST => "/api/discovery/sources/$FS/scan");
is($s, 200, 'a scan');
is(scalar(() = error_log() =~ /discovery: registered /g), 0,
   'which registers nothing again: they are known as discovered');
is(scalar(() = error_log() =~ /discovery: .* changed in filesystem/g), 0,
   'nor changes them');
is(keys %{ servers() }, $N + 2, 'still all of them');

no_alerts();
is(nginx_stop(), '', 'nginx stopped');
no_orphans();
Hangar::Test::check_valgrind('second run');
File::Path::remove_tree($dir);

Test::More::done_testing();
