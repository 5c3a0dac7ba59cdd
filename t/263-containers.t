# Container servers as hangar-core §2.1-2.2 documents them, with a stand-in
# "docker" and "podman" (t/servers/hangar-fake-container) first on the PATH
# that nginx's "env PATH=..." gives the bridge: env goes INTO the container
# ("-e KEY", the value only in the runtime's environment, never on its
# command line), command and args after the image, network (default none),
# resources, volumes, read_only, user, build (a build, then the run), the
# podman mode running podman; bad values of those keys are refused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use File::Path ();
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";

my $bin = servroot() . '-bin';
File::Path::remove_tree($bin);
File::Path::make_path($bin);
symlink("$REPO/t/servers/hangar-fake-container", "$bin/$_") or die "symlink: $!\n"
    for qw(docker podman);

my $sid;

sub rpc ($$) {
    my ($method, $params) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 1, method => $method, params => $params }), \%h);
    $sid //= $hd->{'mcp-session-id'};
    my @data = $b =~ /^data: (.*)$/mg;
    return eval { $json->decode(@data ? $data[-1] : $b) } // { raw => $b };
}

sub api ($$;$) {
    my ($st, $h, $b) = http_request($_[0], $_[1], $_[2]);
    return ($st, eval { $json->decode($b) } // {}, $b);
}

sub calls () {
    open my $fh, '<', "$bin/calls.log" or return ();
    return map { $json->decode($_) } <$fh>;
}

# the value of an option in an argv list
sub opt ($$) {
    my ($argv, $name) = @_;
    my @v;
    for my $i (0 .. $#$argv - 1) {
        push @v, $argv->[$i + 1] if $argv->[$i] eq $name;
    }
    return wantarray ? @v : $v[0];
}

my $ids = "$>:" . (split ' ', $))[0];

nginx_start({
    timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
    main_config => "env PATH=$bin:/usr/local/bin:/usr/bin:/bin;\n"
                 . "env NOT_FOR_CONTAINER=cli-only;\n",
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  boxed:\n    mode: docker\n    image: example/mcp:1\n"
                 . "    command: [--name, boxed]\n    args: [--tools, 'env,echo']\n"
                 . "    env: {SECRET_TOKEN: s3cret-value, GREETING: hi}\n"
                 . "    network: bridge\n    resources: {memory: 256m, cpu: '0.5'}\n"
                 . "    volumes: ['/srv/data:/data:ro', 'cache:/cache']\n"
                 . "    read_only: false\n    user: current\n"
                 . "  plain:\n    mode: docker\n    image: example/plain:2\n"
                 . "  built:\n    mode: container\n"
                 . "    build: {dockerfile: Dockerfile.mcp, context: /srv/ctx, tag: 'local/built:1'}\n"
                 . "  pod:\n    mode: podman\n    image: example/pod:3\n"
                 . "    user: '1000:1000'\n    network_mode: host\n",
});

for my $id (qw(boxed plain built pod)) {
    my ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id: starts through the stand-in runtime") or diag($raw);
}

my @calls = calls();
my %run = map { ($_->{argv}[0] eq 'run' ? (opt($_->{argv}, '--label') =~ s/.*=//r => $_) : ()) } @calls;

# boxed: every key
my $r = $run{boxed} or diag($json->encode(\@calls));
my $a = $r->{argv};
is($r->{prog}, 'docker', 'boxed: docker runs it');
is(join(' ', @$a[0 .. 2]), 'run --rm -i', 'boxed: run --rm -i');
is(opt($a, '--network'), 'bridge', 'boxed: network');
is(opt($a, '--memory'), '256m', 'boxed: resources.memory');
is(opt($a, '--cpus'), '0.5', 'boxed: resources.cpu');
ok(!grep({ $_ eq '--read-only' } @$a), 'boxed: read_only false: no --read-only');
is(opt($a, '--user'), $ids, 'boxed: user current is the worker\'s uid:gid');
is(join(',', opt($a, '-v')), '/srv/data:/data:ro,cache:/cache', 'boxed: volumes');
is(join(',', sort(opt($a, '-e'))), 'GREETING,SECRET_TOKEN', 'boxed: env as -e KEY');
ok(!grep({ /s3cret|=hi\b/ } @$a), 'boxed: no env value on the command line');
is($r->{env}{SECRET_TOKEN}, 's3cret-value', "boxed: the value is in the runtime's environment");
is(join(' ', @$a[-5 .. -1]), 'example/mcp:1 --name boxed --tools env,echo',
   'boxed: the image, then command, then args');
is(opt($a, '--cap-drop'), 'ALL', 'boxed: capabilities dropped');
is(opt($a, '--security-opt'), 'no-new-privileges', 'boxed: no new privileges');

my $init = rpc(initialize => { protocolVersion => '2025-06-18', capabilities => {},
                               clientInfo => { name => 't', version => '0' } });
my $v = rpc('tools/call', { name => 'boxed__env', arguments => { name => 'SECRET_TOKEN' } });
is($v->{result}{content}[0]{text}, 's3cret-value', 'boxed: the container sees its env')
    or diag($json->encode($v));
$v = rpc('tools/call', { name => 'boxed__env', arguments => { name => 'GREETING' } });
is($v->{result}{content}[0]{text}, 'hi', 'boxed: every key of it');
$v = rpc('tools/call', { name => 'boxed__env', arguments => { name => 'NOT_FOR_CONTAINER' } });
is($v->{result}{content}[0]{text}, '(unset)', "boxed: nothing else of the runtime's environment");

# plain: the defaults
$a = ($run{plain} || {})->{argv} || [];
is(opt($a, '--network'), 'none', 'plain: network none by default');
is(opt($a, '--memory'), '512m', 'plain: 512m by default');
is(opt($a, '--cpus'), '1.0', 'plain: one CPU by default');
ok(grep({ $_ eq '--read-only' } @$a), 'plain: read-only by default');
is(opt($a, '--tmpfs'), '/tmp:rw,noexec,nosuid,size=64m', 'plain: a small /tmp');
ok(!defined opt($a, '--user'), 'plain: no --user');
is($a->[-1], 'example/plain:2', 'plain: the image last');

# built: a build, then a run of what it built
my ($build) = grep { $_->{argv}[0] eq 'build' } @calls;
is(join(' ', @{ $build->{argv} || [] }), 'build -t local/built:1 -f Dockerfile.mcp /srv/ctx',
   'built: docker build with the tag, the Dockerfile and the context');
is(($run{built} || {})->{argv}[-1], 'local/built:1', 'built: then runs the tag');

# podman
is(($run{pod} || {})->{prog}, 'podman', 'pod: mode podman runs podman');
is(opt(($run{pod} || {})->{argv} || [], '--user'), '1000:1000', 'pod: a user as given');
is(opt(($run{pod} || {})->{argv} || [], '--network'), 'host', 'pod: network_mode, the alias');

# the keys are validated
for my $bad (['volumes', '"volumes":["../etc:/etc"]'],
             ['volumes[0]', '"volumes":["/a:relative"]'],
             ['volumes[0]', '"volumes":["/a:/b:rx"]'],
             ['resources.memory', '"resources":{"memory":"lots"}'],
             ['resources.cpu', '"resources":{"cpu":"0"}'],
             ['user', '"user":"-u0"'],
             ['build.dockerfile', '"build":{"dockerfile":"--file=x"}'],
             ['network', '"network":"overlay"']) {
    my ($st, $doc, $raw) = api(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"bad","mode":"docker","image":"x/y:1",$bad->[1]}));
    is($st, 422, "refused: $bad->[1]") or diag($raw);
    like($raw, qr/\Q$bad->[0]\E/, "naming $bad->[0]") if $bad->[0] ne 'volumes';
}

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('containers') if Hangar::Test::valgrind_on();
File::Path::remove_tree($bin);
Test::More::done_testing();
