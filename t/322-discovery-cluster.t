# Docker and Kubernetes discovery against stand-ins of their APIs (the
# exact JSON they return): a unix socket for the Docker Engine API, HTTPS
# on 127.0.0.1 for the API server.  Labels and annotations, modes,
# endpoints, namespace rules, conflicts between sources, health checks,
# a failing API making its source unhealthy, authoritative removal.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use File::Path ();
use IO::Socket::INET ();

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;
my $root = servroot();
my $dir = "$root-cluster";
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
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 1)->sockport;   # nothing listens after

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
END { if ($api_pid) { kill 'TERM', $api_pid; waitpid $api_pid, 0 } }
for (1 .. 100) { last if -S "$dir/docker.sock"; select undef, undef, undef, 0.05 }

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

nginx_start({
    workers     => 2,
    timeout     => 90,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /health { return 200 ok; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "execution:\n  allowed_commands: [perl, docker]\n"
                 . "  remote_allow: [127.0.0.1/32]\n"
                 . "discovery:\n  enabled: true\n  refresh_interval_s: 3600\n"
                 . "  security:\n    health_check_timeout_s: 2\n"
                 . "  sources:\n"
                 . "    - type: docker\n      mode: authoritative\n"
                 . "      socket_path: $dir/docker.sock\n"
                 . "    - type: kubernetes\n      api_server: https://127.0.0.1:$k8s_port\n"
                 . "      token_path: $dir/token\n      ca_path: $dir/cert.pem\n"
                 . "      allowed_namespaces: [mcp, tools]\n",
});
my $port = port();

# containers as GET /containers/json returns them
my %base = (Image => 'mcp/math:1', State => 'running', Status => 'Up 2 minutes',
            Command => 'serve', Created => 1767225600, Mounts => [], HostConfig => { NetworkMode => 'bridge' });
my @containers = (
    { %base, Id => '3f2a1b2c3d4e5f60718293a4b5c6d7e8f9011121314151617181920212223242', Names => ['/docker-math'],
      Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.mode' => 'http', 'mcp.hangar.port' => '8080',
                  'mcp.hangar.group' => 'math', 'com.docker.compose.project' => 'demo' },
      Ports => [{ IP => '0.0.0.0', PrivatePort => 8080, PublicPort => $port + 0, Type => 'tcp' },
                { IP => '::', PrivatePort => 8080, PublicPort => $port + 0, Type => 'tcp' }],
      NetworkSettings => { Networks => { bridge => { IPAddress => '172.17.0.3', Gateway => '172.17.0.1' } } } },
    { %base, Id => 'aa00000000000000000000000000000000000000000000000000000000000001', Names => ['/tool-box'],
      Image => 'mcp/tool:2',
      Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.name' => 'dtool', 'mcp.hangar.read-only' => 'yes',
                  'mcp.hangar.volumes' => '/srv/a:/a, /srv/b:/b:ro', 'mcp.hangar.ttl' => '8' },
      Ports => [], NetworkSettings => { Networks => { bridge => { IPAddress => '172.17.0.4' } } } },
    { %base, Id => 'bb00000000000000000000000000000000000000000000000000000000000002', Names => ['/weird'],
      Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.mode' => 'grpc' }, Ports => [],
      NetworkSettings => { Networks => {} } },
    { %base, Id => 'cc00000000000000000000000000000000000000000000000000000000000003', Names => ['/sick'],
      Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.mode' => 'http', 'mcp.hangar.port' => '9000' },
      Ports => [{ IP => '127.0.0.1', PrivatePort => 9000, PublicPort => $closed + 0, Type => 'tcp' }],
      NetworkSettings => { Networks => {} } },
    { %base, Id => 'dd00000000000000000000000000000000000000000000000000000000000004', Names => ['/shared-c'],
      Labels => { 'mcp.hangar.enabled' => 'true', 'mcp.hangar.name' => 'shared', 'mcp.hangar.mode' => 'http',
                  'mcp.hangar.port' => '80' },
      Ports => [{ IP => '127.0.0.1', PrivatePort => 80, PublicPort => $port + 0, Type => 'tcp' }],
      NetworkSettings => { Networks => {} } },
);

sub pod ($$%) {
    my ($ns, $name, %o) = @_;
    return {
        metadata => { name => $name, namespace => $ns, uid => "uid-$name",
                      labels => { app => $name },
                      annotations => { 'mcp-hangar.io/enabled' => 'true', 'mcp-hangar.io/port' => "$port",
                                       %{ $o{ann} || {} } } },
        spec => { nodeName => 'node-1', containers => [{ name => 'main', image => 'x' }] },
        status => { phase => $o{phase} // 'Running', podIP => $o{ip} // '127.0.0.1',
                    hostIP => '10.0.0.1' },
    };
}
my @pods = (
    pod('mcp', 'k8s-math-7d9f', ann => { 'mcp-hangar.io/name' => 'k8s-math', 'mcp-hangar.io/group' => 'g1' }),
    pod('kube-system', 'coredns'),
    pod('tools', 'pending-pod', phase => 'Pending'),
    pod('other', 'not-allowed'),
    pod('tools', 'shared-pod', ann => { 'mcp-hangar.io/name' => 'shared' }),
    { %{ pod('mcp', 'plain') }, metadata => { name => 'plain', namespace => 'mcp', annotations => {} } },
);

data({ containers => \@containers, pods => \@pods });
scan();
my $s = servers();

is(join(',', sort keys %$s), 'docker-math,dtool,k8s-math,shared',
   'registered: the http container, the container-mode one, the allowed running pod, the shared name once');
is($s->{'docker-math'}{mode}, 'remote', 'an http container is a remote server');
is($s->{dtool}{mode}, 'docker', 'a container-mode one runs as a docker server');
is($s->{shared}{description}, 'Discovered from kubernetes',
   'two sources with one name: kubernetes wins over docker');

my $state = $json->decode(Hangar::Test::slurp("$root/state/hangar-state.json"));
is($state->{mcp_servers}{'docker-math'}{endpoint}, "http://127.0.0.1:$port",
   'the endpoint is the published port, 0.0.0.0 read as 127.0.0.1');
is($state->{mcp_servers}{'k8s-math'}{endpoint}, "http://127.0.0.1:$port",
   'a pod\'s endpoint is its IP and annotated port');
is_deeply([@{ $state->{mcp_servers}{dtool} }{qw(image read_only)}], ['mcp/tool:2', JSON::PP::true],
          'the image and read-only label');
is_deeply($state->{mcp_servers}{dtool}{volumes}, ['/srv/a:/a', '/srv/b:/b:ro'], 'the volumes label');

my ($st, $q) = api(GET => '/api/discovery/quarantined');
is(join(',', sort keys %{ $q->{quarantined} }), 'sick', 'the container whose health check fails is quarantined');
like($q->{quarantined}{sick}{reason}, qr/^failed_health: GET http:\/\/127\.0\.0\.1:$closed\/health/,
     'the reason names the check');
my $m = $q->{quarantined}{sick}{mcp_server};
is_deeply([@$m{qw(source_type mode)}, @{ $m->{metadata} }{qw(container_id container_name image status)}],
          ['docker', 'http', 'cc0000000000', 'sick', 'mcp/math:1', 'running'],
          'its discovered object: type, mode, container id (12), name, image, status');

# what the APIs were asked
my @req = map { $json->decode($_) } split /\n/, Hangar::Test::slurp("$dir/requests.log");
my ($dreq) = grep { $_->{api} eq 'docker' } @req;
like($dreq->{path}, qr{^/containers/json\?all=1&filters=%7B%22label%22%3A%5B%22mcp\.hangar\.enabled%3Dtrue%22%5D%7D$},
     'docker: the container list filtered by the label');
my ($kreq) = grep { $_->{api} eq 'k8s' } @req;
is($kreq->{path}, '/api/v1/pods', 'kubernetes: the pods of every namespace at once');
is($kreq->{authorization}, 'Bearer test-token', 'with the service account token');

(undef, my $src) = api(GET => '/api/discovery/sources');
my %src = map { $_->{source_type} => $_ } @{ $src->{sources} };
is_deeply([@{ $src{docker} }{qw(id mode is_healthy mcp_servers_count)}],
          ['28018ad1-4d9d-54dc-9e4e-c5d856af4612', 'authoritative', JSON::PP::true, 4],
          'the docker source: its id, mode, health, 4 containers (the grpc one skipped)');
is_deeply([@{ $src{kubernetes} }{qw(id is_healthy mcp_servers_count)}],
          ['7afbd3ca-c2b2-5516-a3d8-408e7c75580e', JSON::PP::true, 2],
          'the kubernetes source: 2 pods pass the namespace, phase and annotation rules');

# an API error makes the source unhealthy, and changes nothing
data({ containers => \@containers, pods => \@pods, docker_status => 500 });
scan();
(undef, $src) = api(GET => '/api/discovery/sources');
%src = map { $_->{source_type} => $_ } @{ $src->{sources} };
is($src{docker}{is_healthy}, JSON::PP::false, 'a Docker API answering 500 makes its source unhealthy');
like($src{docker}{error_message}, qr/answered 500/, 'with the reason');
ok(servers()->{dtool}, 'and its servers stay');
sleep 9;
scan();
ok(servers()->{dtool}, 'even past their TTL: a source that fails reports nothing gone');
data({ containers => \@containers, pods => \@pods });
scan();

# authoritative: a container gone for longer than its TTL is removed
data({ containers => [ grep { $_->{Names}[0] ne '/tool-box' } @containers ], pods => \@pods });
scan();
ok(servers()->{dtool}, 'a container just gone stays until its TTL (8 s) is over');
sleep 9;
scan();
ok(!servers()->{dtool}, 'then the authoritative source removes it');
(undef, $src) = api(GET => '/api/discovery/sources');
%src = map { $_->{source_type} => $_ } @{ $src->{sources} };
is($src{docker}{is_healthy}, JSON::PP::true, 'the source is healthy again');

# namespaces listed: one request per namespace
($st) = api(PUT => '/api/discovery/sources/7afbd3ca-c2b2-5516-a3d8-408e7c75580e',
            '{"config":{"namespaces":["mcp"]}}');
is($st, 409, 'hangar.yaml\'s source keys are not changed through the API');

# the kubernetes API refusing the token
data({ containers => [], pods => \@pods, k8s_status => 403 });
scan();
(undef, $src) = api(GET => '/api/discovery/sources');
%src = map { $_->{source_type} => $_ } @{ $src->{sources} };
is($src{kubernetes}{is_healthy}, JSON::PP::false, 'a 403 from the API server makes the source unhealthy');
like($src{kubernetes}{error_message}, qr/answered 403/, 'with the status');

is(nginx_stop(), '', 'nginx stopped');
kill 'TERM', $api_pid;
waitpid $api_pid, 0;
$api_pid = 0;
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('cluster discovery');
File::Path::remove_tree($dir);
Test::More::done_testing();
