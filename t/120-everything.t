# Real MCP software: @modelcontextprotocol/server-everything from npm, as a
# stdio server behind a bridge and as a remote Streamable HTTP server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or server-everything missing (make test-deps needs npm)')
    unless $NODE && -f $EV;

my $json = JSON::PP->new;

sub api ($$;$) {
    my ($st, $h, $b) = http_request($_[0], $_[1], $_[2]);
    return ($st, eval { $json->decode($b) } // {}, $b);
}

# the remote peer: server-everything over Streamable HTTP, on 127.0.0.1
my $port = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1)->sockport;
my $remote = fork // die;
if (!$remote) {
    $ENV{PORT} = $port;
    $ENV{NODE_OPTIONS} = "--require $REPO/t/servers/bind-localhost.cjs";
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec $NODE, $EV, 'streamableHttp';
    exit 127;
}
END { local $?; if ($remote) { kill "TERM", $remote; waitpid $remote, 0 } }

my $deadline = time + 20;
sleep 0.1 until IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") || time > $deadline;

# an https front for it: nginx with a self-signed certificate for 127.0.0.1
my $tls_port = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Listen => 1)->sockport;
my $certdir = "$FindBin::Bin/servroot-120-everything-certs";
mkdir $certdir;
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
     . "-addext subjectAltName=IP:127.0.0.1 -keyout $certdir/key.pem "
     . "-out $certdir/cert.pem >/dev/null 2>&1") == 0
    or BAIL_OUT('openssl could not make a certificate');

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location /authed/ {\n"
                 . "  if (\$http_authorization != 'Bearer s3cret') { return 401; }\n"
                 . "  proxy_pass http://127.0.0.1:$port/; proxy_http_version 1.1;\n"
                 . "  proxy_buffering off; }\n"
                 . "location /keyed/ {\n"
                 . "  if (\$http_x_team_key != 'k1') { return 403; }\n"
                 . "  proxy_pass http://127.0.0.1:$port/; proxy_http_version 1.1;\n"
                 . "  proxy_buffering off; }\n"
                 . "} server { listen 127.0.0.1:$tls_port ssl;\n"
                 . "  ssl_certificate $certdir/cert.pem;\n"
                 . "  ssl_certificate_key $certdir/key.pem;\n"
                 . "  location / { proxy_pass http://127.0.0.1:$port;\n"
                 . "    proxy_http_version 1.1; proxy_buffering off; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "mcp_servers:\n"
                 . "  everything:\n"
                 . "    command: [$NODE, $EV, stdio]\n"
                 . "  remote:\n"
                 . "    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:$port/mcp\n"
                 . "    http: {read_timeout: 20}\n"
                 . "  tls-insecure:\n"
                 . "    mode: remote\n"
                 . "    endpoint: https://127.0.0.1:$tls_port/mcp\n"
                 . "    tls: {verify_ssl: false}\n"
                 . "  tls-verified:\n"
                 . "    mode: remote\n"
                 . "    endpoint: https://127.0.0.1:$tls_port/mcp\n"
                 . "    tls: {verify_ssl: true, ca_cert_path: $certdir/cert.pem}\n"
                 . "  bearer:\n"
                 . "    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/authed/mcp\n"
                 . "    auth: {type: bearer, bearer_token: s3cret}\n"
                 . "  apikey:\n"
                 . "    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/keyed/mcp\n"
                 . "    auth: {type: api_key, api_key: k1, api_key_header: X-Team-Key}\n"
                 . "  noauth:\n"
                 . "    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/authed/mcp\n"
                 . "  tls-untrusted:\n"
                 . "    mode: remote\n"
                 . "    endpoint: https://127.0.0.1:$tls_port/mcp\n",
});

for my $id (qw(everything remote tls-insecure tls-verified bearer apikey)) {
    my ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id: start") or diag($raw);
    my %tools = map { $_ => 1 } @{ $doc->{tools} || [] };
    ok($tools{echo} && $tools{'get-sum'}, "$id: echo and get-sum among "
       . scalar(keys %tools) . ' tools');

    ($st, $doc) = api(GET => "/api/mcp_servers/$id");
    like($doc->{meta}{init_result}{serverInfo}{name} // '', qr/everything/i,
         "$id: serverInfo from the handshake");
    like($doc->{meta}{init_result}{protocolVersion} // '', qr/^20\d\d-/,
         "$id: negotiated protocol version");

    ($st, $doc) = api(POST => "/api/mcp_servers/$id/stop");
    is($doc->{stopped}, $id, "$id: stop");
    ($st, $doc) = api(GET => "/api/mcp_servers/$id/tools");
    ok(@{ $doc->{tools} } >= 10, "$id: catalog kept after stop");
}

my ($st, $doc, $raw) = api(POST => '/api/mcp_servers/noauth/start');
is($st, 500, 'a remote that wants a token, without one: the start fails');
like($doc->{message} // '', qr/HTTP 401/, 'and says 401') or diag($raw);

($st, $doc, $raw) = api(POST => '/api/mcp_servers/tls-untrusted/start');
is($st, 500, 'https with an untrusted certificate: the start fails');
like($doc->{message} // '', qr/TLS certificate not trusted: self.signed certificate/,
     'and says why') or diag($raw);

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Test::More::done_testing();
