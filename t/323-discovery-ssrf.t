# The SSRF rule for discovered endpoints (hangar-security §5.4): a Docker
# container or Kubernetes pod may be reached on a private address when it
# is one of the runtime addresses its source reports for it (here
# 127.0.0.2, which execution.remote_allow does not open), at registration,
# in the health check and when the client connects; link-local and
# 0.0.0.0/8 addresses never; the exemption is kept with the server (a
# restart keeps it callable), is for that server's own addresses only,
# and cannot be set through the REST API.  Only 127.0.0.x and unix
# sockets are ever connected to.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use File::Path ();
use IO::Socket::INET ();
use POSIX ();

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;
my $root = servroot();
my $dir = "$root-ssrf";
File::Path::remove_tree($dir);
File::Path::make_path($dir);

system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
     . "-addext subjectAltName=IP:127.0.0.1 -keyout $dir/key.pem "
     . "-out $dir/cert.pem >/dev/null 2>&1") == 0
    or BAIL_OUT('openssl could not make a certificate');
chmod 0644, "$dir/key.pem";
open my $tf, '>', "$dir/token" or die; print $tf "test-token\n"; close $tf;

my $k8s_port = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Listen => 1)->sockport;
# the discovered server's port on 127.0.0.2 (nginx listens there below)
my $near = IO::Socket::INET->new(LocalAddr => '127.0.0.2', LocalPort => 0,
                                 Listen => 1)->sockport;

# the MCP server behind 127.0.0.2: a remote speaking Streamable HTTP
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
die "the remote server did not start\n" unless $hport;
END { local $?; if ($hpid) { kill 'TERM', $hpid; waitpid $hpid, 0 } }

sub data ($) {
    open my $fh, '>', "$dir/data.json.tmp" or die;
    print $fh $json->encode($_[0]);
    close $fh;
    rename "$dir/data.json.tmp", "$dir/data.json" or die;
}

data({});
my $api_pid = fork // die;
if ($api_pid == 0) {
    exec $^X, "$REPO/t/servers/hangar-cluster-api", '--docker-socket', "$dir/docker.sock",
         '--k8s-port', $k8s_port, '--cert', "$dir/cert.pem", '--key', "$dir/key.pem",
         '--data', "$dir/data.json", '--log', "$dir/requests.log";
    exit 127;
}
END { local $?; if ($api_pid) { kill 'TERM', $api_pid; waitpid $api_pid, 0 } }
for (1 .. 100) { last if -S "$dir/docker.sock"; select undef, undef, undef, 0.05 }

my %ACCEPT = ('Content-Type' => 'application/json',
              'Accept' => 'application/json, text/event-stream');

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $h, $b) = http_request($method, $uri, $body);
    return ($st, (eval { $json->decode($b) } // $b));
}

sub scan () {
    my ($st, $b) = api(POST => '/api/discovery/sources/28018ad1-4d9d-54dc-9e4e-c5d856af4612/scan');
    return $b;
}

sub servers () {
    my (undef, $b) = api(GET => '/api/mcp_servers');
    return { map { $_->{mcp_server_id} => $_ } @{ $b->{mcp_servers} || [] } };
}

sub state () {
    return $json->decode(Hangar::Test::slurp("$root/state/hangar-state.json"));
}

my $sid;
sub rpc ($$) {
    my ($method, $params) = @_;
    my %hd = %ACCEPT;
    $hd{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $h, $b) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 1, method => $method, params => $params }), \%hd);
    $sid //= $h->{'mcp-session-id'};
    my @data = ($b // '') =~ /^data: (.*)$/mg;
    return eval { $json->decode(@data ? $data[-1] : $b) } // { raw => $b };
}

sub call_echo ($) {
    my $r = rpc('tools/call', { name => "$_[0]__echo", arguments => { text => 'hi' } });
    return $r->{result}{content}[0]{text} // $json->encode($r);
}

# what reached 127.0.0.2 (the access log of its server)
sub near_hits () {
    my $log = Hangar::Test::slurp("$dir/near.log") // '';
    return scalar(() = $log =~ m{ /health }g);
}

my $proxy = "proxy_http_version 1.1; proxy_buffering off;";
nginx_start({
    workers     => 1,    # one worker: the kept connections are all in it
    timeout     => 90,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_mcp_naming prefixed;\n"
                 . "    server { listen 127.0.0.2:$near; access_log $dir/near.log;\n"
                 . "      location = /health { return 200 ok; }\n"
                 . "      location / { proxy_pass http://127.0.0.1:$hport; $proxy }\n"
                 . "    }\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n",
    # no execution.remote_allow: no private network is opened by the operator
    user_files  => ">>> conf/hangar.yaml\n"
                 . "execution:\n  allowed_commands: [perl]\n"
                 . "discovery:\n  enabled: true\n  refresh_interval_s: 3600\n"
                 . "  security:\n    health_check_timeout_s: 2\n"
                 . "  sources:\n"
                 . "    - type: docker\n      mode: additive\n"
                 . "      socket_path: $dir/docker.sock\n"
                 . "    - type: kubernetes\n      api_server: https://127.0.0.1:$k8s_port\n"
                 . "      token_path: $dir/token\n      ca_path: $dir/cert.pem\n"
                 . "      allowed_namespaces: [mcp]\n",
});

my %base = (Image => 'mcp/x:1', State => 'running', Status => 'Up', Command => 'serve',
            Created => 1767225600, Mounts => [], HostConfig => { NetworkMode => 'bridge' });
sub container ($$$) {
    my ($name, $ip, $port) = @_;
    return { %base, Id => sprintf('%064x', length($name) * 7919 + ord($name)), Names => ["/$name"],
             Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.mode' => 'http',
                         'mcp.hangar.port' => "$port" },
             Ports => [], NetworkSettings => { Networks => { bridge => { IPAddress => $ip } } } };
}
sub pod ($$$;$) {
    my ($name, $ip, $port, $ips) = @_;
    return {
        metadata => { name => $name, namespace => 'mcp', uid => "uid-$name", labels => {},
                      annotations => { 'mcp-hangar.io/enabled' => 'true',
                                       'mcp-hangar.io/port' => "$port" } },
        spec => { nodeName => 'node-1' },
        status => { phase => 'Running', podIP => $ip, hostIP => '127.0.0.1',
                    podIPs => $ips || [{ ip => $ip }] },
    };
}

data({
    containers => [container('dnear', '127.0.0.2', $near),
                   container('dmeta', '169.254.169.254', 80),
                   container('dzero', '0.0.0.0', 80)],
    pods       => [pod('knear', '127.0.0.2', $near, [{ ip => '127.0.0.2' }, { ip => 'fd00::2' }]),
                   pod('kmeta', '169.254.169.254', 80)],
});
scan();
my $s = servers();

# -- registration: the runtime address is exempt, link-local never ----------
is(join(',', sort keys %$s), 'dnear,knear',
   'a container and a pod on their own runtime address 127.0.0.2 are registered '
   . '(remote_allow does not open it)');
ok(near_hits() >= 2, 'their health checks reached 127.0.0.2');

my ($st, $q) = api(GET => '/api/discovery/quarantined');
is(join(',', sort keys %{ $q->{quarantined} || {} }), 'dmeta,dzero,kmeta',
   'link-local and 0.0.0.0 runtime addresses are not exempt: quarantined');
for my $id (qw(dmeta kmeta)) {
    like($q->{quarantined}{$id}{reason} // '',
         qr/^failed_validation: endpoint: the host "169\.254\.169\.254" is refused \(169\.254\.0\.0\/16\): a discovered endpoint/,
         "$id: refused with the SSRF reason at validation, before any health check (nothing connected)");
}
like($q->{quarantined}{dzero}{reason} // '', qr/^failed_validation: .*\(0\.0\.0\.0\/8\)/,
     'dzero: refused (0.0.0.0/8)');

my $state = state();
is_deeply($state->{mcp_servers}{dnear}{runtime_addresses}, ['127.0.0.2'],
          'the container\'s runtime addresses are kept with the server');
is_deeply($state->{mcp_servers}{knear}{runtime_addresses}, ['127.0.0.2', 'fd00::2'],
          'the pod\'s: status.podIP and status.podIPs');

# -- a start, and a call through the front door, connect to 127.0.0.2 --------
for my $id (qw(dnear knear)) {
    ($st, my $b) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id starts") or diag($json->encode($b));
}
rpc(initialize => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } });
is(call_echo('dnear'), 'echo: hi', 'a call to the discovered container works through the front door');
is(call_echo('knear'), 'echo: hi', 'and to the discovered pod');

# -- the REST API cannot set the exemption ------------------------------------
my $ep = "http://127.0.0.2:$near";
($st, my $b) = api(POST => '/api/mcp_servers', $json->encode({
    mcp_server_id => 'byapi', mode => 'remote', endpoint => $ep, runtime_addresses => ['127.0.0.2'] }));
is($st, 422, 'POST: runtime_addresses is not a field of the API');
like($b->{message} // $b->{detail} // $json->encode($b), qr/runtime_addresses: unknown field/, 'an unknown field')
    or diag($json->encode($b));
($st, $b) = api(POST => '/api/mcp_servers', $json->encode({
    mcp_server_id => 'byapi', mode => 'remote', endpoint => $ep }));
is($st, 400, 'POST: the same endpoint without it is refused (SSRF)');
is($b->{error}, 'ssrf_blocked', 'ssrf_blocked');

($st, $b) = api(PATCH => '/api/mcp_servers/dnear', '{"runtime_addresses":["127.0.0.3"]}');
is($st, 422, 'PATCH: runtime_addresses cannot be set on a discovered server');
($st, $b) = api(PATCH => '/api/mcp_servers/dnear', $json->encode({
    endpoint => "http://127.0.0.3:$near" }));
is($st, 400, 'PATCH: the exemption does not follow the endpoint to another address');
is($b->{error}, 'ssrf_blocked', 'ssrf_blocked') or diag($json->encode($b));
($st, $b) = api(PATCH => '/api/mcp_servers/dnear', '{"max_concurrency":4}');
is($st, 200, 'PATCH of another field is taken') or diag($json->encode($b));
is_deeply(state()->{mcp_servers}{dnear}{runtime_addresses}, ['127.0.0.2'],
          'and the discovered addresses stay with the endpoint');
is(call_echo('dnear'), 'echo: hi', 'the server is still callable');

# -- a restart: the exemption comes from the state file -----------------------
is(nginx_stop(), '', 'nginx stopped');
$state = state();
# a server whose runtime address is another one than its endpoint's host
$state->{mcp_servers}{forged} = { %{ $state->{mcp_servers}{dnear} },
                                  endpoint => "http://127.0.0.2:$near/forged",
                                  runtime_addresses => ['127.0.0.3'] };
Hangar::Test::write_file("$root/state/hangar-state.json", $json->encode($state));
# both sources fail after the restart: nothing is discovered again
data({ docker_status => 500, k8s_status => 403 });
Hangar::Test::start();
scan();
$s = servers();
ok($s->{dnear} && $s->{knear} && $s->{forged}, 'the servers are back from the state file');
$sid = undef;
rpc(initialize => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } });
is(call_echo('dnear'), 'echo: hi', 'after a restart the discovered server is callable');

($st, $b) = api(POST => '/api/mcp_servers/forged/start');
isnt($st, 200, 'a server whose runtime addresses do not hold its host does not start');
like($b->{message} // $json->encode($b), qr/connect to 127\.0\.0\.2 refused \(SSRF\)/,
     'refused when the client connects, for that server only') or diag($json->encode($b));
unlike(Hangar::Test::slurp("$dir/near.log") // '', qr{ /forged }, 'nothing reached 127.0.0.2 for it');
like(Hangar::Test::slurp("$root/logs/error.log"), qr/\[error\].*forged/, 'an [error] line names it');

is(nginx_stop(), '', 'nginx stopped');
kill 'TERM', $api_pid;
waitpid $api_pid, 0;
$api_pid = 0;
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('discovery SSRF');
File::Path::remove_tree($dir);
Test::More::done_testing();
