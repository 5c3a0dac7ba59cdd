# Remote servers are first-class, through the front door (/mcp) and the
# pass-through (/mcp/<id>) alike: chunked SSE answers, https through a
# local TLS nginx with a CA of the test's own (verified, with SNI, against
# tls.ca_cert_path; refused when untrusted; verify_ssl: false honoured),
# bearer and header auth reaching the remote, "localhost" without a
# resolver, and connect and call timeouts giving clean errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use File::Copy ();
use File::Path ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Socket ();

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;
# valgrind makes TLS handshakes slow: the timeouts grow with it
my $K = Hangar::Test::valgrind_on() ? 10 : 1;

# the remote: SSE (chunked) for "echo", a stream that never answers for
# "never_ends"
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

# a listener that never accepts (the kernel completes the TCP handshake,
# nothing ever answers), and a port nobody listens on
my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 0)
    or die "listen: $!\n";
my $bport = $hole->sockport;
my $cport = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)->sockport;

my $tls_port = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Listen => 1)->sockport;

# a TCP relay to the TLS port that, once $switch exists, accepts and stays
# silent: a TLS handshake that never completes
my $switch = servroot() . '-silent';
unlink $switch;
my $relay = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16,
                                  ReuseAddr => 1) or die "listen: $!\n";
my $rport = $relay->sockport;
my $rpid = fork // die "fork: $!\n";
if (!$rpid) {
    $SIG{CHLD} = 'IGNORE';
    alarm 300;
    while (my $c = $relay->accept) {
        next if fork;
        alarm 60;
        if (-e $switch) { sleep 1 while 1 }
        my $u = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$tls_port") or POSIX::_exit(0);
        my $sel = IO::Select->new($c, $u);
        while (my @r = $sel->can_read) {
            for my $from (@r) {
                my $to = $from == $c ? $u : $c;
                sysread($from, my $buf, 65536) or POSIX::_exit(0);
                syswrite($to, $buf);
            }
        }
        POSIX::_exit(0);
    }
    POSIX::_exit(0);
}
close $relay;
END { local $?; if ($rpid) { kill 'KILL', $rpid; waitpid $rpid, 0 } }

# a CA of our own; it signed a certificate for 127.0.0.1 (the TLS port's
# default server) and one for localhost (its server_name localhost: only
# SNI reaches it)
my $certs = servroot() . '-certs';
File::Path::remove_tree($certs);
File::Path::make_path($certs);
my $q = '>/dev/null 2>&1';
system("cd $certs && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=hangar-test-ca "
     . "-keyout ca.key -out ca.pem $q "
     . "&& openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=ip -keyout ip.key -out ip.csr $q "
     . "&& printf 'subjectAltName=IP:127.0.0.1\\n' > ip.cnf "
     . "&& openssl x509 -req -in ip.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
     . "-extfile ip.cnf -out ip.pem $q "
     . "&& openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout name.key -out name.csr $q "
     . "&& printf 'subjectAltName=DNS:localhost\\n' > name.cnf "
     . "&& openssl x509 -req -in name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
     . "-extfile name.cnf -out name.pem $q "
     . "&& openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=other "
     . "-addext subjectAltName=IP:127.0.0.1 -keyout other.key -out other.pem $q") == 0
    or BAIL_OUT('openssl could not make the certificates');

my $proxy = "proxy_http_version 1.1; proxy_buffering off;";
my $yaml = "mcp_servers:\n";
my %servers = (
    plain          => "endpoint: http://127.0.0.1:$hport/mcp",
    local          => "endpoint: http://localhost:$hport/mcp",
    tls            => "endpoint: https://127.0.0.1:$tls_port/mcp\n    tls: {ca_cert_path: $certs/ca.pem}\n"
                    . "    http: {connect_timeout: @{[ 10 * $K ]}}",
    'tls-name'     => "endpoint: https://localhost:$tls_port/mcp\n    tls: {ca_cert_path: $certs/ca.pem}\n"
                    . "    http: {connect_timeout: @{[ 10 * $K ]}}",
    'tls-insecure' => "endpoint: https://127.0.0.1:$tls_port/mcp\n    tls: {verify_ssl: false}\n"
                    . "    http: {connect_timeout: @{[ 10 * $K ]}}",
    'tls-untrusted'=> "endpoint: https://127.0.0.1:$tls_port/mcp\n"
                    . "    http: {connect_timeout: @{[ 10 * $K ]}}",
    bearer         => "endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/authed/mcp\n"
                    . "    auth: {type: bearer, bearer_token: s3cret}",
    keyed          => "endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/keyed/mcp\n"
                    . "    auth: {type: api_key, api_key: k1, api_key_header: X-Team-Key}\n"
                    . "    http: {headers: {X-Extra: 'yes'}}",
    noauth         => "endpoint: http://127.0.0.1:\$TEST_NGINX_PORT/authed/mcp",
    slow           => "endpoint: http://127.0.0.1:$hport/mcp\n    http: {read_timeout: @{[ 3 * $K ]}}",
    blackhole      => "endpoint: http://127.0.0.1:$bport/mcp\n"
                    . "    http: {connect_timeout: 1, read_timeout: @{[ 2 * $K ]}}",
    'tls-hang'     => "endpoint: https://127.0.0.1:$rport/mcp\n    tls: {ca_cert_path: $certs/ca.pem}\n"
                    . "    http: {connect_timeout: @{[ 2 * $K ]}}",
    refused        => "endpoint: http://127.0.0.1:$cport/mcp",
);
$yaml .= "  $_:\n    mode: remote\n    $servers{$_}\n" for sort keys %servers;

nginx_start({
    workers     => 2,
    timeout     => 20 * $K,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n"
                 . "location /authed/ {\n"
                 . "  if (\$http_authorization != 'Bearer s3cret') { return 401; }\n"
                 . "  proxy_pass http://127.0.0.1:$hport/; $proxy }\n"
                 . "location /keyed/ {\n"
                 . "  set \$ok \"\$http_x_team_key:\$http_x_extra\";\n"
                 . "  if (\$ok != 'k1:yes') { return 403; }\n"
                 . "  proxy_pass http://127.0.0.1:$hport/; $proxy }\n"
                 . "}\n"
                 # a certificate named by a variable is read at each handshake
                 . "map \$ssl_server_name \$ip_cert { default ip; }\n"
                 . "server { listen 127.0.0.1:$tls_port ssl; server_name _;\n"
                 . "  ssl_certificate $certs/\$ip_cert.pem;\n"
                 . "  ssl_certificate_key $certs/\$ip_cert.key;\n"
                 . "  location / { proxy_pass http://127.0.0.1:$hport; $proxy }\n"
                 . "} server { listen 127.0.0.1:$tls_port ssl; server_name localhost;\n"
                 . "  ssl_certificate $certs/name.pem;\n"
                 . "  ssl_certificate_key $certs/name.key;\n"
                 . "  location / { proxy_pass http://127.0.0.1:$hport; $proxy }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml",
});

sub api ($$) {
    my ($st, $h, $b) = http_request($_[0], $_[1]);
    return ($st, eval { $json->decode($b) } // {}, $b);
}

my $CALL = $json->encode({ jsonrpc => '2.0', id => 7, method => 'tools/call',
                           params => { name => 'echo', arguments => { text => 'hi' } } });
my $SLOW = $json->encode({ jsonrpc => '2.0', id => 8, method => 'tools/call',
                           params => { name => 'never_ends', arguments => {} } });
my %ACCEPT = ('Content-Type' => 'application/json',
              'Accept' => 'application/json, text/event-stream');

# -- the pass-through ---------------------------------------------------------
for my $id (qw(plain local tls tls-name tls-insecure bearer keyed tls-hang)) {
    my ($st, $h, $b, $err) = http_request(POST => "/mcp/$id", $CALL, \%ACCEPT);
    is($st, 200, "pass $id: a call") or diag($err // $b);
    like($h->{'content-type'} // '', qr{text/event-stream}, "pass $id: answered with SSE");
    like($h->{'transfer-encoding'} // '', qr/chunked/, "pass $id: chunked");
    like($b // '', qr/"method":"notifications\/message".*"text":"echo: hi"/s,
         "pass $id: the notification, then the result") or diag($b);
}

# servers that cannot start: a JSON error, at once or after their timeouts
for my $id (qw(tls-untrusted noauth blackhole refused)) {
    my ($st, $h, $b, $err) = http_request(POST => "/mcp/$id", $CALL, \%ACCEPT);
    is($st, 502, "pass $id: a server that cannot start is a 502") or diag($err);
    like($b // '', qr/"error":"McpServerStartError"/, "pass $id: with the envelope")
        or diag($b);
}

# a started server that stops answering: the call's own timeouts
my ($st, $h, $b, $err) = http_request(POST => '/mcp/slow', $SLOW, \%ACCEPT);
ok(!defined $b || $b !~ /"result"/, 'pass slow: a call that never answers gets no result');
ok(($st // 0) == 504 || ($err // '') =~ /incomplete/,
   'pass slow: hangar ends it (http.read_timeout), the client does not wait: '
   . ($st // $err));
open my $fh, '>', $switch or die;
close $fh;
($st, $h, $b, $err) = http_request(POST => '/mcp/tls-hang', $CALL, \%ACCEPT);
is($st, 504, 'pass tls-hang: a TLS handshake that never completes is a 504 '
   . '(http.connect_timeout)') or diag($err);

# -- the front door -----------------------------------------------------------
for my $id (qw(plain local tls tls-name tls-insecure bearer keyed slow)) {
    my ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "start $id") or diag($raw);
}
for ([qw(tls-untrusted TLS certificate not trusted)],
     [qw(noauth HTTP 401)],
     [qw(blackhole timed out)],
     [qw(refused unreachable)]) {
    my ($id, @words) = @$_;
    my ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 500, "start $id fails");
    like($doc->{message} // '', qr/\Q@words\E/i, "start $id: says why") or diag($raw);
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
rpc(initialize => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } });
for my $id (qw(plain local tls tls-name tls-insecure bearer keyed)) {
    my $r = rpc('tools/call', { name => "${id}__echo", arguments => { text => 'hi' } });
    is($r->{result}{content}[0]{text}, 'echo: hi', "front door $id: the call through SSE")
        or diag($json->encode($r));
}
my $r = rpc('tools/call', { name => 'slow__never_ends', arguments => {} });
ok($r->{result}{isError}, 'front door slow: a call that never answers is an error result');
like($r->{result}{content}[0]{text} // '', qr/timed out/, 'front door slow: that says it timed out')
    or diag($json->encode($r));

# the TLS port's default server now shows a certificate our CA did not sign
for my $ext (qw(pem key)) {
    File::Copy::copy("$certs/other.$ext", "$certs/ip.$ext.new") or die "copy: $!\n";
}
rename("$certs/ip.key.new", "$certs/ip.key") && rename("$certs/ip.pem.new", "$certs/ip.pem")
    or die "rename: $!\n";
($st, $h, $b) = http_request(POST => '/mcp/tls', $CALL, \%ACCEPT);
is($st, 502, 'pass tls: a certificate the CA did not sign is refused');
($st, $h, $b) = http_request(POST => '/mcp/tls-insecure', $CALL, \%ACCEPT);
is($st, 200, 'pass tls-insecure: verify_ssl false is honoured');
($st, $h, $b) = http_request(POST => '/mcp/tls-name', $CALL, \%ACCEPT);
is($st, 200, 'pass tls-name: SNI still reaches the server of its name');
my $log = do { local $/; open my $l, '<', servroot() . '/logs/error.log'; <$l> } // '';
like($log, qr/MCP server "tls": TLS certificate of "127.0.0.1" not trusted/,
     'the refusal is logged, naming the server');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('remotes') if Hangar::Test::valgrind_on();
File::Path::remove_tree($certs);
Test::More::done_testing();
