# What the edge rules do at run time (hangar-core.md §1.1, §2.1):
# - a remote created through the API whose host name resolves to a blocked
#   address (here through a test DNS server: 127.0.0.1, 169.254.169.254,
#   10.0.0.1) is refused when the client connects, before any packet, with
#   a clear error and a log line; hangar.yaml's remotes are trusted, and
#   execution.remote_allow opens a network;
# - the request-smuggling attempt of issue 8 (CR/LF in a header value) is
#   refused and nothing reaches the remote; a CR that a remote slips into
#   its session id is never sent back (the client refuses the call);
# - a server inherits the worker's environment less its secrets, with
#   MCP_TRANSPORT=stdio by default, and its own env may set any of them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my $root = servroot();
my @kids;

# ---- a remote MCP server on 127.0.0.1 that records every request --------

my $rlog = "/tmp/hangar-201-remote.$$";
unlink $rlog;
my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                               Listen => 64, ReuseAddr => 1)
    or die "listen: $!\n";
my $rport = $ls->sockport;

sub remote_serve ($) {
    my $c = shift;
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        sysread($c, $buf, 65536, length $buf) or return;
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    while (length $body < ($len // 0)) {
        sysread($c, $body, 65536, length $body) or last;
    }
    if (open my $fh, '>>', $rlog) { print {$fh} "$head\r\n\r\n$body\n=====\n"; close $fh }
    my $msg = eval { $json->decode($body) } // {};
    my $method = $msg->{method} // '';
    my ($path) = $head =~ /^\S+ (\S+)/;
    if (!defined $msg->{id}) {
        print {$c} "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return;
    }
    my $result = $method eq 'initialize'
        ? { protocolVersion => '2025-06-18', capabilities => { tools => {} },
            serverInfo => { name => 'recorder', version => '1' } }
        : $method eq 'tools/list'
        ? { tools => [{ name => 'probe', inputSchema => { type => 'object' } }] }
        : {};
    my $out = $json->encode({ jsonrpc => '2.0', id => $msg->{id}, result => $result });
    # /crsid/: a session id with a bare CR, to be echoed by a careless client
    my $sid = $path =~ m{^/crsid/} ? "abc\rX-Smuggled: yes" : 'sess-1';
    print {$c} "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             . "Mcp-Session-Id: $sid\r\nContent-Length: " . length($out)
             . "\r\nConnection: close\r\n\r\n$out";
}

my $rpid = fork // die "fork: $!\n";
if (!$rpid) {
    alarm 300;
    $SIG{PIPE} = 'IGNORE';
    for (;;) {
        my $c = $ls->accept or next;
        remote_serve($c);
        close $c;
    }
}
close $ls;
push @kids, $rpid;

sub recorded () {
    open my $fh, '<', $rlog or return ();
    local $/ = "\n=====\n";
    return map { s/\n=====\n\z//r } <$fh>;
}

sub nrecorded () { my @r = recorded(); return scalar @r }

# ---- a DNS server: three names, three blocked addresses ------------------

my %A = ('mcp.hangar.test' => [127, 0, 0, 1], 'meta.hangar.test' => [169, 254, 169, 254],
         'ten.hangar.test' => [10, 0, 0, 1]);
my $dns = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Proto => 'udp')
    or die "cannot bind the DNS socket: $!\n";
my $dport = $dns->sockport;
my $dpid = fork // die "fork: $!\n";
if (!$dpid) {
    alarm 300;
    for (;;) {
        my $from = $dns->recv(my $q, 512) // next;
        next if length $q < 17;
        my ($qid) = unpack 'n', $q;
        my ($i, @labels) = (12);
        while ((my $n = ord substr($q, $i, 1)) > 0) {
            push @labels, substr($q, $i + 1, $n);
            $i += $n + 1;
        }
        my $name = lc join '.', @labels;
        my $qtype = unpack 'n', substr($q, $i + 1, 2);
        my $question = substr($q, 12, $i + 5 - 12);
        my ($rcode, $answer) = (0, '');
        if ($A{$name} && $qtype == 1) {
            $answer = pack('n n n N n', 0xc00c, 1, 1, 1, 4) . pack('C4', @{ $A{$name} });
        } elsif (!$A{$name}) {
            $rcode = 3;
        }
        $dns->send(pack('n n n n n n', $qid, 0x8180 | $rcode, 1, $answer ? 1 : 0, 0, 0)
                   . $question . $answer, 0, $from);
    }
}
close $dns;
push @kids, $dpid;

END {
    local $?;
    for my $pid (@kids) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
    unlink $rlog if $rlog;
}

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $hd, $b) = http_request($method => $uri,
                                     defined $body ? $json->encode($body) : undef);
    return ($st, eval { $json->decode($b) } // { raw => $b }, $b);
}

sub error_log () {
    open my $fh, '<', "$root/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

my $http = sub {
    my ($extra) = @_;
    return "    hangar_zone hangar 1m;\n"
         . "    resolver 127.0.0.1:$dport valid=30s ipv6=off;\n"
         . "    resolver_timeout 2s;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
         . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
         . "    hangar_mcp_naming prefixed;\n" . ($extra // '');
};
my $remote = "    http: {read_timeout: 5, connect_timeout: 5}\n";

# ==== 1: no remote_allow ===================================================

nginx_start({
    workers     => 1,
    http_config => $http->(),
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "mcp_servers:\n"
                 . "  declared:\n    mode: remote\n"
                 . "    endpoint: http://mcp.hangar.test:$rport/mcp\n" . $remote,
});

my ($st, $doc, $raw);

# a name passes at create time (it is not resolved then) ...
for my $c (['byname', "http://mcp.hangar.test:$rport/mcp"],
           ['meta', 'http://meta.hangar.test/latest/meta-data/'],
           ['ten', 'http://ten.hangar.test:8080/mcp']) {
    ($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                            { mcp_server_id => $c->[0], mode => 'remote',
                              endpoint => $c->[1],
                              http => { connect_timeout => 5, read_timeout => 5 } });
    is($st, 201, "$c->[0]: a remote named by host is created") or diag($raw);
}

# ... and is refused when the client connects, on the resolved address
for my $c (['byname', '127.0.0.1', '127.0.0.0/8'],
           ['meta', '169.254.169.254', '169.254.0.0/16'],
           ['ten', '10.0.0.1', '10.0.0.0/8']) {
    my ($id, $addr, $range) = @$c;
    ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    isnt($st, 200, "$id: the start fails");
    like($doc->{message} // '', qr/connect to \Q$addr\E refused \(SSRF\): the address is in \Q$range\E/,
         "$id: the error says the connect to $addr was refused") or diag($raw);
    like(error_log(), qr/\[error\].*MCP server "\Q$id\E".*connect to \Q$addr\E refused \(SSRF\)/,
         "$id: a log line names the server and the address");
}

is(nrecorded(), 0, 'nothing reached the remote behind mcp.hangar.test');
unlike(error_log(), qr/connect\(\) to|connect timed out/,
       'no connect was attempted to any refused address');

# a remote of hangar.yaml with the same name is trusted
($st, $doc, $raw) = api(POST => '/api/mcp_servers/declared/start');
is($st, 200, 'the remote of hangar.yaml behind the same name starts') or diag($raw);
ok(nrecorded() >= 2, 'and talks to the remote (initialize, tools/list)');

# changing its endpoint through the API takes its trust away
($st, $doc, $raw) = api(PATCH => '/api/mcp_servers/declared',
                        { endpoint => "http://mcp.hangar.test:$rport/other" });
is($st, 200, 'the endpoint of the declared remote is changed through the API') or diag($raw);
my $before = nrecorded();
($st, $doc, $raw) = api(POST => '/api/mcp_servers/declared/start');
like($doc->{message} // '', qr/refused \(SSRF\)/, 'now it is checked at connect time')
    or diag($raw);
is(nrecorded(), $before, 'and nothing more reached the remote');

nginx_stop();
no_alerts();
Hangar::Test::check_valgrind('valgrind') if Hangar::Test::valgrind_on();

# ==== 2: remote_allow: [127.0.0.1/32] ======================================

nginx_start({
    workers     => 1,
    http_config => $http->(),
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "execution:\n  remote_allow: [127.0.0.1/32]\n"
                 . "mcp_servers:\n"
                 . "  crsid:\n    mode: remote\n"
                 . "    endpoint: http://127.0.0.1:$rport/crsid/mcp\n" . $remote,
});

unlink $rlog;

($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                        { mcp_server_id => 'allowed', mode => 'remote',
                          endpoint => "http://mcp.hangar.test:$rport/mcp" });
is($st, 201, 'a remote by name is created') or diag($raw);
($st, $doc, $raw) = api(POST => '/api/mcp_servers/allowed/start');
is($st, 200, 'remote_allow opens 127.0.0.1 to it at connect time') or diag($raw);
ok(nrecorded() >= 2, 'it talked to the remote');
($st) = api(POST => '/api/mcp_servers/allowed/stop');
is($st, 200, 'and is stopped (no more traffic from it)');
($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                        { mcp_server_id => 'meta', mode => 'remote',
                          endpoint => 'http://meta.hangar.test/' });
($st, $doc, $raw) = api(POST => '/api/mcp_servers/meta/start');
like($doc->{message} // '', qr/connect to 169\.254\.169\.254 refused \(SSRF\)/,
     'remote_allow does not open the metadata address') or diag($raw);

# the smuggling attempt of issue 8: a second request inside a header value
$before = nrecorded();
for my $bad ({ http => { headers => { 'X-Tenant' => "t1\r\n\r\nPOST /admin HTTP/1.1\r\nHost: x" } } },
             { auth => { type => 'bearer', bearer_token => "tok\r\nX-Admin: 1" } },
             { auth => { type => 'api_key', api_key => 'k', api_key_header => "X-Key: a\r\nX-Admin" } }) {
    ($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                            { mcp_server_id => 'smuggle', mode => 'remote',
                              endpoint => "http://127.0.0.1:$rport/mcp", %$bad });
    is($st, 422, 'a header value with CR/LF is refused') or diag($raw);
    like($doc->{details}{field} // '', qr/^(http\.headers\.X-Tenant|auth\.bearer_token|auth\.api_key_header)$/,
         "naming the field ($doc->{details}{field})");
}
($st) = api(POST => '/api/mcp_servers/smuggle/start');
is($st, 404, 'nothing was created');
is(nrecorded(), $before, 'nothing reached the remote');
ok(!grep({ /X-Admin|POST \/admin|X-Tenant/ } recorded()), 'no part of the attempt reached it');

# a remote's session id with a CR is never echoed: the client refuses
sub ncrsid () { my @r = grep { m{^\S+ /crsid/} } recorded(); return scalar @r }
$before = ncrsid();
($st, $doc, $raw) = api(POST => '/api/mcp_servers/crsid/start');
isnt($st, 200, 'a start whose remote sent a CR in its session id fails');
like($doc->{message} // '', qr/request refused, nothing sent: a header value holds CR, LF/,
     'the client refused to send the header') or diag($raw);
my @got = recorded();
is(ncrsid() - $before, 1, 'the remote saw the initialize and nothing after it');
ok(!grep({ /X-Smuggled/ } @got), 'no request carried the smuggled header');

nginx_stop();
no_alerts();
Hangar::Test::check_valgrind('valgrind') if Hangar::Test::valgrind_on();

# ==== 3: the environment of a server =======================================

nginx_start({
    workers     => 1,
    main_config => "env GITHUB_TOKEN=ghp_leak;\nenv AWS_SECRET_ACCESS_KEY=aws_leak;\n"
                 . "env MY_SERVICE_PASSWORD=pw_leak;\nenv OPENAI_API_KEY=sk_leak;\n"
                 . "env HANGAR_ADMIN_KEY=mcp_leak;\nenv PLAIN_SETTING=visible;\n",
    http_config => $http->(),
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n"
                 . "mcp_servers:\n"
                 . "  srv:\n    mode: subprocess\n    command: [perl, $SERVER]\n"
                 . "  own:\n    mode: subprocess\n    command: [perl, $SERVER]\n"
                 . "    env: {GITHUB_TOKEN: mine, MCP_TRANSPORT: custom, PATH: /opt/bin:/usr/bin:/bin}\n",
});

my $rid = 0;
sub rpc ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode($body), \%h);
    if (($hd->{'content-type'} // '') =~ /event-stream/) {
        my @d = $b =~ /^data: ?(.*)$/mg;
        $b = $d[-1] // '';
    }
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

my ($hd, $r);
($st, $hd, $r) = rpc({ jsonrpc => '2.0', id => ++$rid, method => 'initialize',
                       params => { protocolVersion => '2025-06-18', capabilities => {},
                                   clientInfo => { name => 't', version => '0' } } });
my $sid = $hd->{'mcp-session-id'};
ok($sid, 'a front-door session') or diag($json->encode($r));

for my $id (qw(srv own)) {
    ($st, $doc, $raw) = api(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id starts") or diag($raw);
}

sub env_of ($$) {
    my ($server, $name) = @_;
    my ($st, $hd, $r) = rpc({ jsonrpc => '2.0', id => ++$rid, method => 'tools/call',
                              params => { name => "${server}__env",
                                          arguments => { name => $name } } }, $sid);
    return $r->{result}{content}[0]{text} // $json->encode($r);
}

for my $secret (qw(GITHUB_TOKEN AWS_SECRET_ACCESS_KEY MY_SERVICE_PASSWORD
                   OPENAI_API_KEY HANGAR_ADMIN_KEY)) {
    is(env_of('srv', $secret), '(unset)', "$secret is not inherited");
}
is(env_of('srv', 'PLAIN_SETTING'), 'visible', 'an ordinary variable of the worker is');
is(env_of('srv', 'MCP_TRANSPORT'), 'stdio', 'MCP_TRANSPORT=stdio by default');
like(env_of('srv', 'PATH'), qr{/usr/bin}, 'PATH is set');
like(env_of('srv', 'HOME'), qr{/servers/srv}, 'HOME is the server\'s own directory');
is(env_of('own', 'GITHUB_TOKEN'), 'mine', 'the server\'s env may set a secret name');
is(env_of('own', 'MCP_TRANSPORT'), 'custom', 'and override MCP_TRANSPORT');
is(env_of('own', 'PATH'), '/opt/bin:/usr/bin:/bin', 'and PATH');

nginx_stop();
no_alerts();
Hangar::Test::check_valgrind('valgrind') if Hangar::Test::valgrind_on();
no_orphans();

Test::More::done_testing();
