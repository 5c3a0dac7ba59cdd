# Idle time, backoff and deadlines run on the monotonic clock: a step of
# the wall clock (back or forward) stops no server as "idle".  nginx runs
# under libfaketime, whose wall-clock offset the test changes at run time;
# the monotonic clock is left alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
die "libfaketime is missing ($FAKETIME): make deps installs it\n" unless -f $FAKETIME;

my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my $CLOCK = servroot() . '.faketime';    # beside the servroot, which is wiped

sub state_of ($) {
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$_[0]");
    return (eval { $json->decode($b // '') } // {})->{state} // '';
}

sub error_log () { Hangar::Test::slurp(servroot() . '/logs/error.log') }

# the offset of nginx's wall clock, read by libfaketime at every call
sub wall_clock ($) {
    open my $fh, '>', "$CLOCK.tmp" or die "$CLOCK: $!";
    print $fh "$_[0]\n";
    close $fh;
    rename "$CLOCK.tmp", $CLOCK or die "$CLOCK: $!";
}

wall_clock('+0');

my @vars = (LD_PRELOAD => $FAKETIME, FAKETIME_TIMESTAMP_FILE => $CLOCK,
            FAKETIME_NO_CACHE => 1, FAKETIME_DONT_FAKE_MONOTONIC => 1);
my %vars = @vars;

nginx_start({
    workers     => 2,
    env         => join('', map { "$_=$vars{$_}\n" } sort keys %vars),
    main_config => join('', map { "env $_;\n" } sort keys %vars),
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  steady:\n    command: [perl, $SERVER]\n    idle_ttl_s: 600\n",
});

my ($st) = http_request(POST => '/api/mcp_servers/steady/start');
is($st, 200, 'steady starts');
is(state_of('steady'), 'ready', 'and is ready');

for my $step (['-3600', 'back'], ['+7200', 'forward']) {
    my $mark = length error_log();
    wall_clock($step->[0]);
    sleep 1.5;     # six ticks of the lease holder
    is(state_of('steady'), 'ready', "the wall clock stepped $step->[1] an hour: still ready");
    unlike(substr(error_log(), $mark), qr/"steady" idle, stopping/,
           "no idle stop after the step $step->[1]");
}

wall_clock('+0');
is(nginx_stop(), '', 'nginx stopped');
unlink $CLOCK;
no_orphans();
no_alerts();
Test::More::done_testing();
