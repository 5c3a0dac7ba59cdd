# Filesystem discovery for real: files added, changed and removed are
# seen (inotify), bad files quarantined, approve and reject, additive and
# authoritative modes, sources through the API kept across a restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use File::Path ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my $root = servroot();
my $dir = "$root-dir";   # beside the servroot, which a start wipes

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

sub server_ids () {
    my (undef, $b) = api(GET => '/api/mcp_servers');
    return join ',', sort map { $_->{mcp_server_id} } @{ $b->{mcp_servers} || [] };
}

sub wait_for ($$) {
    my ($what, $cond) = @_;
    my $deadline = time + 90;
    while (time < $deadline) {
        return 1 if $cond->();
        select undef, undef, undef, 0.1;
    }
    return 0;
}

sub start_nginx ($$) {
    my ($auto, $keep) = @_;
    nginx_start({
        workers     => 2,
        timeout     => 90,
        $keep ? (keep_servroot => 1) : (),
        http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
        config      => "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; hangar_mcp_naming prefixed; }\n",
        user_files  => ">>> conf/hangar.yaml\n"
                     . "execution:\n  allowed_commands: [perl]\n"
                     . "mcp_servers:\n  static1:\n    command: [perl, $SERVER, --tools, echo]\n"
                     . "discovery:\n  enabled: true\n  refresh_interval_s: 3600\n"
                     . "  auto_register: $auto\n"
                     . "  sources:\n    - type: filesystem\n      path: $dir\n",
    });
}

my $FS = 'dfb13b95-3535-554f-b65b-9ce9c8fddb0e';
File::Path::remove_tree($dir);
File::Path::make_path($dir);

put_file('alpha.yaml', "name: alpha\nmode: subprocess\nconnection:\n"
                     . "  command: perl\n  args: [$SERVER, --tools, echo]\n"
                     . "metadata: {owner: team-a}\n");
put_file('broken.yaml', "name: [unclosed\n");
put_file('shell.yml', "mode: subprocess\nconnection:\n  command: [sh, -c, 'echo hi']\n");
put_file('static1.yaml', "mode: subprocess\nconnection:\n  command: [perl, $SERVER]\n");
put_file('notes.txt', "not a server\n");

start_nginx('true', 0);

ok(wait_for('alpha', sub { server_ids() =~ /\balpha\b/ }),
   'a server file present at start is registered by the first cycle');
is(server_ids(), 'alpha,static1', 'the static server keeps its name; nothing else registered');

my ($st, $b) = api(GET => '/api/mcp_servers/alpha');
is($st, 200, 'the discovered server reads like any other');
is($b->{description}, 'Discovered from filesystem', 'it says where it came from');

($st, $b) = api(GET => '/api/discovery/quarantined');
is($st, 200, 'GET quarantined');
is(join(',', sort keys %{ $b->{quarantined} }), 'broken,shell',
   'the broken file and the disallowed command are quarantined');
like($b->{quarantined}{broken}{reason}, qr/^invalid: .*broken\.yaml:\d+:\d+/,
     'the broken file\'s reason names the file, line and column');
like($b->{quarantined}{shell}{reason}, qr/^failed_validation: .*sh/,
     'the disallowed command\'s reason says why');
is($b->{quarantined}{shell}{mcp_server}{source_type}, 'filesystem', 'the entry has its source');
like($b->{quarantined}{shell}{mcp_server}{fingerprint}, qr/^[0-9a-f]{16}$/, 'and a fingerprint');
ok(!exists $b->{quarantined}{shell}{mcp_server}{spec}, 'the internal spec is not shown');

($st, $b) = api(GET => '/api/discovery/sources');
is($st, 200, 'GET sources');
is(scalar @{ $b->{sources} }, 1, 'one source');
my ($src) = @{ $b->{sources} };
is($src->{id}, $FS, 'hangar.yaml\'s filesystem source has the deterministic id');
is_deeply([@$src{qw(source_type mode is_healthy is_enabled mcp_servers_count error_message)}],
          ['filesystem', 'additive', JSON::PP::true, JSON::PP::true, 4, undef],
          'type, mode, health, count (4 server files), no error');
like($src->{last_discovery}, qr/^\d{4}-\d\d-\d\dT/, 'last_discovery is an ISO time');

# a new file is seen through inotify (the periodic cycle is an hour away)
put_file('beta.yaml', "name: beta\nconnection:\n  command: [perl, $SERVER, --tools, echo]\n");
ok(wait_for('beta', sub { server_ids() =~ /\bbeta\b/ }),
   'a file added while running is registered without waiting for the period');

# a change replaces the spec
put_file('beta.yaml', "name: beta\nconnection:\n  command: [perl, $SERVER, --tools, 'echo,add']\n");
ok(wait_for('beta changed', sub {
       my $state = eval { $json->decode(Hangar::Test::slurp("$root/state/hangar-state.json")) } || {};
       join(' ', @{ $state->{mcp_servers}{beta}{command} || [] }) =~ /echo,add/;
   }), 'a changed file updates the server (its spec in the state file)');

# the discovered server works: the official SDK client calls it through
# the front door, which starts it
{
    my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
    my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
    local $ENV{SDK_DIR} = $SDK;
    # started once, so that its catalog is known to the front door
    my ($s) = http_request(POST => '/api/mcp_servers/alpha/start');
    is($s, 200, 'the discovered server starts');
    my $url = 'http://127.0.0.1:' . Hangar::Test::port() . '/mcp';
    my $calls = $json->encode([{ name => 'alpha__echo', arguments => { text => 'found me' } }]);
    my @out = map { eval { $json->decode($_) } // { raw => $_ } }
              `$NODE $REPO/t/servers/sdk-client.mjs $url '$calls' 2>&1`;
    my ($tools) = grep { $_->{tools} } @out;
    ok($tools && grep({ $_ eq 'alpha__echo' } @{ $tools->{tools} }),
       'the SDK client lists the discovered server\'s tool');
    my ($call) = grep { ($_->{call} // '') eq 'alpha__echo' } @out;
    is($call && $call->{result}{content}[0]{text}, 'found me',
       'and calls it: the discovered stdio server started on demand')
        or diag($json->encode(\@out));
}

# additive: a removed file leaves the server registered
unlink "$dir/beta.yaml";
($st, $b) = api(POST => "/api/discovery/sources/$FS/scan");
is($st, 200, 'a synchronous scan');
is($b->{scan_triggered}, JSON::PP::true, 'scan_triggered');
is($b->{mcp_servers_found}, 4, 'mcp_servers_found counts what the cycle found');
like(server_ids(), qr/\bbeta\b/, 'additive: a server whose file is gone stays');

# reject: remembered for the fingerprint, until the file changes
($st, $b) = api(POST => '/api/discovery/reject/shell');
is_deeply($b, { rejected => JSON::PP::true, mcp_server => 'shell' }, 'reject');
api(POST => "/api/discovery/sources/$FS/scan");
(undef, $b) = api(GET => '/api/discovery/quarantined');
is(join(',', sort keys %{ $b->{quarantined} }), 'broken', 'a rejected server stays out after the next cycle');
put_file('shell.yml', "mode: subprocess\nconnection:\n  command: [sh, -c, 'echo changed']\n");
ok(wait_for('shell back', sub {
       my (undef, $q) = api(GET => '/api/discovery/quarantined');
       exists $q->{quarantined}{shell};
   }), 'once its file changes it is validated again (and quarantined again)');
($st, $b) = api(POST => '/api/discovery/reject/nothing');
is_deeply($b, { rejected => JSON::PP::false, mcp_server => 'nothing',
                error => 'McpServer not found in quarantine or pending' }, 'reject of an unknown name');

# approve cannot lift the command allow-list
($st, $b) = api(POST => '/api/discovery/approve/shell');
is($b->{approved}, JSON::PP::false, 'approving a disallowed command is refused');
like($b->{error}, qr/sh/, 'with the reason');

# authoritative: set through the API (an override of hangar.yaml's source)
($st, $b) = api(PUT => "/api/discovery/sources/$FS", '{"mode":"authoritative"}');
is($st, 200, 'PUT a source of hangar.yaml: its mode');
is_deeply($b, { source_id => $FS, updated => JSON::PP::true }, 'updated');
put_file('gamma.yaml', "name: gamma\nttl: 1\nconnection:\n  command: [perl, $SERVER]\n");
ok(wait_for('gamma', sub { server_ids() =~ /\bgamma\b/ }), 'gamma registered');
unlink "$dir/gamma.yaml";
sleep 2;
api(POST => "/api/discovery/sources/$FS/scan");
ok(wait_for('gamma gone', sub { server_ids() !~ /\bgamma\b/ }),
   'authoritative: a server gone from the source for longer than its TTL is removed');
($st, $b) = api(PUT => "/api/discovery/sources/$FS", '{"config":{"path":"/tmp"}}');
is($st, 409, 'the keys of hangar.yaml\'s source are changed in hangar.yaml, not here');
($st, $b) = api(DELETE => "/api/discovery/sources/$FS");
is($st, 409, 'nor is it deleted here');

# disable / enable
($st, $b) = api(PUT => "/api/discovery/sources/$FS/enable", '{"enabled":false}');
is_deeply($b, { source_id => $FS, enabled => JSON::PP::false }, 'disabled');
put_file('delta.yaml', "name: delta\nconnection:\n  command: [perl, $SERVER]\n");
api(POST => "/api/discovery/sources/$FS/scan");
unlike(server_ids(), qr/\bdelta\b/, 'a disabled source registers nothing');
($st, $b) = api(PUT => "/api/discovery/sources/$FS/enable", '{"enabled":true}');
is($st, 200, 'enabled again');
ok(wait_for('delta', sub { server_ids() =~ /\bdelta\b/ }), 'and its servers come');

# bad bodies
($st, $b) = api(POST => '/api/discovery/sources', '{"mode":"additive"}');
is($st, 400, 'POST without source_type');
like($b->{message}, qr/source_type/, 'names it');
($st, $b) = api(POST => '/api/discovery/sources', '{"source_type":"filesystem","mode":"x"}');
is($st, 400, 'a bad mode');
($st, $b) = api(POST => '/api/discovery/sources', '{"source_type":"ftp","mode":"additive"}');
is($st, 400, 'a bad type');
($st, $b) = api(POST => '/api/discovery/sources', '[1]');
is($st, 400, 'not an object');
($st, $b) = api(POST => '/api/discovery/sources', '{"source_type":"filesystem","mode":"additive"}');
is($st, 409, 'a second source of one type is refused');
($st, $b) = api(POST => '/api/discovery/sources',
                '{"source_type":"kubernetes","mode":"additive","config":{"bogus":1}}');
is($st, 422, 'an unknown key in config is refused');
($st, $b) = api(PUT => '/api/discovery/sources/nope', '{"mode":"additive"}');
is($st, 404, 'PUT of an unknown source');
($st, $b) = api(POST => '/api/discovery/sources/nope/scan');
is($st, 404, 'scan of an unknown source');

# a source registered through the API is kept across a restart
($st, $b, my $hh) = api(POST => '/api/discovery/sources',
                '{"source_type":"kubernetes","mode":"authoritative","enabled":false,'
                . '"config":{"namespaces":["mcp"]}}');
is($st, 201, 'POST a source');
like($b->{source_id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
     'its id is a UUIDv4');
is($hh->{'x-hangar-preview'}, 'discovery-source-management', 'the preview header');
my $k8s = $b->{source_id};

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
Hangar::Test::check_valgrind('first run');

# auto_register: false -- new servers are pending until approved
start_nginx('false', 1);
wait_for('sources', sub { ($st, $b) = api(GET => '/api/discovery/sources'); $st && $st == 200 });
my %ids = map { $_->{id} => $_ } @{ $b->{sources} };
ok($ids{$k8s} && $ids{$k8s}{mode} eq 'authoritative' && !$ids{$k8s}{is_enabled},
   'the API\'s source survived the restart');
is($ids{$FS}{mode}, 'authoritative', 'and the override of hangar.yaml\'s source too');
like(server_ids(), qr/\balpha\b.*\bdelta\b/, 'registered servers survived the restart');

put_file('epsilon.yaml', "name: epsilon\nconnection:\n  command: [perl, $SERVER]\n");
api(POST => "/api/discovery/sources/$FS/scan");
(undef, $b) = api(GET => '/api/discovery/pending');
is(join(',', map { $_->{name} } @{ $b->{pending} }), 'epsilon', 'a new server is pending');
unlike(server_ids(), qr/epsilon/, 'and not registered');
($st, $b) = api(POST => '/api/discovery/approve/epsilon');
is_deeply($b, { approved => JSON::PP::true, mcp_server => 'epsilon', status => 'registered' },
          'approve a pending server');
like(server_ids(), qr/\bepsilon\b/, 'it is registered at once');
api(POST => "/api/discovery/sources/$FS/scan");
(undef, $b) = api(GET => '/api/discovery/pending');
is(scalar @{ $b->{pending} }, 0, 'and not pending after the next cycle');
like(server_ids(), qr/\bepsilon\b/, 'still registered');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('second run');
File::Path::remove_tree($dir);
Test::More::done_testing();
