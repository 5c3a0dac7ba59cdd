# What nginx checks and says at start (issue 9, item 7): "nginx -t" fails
# when the bridge is missing or the workers' user cannot run it (a module
# under a private directory), naming the path and the user; a start logs
# one notice line with the number of servers declared, the zone's use and
# the state directory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use File::Copy ();
use File::Path ();

my $REPO = "$FindBin::Bin/..";
my $NGINX = $ENV{NGINX_BIN} || '/usr/sbin/nginx';
my $root = servroot();

File::Path::remove_tree($root);
File::Path::make_path("$root/logs", "$root/state");

# the module and its bridge copied to a directory of the test's own
sub install_to ($$) {
    my ($dir, $bridge) = @_;
    File::Path::make_path($dir);
    File::Copy::copy("$REPO/build/ngx_http_hangar_module.so", "$dir/ngx_http_hangar_module.so")
        or die "copy: $!\n";
    if ($bridge) {
        File::Copy::copy("$REPO/build/hangar-bridge", "$dir/hangar-bridge") or die "copy: $!\n";
        chmod 0755, "$dir/hangar-bridge";
    }
}

sub nginx_t ($$) {
    my ($dir, $user) = @_;
    open my $fh, '>', "$root/nginx.conf" or die $!;
    print {$fh} "load_module $dir/ngx_http_hangar_module.so;\n"
              . ($user ? "user $user;\n" : '')
              . "error_log $root/logs/t.log;\npid $root/logs/t.pid;\n"
              . "events {}\nhttp {\n    hangar_zone hangar 1m;\n"
              . "    hangar_state $root/state;\n}\n";
    close $fh;
    my $out = qx{\Q$NGINX\E -p \Q$root/\E -c \Q$root/nginx.conf\E -t 2>&1};
    return ($? >> 8, $out);
}

{
    my ($rc, $out);

    # a readable place: nginx -t passes, for nobody too
    chmod 0755, $root;
    install_to("$root/pub/mod", 1);
    chmod 0755, "$root/pub", "$root/pub/mod";
    ($rc, $out) = nginx_t("$root/pub/mod", 'nobody nogroup');
    is($rc, 0, 'nginx -t passes: the bridge is beside the module, runnable by nobody')
        or diag($out);

    # no bridge beside the module
    install_to("$root/nobridge", 0);
    chmod 0755, "$root/nobridge";
    ($rc, $out) = nginx_t("$root/nobridge", 'nobody nogroup');
    ok($rc, 'nginx -t fails without the bridge');
    like($out, qr{the bridge "\Q$root\E/nobridge/hangar-bridge" is missing},
         'the message names the missing bridge') or diag($out);

    # a private directory (0700, root's): the workers' user cannot get in
    install_to("$root/private/mod", 1);
    chmod 0700, "$root/private";
    ($rc, $out) = nginx_t("$root/private/mod", 'nobody nogroup');
    ok($rc, 'nginx -t fails: the bridge is under a 0700 directory');
    like($out, qr{the workers' user "nobody" cannot run the bridge: no search \(x\) permission on the directory "\Q$root\E/private"},
         'the message names the user and the directory') or diag($out);

    # without "user", a root master runs its workers as nobody
    ($rc, $out) = nginx_t("$root/private/mod", undef);
    like($out, qr{user "nobody" cannot run the bridge}, 'no "user": nobody is checked')
        or diag($out);

    # root may go anywhere, but not run a file without an x bit
    ($rc, $out) = nginx_t("$root/private/mod", 'root');
    is($rc, 0, 'user root: the private directory is fine') or diag($out);
    chmod 0644, "$root/private/mod/hangar-bridge";
    ($rc, $out) = nginx_t("$root/private/mod", 'root');
    like($out, qr{user "root" cannot run the bridge "\Q$root\E/private/mod/hangar-bridge": it is not executable},
         'a bridge without an execute bit is refused') or diag($out);
    chmod 0755, "$root/private/mod/hangar-bridge";

    # an executable bridge without x for others, owned by root: nobody cannot
    chmod 0750, "$root/pub/mod/hangar-bridge";
    ($rc, $out) = nginx_t("$root/pub/mod", 'nobody nogroup');
    like($out, qr{user "nobody" cannot run the bridge "\Q$root\E/pub/mod/hangar-bridge"},
         'a bridge only root and its group may run is refused for nobody') or diag($out);
}

# -- the start line ---------------------------------------------------------

my $SERVER = "$REPO/t/servers/hangar-test-server";
nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 2m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  one:\n    command: [perl, $SERVER]\n"
                 . "  two:\n    command: [perl, $SERVER]\n"
                 . "  pool:\n    mode: group\n    members:\n      - {id: one}\n",
});

my $log = do { local (@ARGV, $/) = ("$root/logs/error.log"); <> };
my $state = "$root/state";
my @lines = $log =~ /^.*\[notice\].*hangar: \d+ servers declared.*$/mg;
is(scalar @lines, 1, 'one start line') or diag($log);
like($lines[0] // '', qr{hangar: 2 servers declared \(1 groups\), zone "hangar" \d+ of 2097152 bytes used, state directory "\Q$state\E"},
     'it names the servers, the zone use and the state directory');
my ($used) = ($lines[0] // '') =~ /zone "hangar" (\d+) of/;
ok(($used // 0) > 0 && $used < 2097152, "the zone use is plausible ($used bytes)");

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('start line') if Hangar::Test::valgrind_on();
Test::More::done_testing();
