# "make install" (issue 9, item 7): the module and its bridge go where
# Debian's nginx looks for modules, the load_module line to
# modules-available with a link in modules-enabled, the libnginx-mod-*
# way; DESTDIR is honoured; nginx -t passes with the installed line; and
# "make uninstall" takes it all back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use File::Path ();

my $REPO = "$FindBin::Bin/..";
my $NGINX = $ENV{NGINX_BIN} || '/usr/sbin/nginx';
my $root = servroot();
my $dest = "$root/dest";

File::Path::remove_tree($root);
File::Path::make_path("$root/logs", "$root/state");
chmod 0755, $root;

my $out = qx{make -s -C \Q$REPO\E install DESTDIR=\Q$dest\E 2>&1};
is($?, 0, 'make install DESTDIR=... succeeds') or diag($out);

my $mods = "$dest/usr/lib/nginx/modules";
ok(-f "$mods/ngx_http_hangar_module.so", 'the module is in /usr/lib/nginx/modules');
is(sprintf('%04o', (stat "$mods/ngx_http_hangar_module.so")[2] & 07777), '0644',
   'as Debian installs modules (0644)');
ok(-f "$mods/hangar-bridge" && -x _, 'the bridge is beside it, executable');
is(sprintf('%04o', (stat "$mods/hangar-bridge")[2] & 07777), '0755', 'for every user (0755)');

my $avail = "$dest/usr/share/nginx/modules-available/mod-http-hangar.conf";
my $line = do { local (@ARGV, $/) = ($avail); <> } // '';
is($line, "load_module /usr/lib/nginx/modules/ngx_http_hangar_module.so;\n",
   'modules-available/mod-http-hangar.conf has the load_module line (the final path)');

my $link = "$dest/etc/nginx/modules-enabled/50-mod-http-hangar.conf";
ok(-l $link, 'modules-enabled has a link');
is(readlink($link), '/usr/share/nginx/modules-available/mod-http-hangar.conf',
   'to the modules-available file, as libnginx-mod-* packages do');

# the installed line, with DESTDIR before its path, in an nginx.conf that
# uses hangar as Debian's would (workers as www-data)
(my $load = $line) =~ s{ /usr/}{ $dest/usr/};
open my $fh, '>', "$root/nginx.conf" or die $!;
print {$fh} $load . "user www-data;\nerror_log $root/logs/t.log;\npid $root/logs/t.pid;\n"
          . "events {}\nhttp {\n    hangar_zone hangar 1m;\n    hangar_state $root/state;\n"
          . "    server { listen 127.0.0.1:1; location = /mcp { hangar_mcp; } }\n}\n";
close $fh;
$out = qx{\Q$NGINX\E -p \Q$root/\E -c \Q$root/nginx.conf\E -t 2>&1};
is($?, 0, 'nginx -t passes with the installed load_module line') or diag($out);

$out = qx{make -s -C \Q$REPO\E uninstall DESTDIR=\Q$dest\E 2>&1};
is($?, 0, 'make uninstall succeeds') or diag($out);
ok(!-e "$mods/ngx_http_hangar_module.so" && !-e "$mods/hangar-bridge"
   && !-e $avail && !-l $link, 'and removes what install put there');

File::Path::remove_tree($dest);
Test::More::done_testing();
