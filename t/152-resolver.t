# Remote host names resolve through nginx's resolver, never the system's
# (which blocks a worker): a tiny DNS server on 127.0.0.1 answers
# mcp.hangar.test with 127.0.0.1, nx.hangar.test with NXDOMAIN, and never
# answers silent.hangar.test.  A remote named by host works and its kept
# connection is reused without resolving again; NXDOMAIN and a resolver
# timeout fail the start with a JSON error naming the host; the worker
# answers while a resolve is pending; nginx -t without a "resolver" fails
# naming the server and the host, and "localhost" needs none.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;
my $root = servroot();

# the hostile server answers initialize, tools/list and "echo" normally
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

# the DNS server: one line per query it sees in $qlog
my $qlog = "/tmp/hangar-152-dns.$$";
unlink $qlog;
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
        my ($id, $flags) = unpack 'n n', $q;
        my ($i, @labels) = (12);
        while ((my $n = ord substr($q, $i, 1)) > 0) {
            push @labels, substr($q, $i + 1, $n);
            $i += $n + 1;
        }
        my $name = lc join '.', @labels;
        my $qtype = unpack 'n', substr($q, $i + 1, 2);
        my $question = substr($q, 12, $i + 5 - 12);
        if (open my $fh, '>>', $qlog) { print {$fh} "$name $qtype\n"; close $fh }
        next if $name eq 'silent.hangar.test';
        my ($rcode, $answer) = (0, '');
        if ($name eq 'mcp.hangar.test' && $qtype == 1) {
            $answer = pack('n n n N n', 0xc00c, 1, 1, 1, 4) . pack('C4', 127, 0, 0, 1);
        } elsif ($name ne 'mcp.hangar.test') {
            $rcode = 3;
        }
        my $r = pack('n n n n n n', $id, 0x8180 | $rcode, 1, $answer ? 1 : 0, 0, 0)
                . $question . $answer;
        $dns->send($r, 0, $from);
    }
}
close $dns;

sub queries ($) {
    my $name = shift;
    open my $fh, '<', $qlog or return 0;
    return scalar grep { /^\Q$name\E 1$/ } <$fh>;
}

sub stop_pid ($) {
    my $pid = shift;
    kill 'TERM', $pid;
    for (1 .. 50) { return if waitpid($pid, POSIX::WNOHANG()) != 0; sleep 0.1 }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

END {
    local $?;       # keep the test's exit status
    stop_pid($hpid) if $hpid;
    stop_pid($dpid) if $dpid;
    unlink $qlog if $qlog;
}

my $remote = sub {
    my ($host) = @_;
    return "    mode: remote\n    endpoint: http://$host:$hport/mcp\n"
         . "    http: {read_timeout: 5, connect_timeout: 5}\n";
};

my $resolver = "    resolver 127.0.0.1:$dport valid=1s ipv6=off;\n"
             . "    resolver_timeout 2s;\n";

nginx_start({
    workers     => 1,
    http_config => "    hangar_zone hangar 1m;\n" . $resolver
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    hangar_mcp_naming prefixed;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  named:\n" . $remote->('mcp.hangar.test')
                 . "  nx:\n" . $remote->('nx.hangar.test')
                 . "  silent:\n" . $remote->('silent.hangar.test')
                 . "  local:\n" . $remote->('localhost'),
});

sub api ($$;$) {
    my ($method, $uri, $body) = @_;
    my ($st, $hd, $b) = http_request($method => $uri, $body,
                                     $body ? { 'Content-Type' => 'application/json' } : {});
    return ($st, eval { $json->decode($b) } // { raw => $b }, $b);
}

# a remote named by host: resolved through the DNS server above
my ($st, $doc, $raw) = api(POST => '/api/mcp_servers/named/start');
is($st, 200, 'a remote named by host starts') or diag($raw);
ok(queries('mcp.hangar.test') >= 1, 'its host was asked of nginx\'s resolver');

# the pass-through resolves it through the same resolver, and "localhost"
# needs none
for my $id (qw(named local)) {
    my ($pst, $ph, $pb) = http_request(POST => "/mcp/$id", $json->encode({
        jsonrpc => '2.0', id => 3, method => 'tools/call',
        params => { name => 'echo', arguments => { text => 'by name' } } }),
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream' });
    is($pst, 200, "pass-through to $id") or diag($pb);
    like($pb // '', qr/echo: by name/, "pass-through to $id: answered");
}

sub rpc ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $json->encode($body), \%h);
    if (($hd->{'content-type'} // '') =~ /event-stream/) {
        my @d = $b =~ /^data: ?(.*)$/mg;
        $b = $d[-1] // '';
    }
    return ($st, $hd, eval { $json->decode($b) } // { raw => $b });
}

(my $hd, my $r);
($st, $hd, $r) = rpc({ jsonrpc => '2.0', id => 1, method => 'initialize',
                       params => { protocolVersion => '2025-06-18', capabilities => {},
                                   clientInfo => { name => 't', version => '0' } } });
my $sid = $hd->{'mcp-session-id'};
ok($sid, 'a front-door session') or diag("$st " . $json->encode($r));

my $id = 10;
sub call ($) {
    my $server = shift;
    my ($st, $hd, $r) = rpc({ jsonrpc => '2.0', id => ++$id, method => 'tools/call',
                              params => { name => "${server}__echo_json",
                                          arguments => { text => 'hi' } } }, $sid);
    return $r->{result}{content}[0]{text} // $json->encode($r);
}

like(call('named'), qr/hi/, 'a call to the remote named by host works');

# the cache entry (valid=1s) expires; the kept connection needs no resolve
# (the debug log says which connections resolved: the list_changed stream
# of a server connects anew whenever the remote refuses it)
sub call_resolves () {
    open my $fh, '<', "$root/logs/error.log" or return 0;
    return scalar grep { /resolving "mcp\.hangar\.test" for a new call/ } <$fh>;
}

my $before = call_resolves();
ok($before >= 1, 'the first call resolved the host (debug log)');
for (1 .. 3) {
    sleep 1.2;
    like(call('named'), qr/hi/, "call $_ after the resolver's cache expired works");
}
is(call_resolves(), $before, 'calls over the kept connection resolve nothing again');

# localhost: 127.0.0.1 without asking anyone
($st, $doc, $raw) = api(POST => '/api/mcp_servers/local/start');
is($st, 200, 'a remote at localhost starts') or diag($raw);
is(queries('localhost'), 0, 'localhost is not asked of the resolver');

# NXDOMAIN: a JSON error naming the host
($st, $doc, $raw) = api(POST => '/api/mcp_servers/nx/start');
isnt($st, 200, 'a remote whose host does not exist does not start');
like($raw, qr/cannot resolve host \\?"nx\.hangar\.test\\?": Host not found/,
     'the error names the host and says it was not found');
ok(defined eval { $json->decode($raw) }, 'the error is JSON') or diag($raw);

# a DNS server that never answers: the worker serves others meanwhile,
# and the start fails once resolver_timeout has passed
my $t0 = time;
my $spid = fork // die "fork: $!\n";
if (!$spid) {
    my ($st, $doc, $raw) = api(POST => '/api/mcp_servers/silent/start');
    open my $fh, '>', "$qlog.silent" or POSIX::_exit(1);
    print {$fh} "$st $raw";
    close $fh;
    POSIX::_exit(0);
}
for (1 .. 100) { last if queries('silent.hangar.test'); sleep 0.05 }
ok(queries('silent.hangar.test') >= 1, 'the silent host is being resolved');
($st, $doc, $raw) = api(GET => '/api/mcp_servers/named');
is($st, 200, 'the one worker answers a GET while the resolve is pending')
    or diag($raw);
ok(waitpid($spid, POSIX::WNOHANG()) == 0,
   'the start was still waiting for the resolver when the GET was answered');
waitpid $spid, 0;
my $silent = do { local $/; open my $fh, '<', "$qlog.silent"; <$fh> } // '';
unlink "$qlog.silent";
unlike($silent, qr/^200 /, 'a remote whose host never resolves does not start');
like($silent, qr/cannot resolve host \\?"silent\.hangar\.test\\?": Operation timed out/,
     'the error names the host and the timeout') or diag($silent);

# the named remote still works after all that
like(call('named'), qr/hi/, 'the remote named by host still answers');

# nginx -t without a resolver: refused, naming the server and the host
sub nginx_t ($$) {
    my ($conf, $yaml) = @_;
    my $text = slurp_file("$root/conf/nginx.conf");
    $text =~ s/^\s*resolver(_timeout)? [^\n]*\n//mg;
    $text =~ s{conf/hangar\.yaml}{conf/$yaml};
    open my $fh, '>', "$root/conf/$conf" or die "$conf: $!\n";
    print {$fh} $text;
    close $fh;
    my $out = qx{\Q${\ ($ENV{NGINX_BIN} || '/usr/sbin/nginx')}\E -p \Q$root/\E -c conf/\Q$conf\E -e logs/t.log -t 2>&1};
    return ($? >> 8, $out);
}

sub slurp_file ($) {
    open my $fh, '<', shift or return '';
    local $/;
    return <$fh>;
}

sub put_file ($$) {
    open my $fh, '>', "$root/conf/$_[0]" or die "$_[0]: $!\n";
    print {$fh} $_[1];
    close $fh;
}

put_file('one.yaml', "mcp_servers:\n  named:\n" . $remote->('mcp.hangar.test'));
my ($rc, $out) = nginx_t('t1.conf', 'one.yaml');
ok($rc, 'nginx -t fails: a remote named by host and no resolver');
like($out, qr/server "named": the host "mcp\.hangar\.test" of its endpoint needs a "resolver" in http\{\}/,
     'the message names the server and the host') or diag($out);

put_file('local.yaml', "mcp_servers:\n  local:\n" . $remote->('localhost')
                       . "  addr:\n" . $remote->('127.0.0.1')
                       . "  addr6:\n" . $remote->('[::1]'));
($rc, $out) = nginx_t('t2.conf', 'local.yaml');
is($rc, 0, 'nginx -t passes without a resolver: localhost and addresses')
    or diag($out);

# a server the API created lives in the state file: nginx -t checks it too
($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                        $json->encode({ mcp_server_id => 'api1', mode => 'remote',
                                        endpoint => 'http://api.hangar.test:1/mcp' }));
ok($st == 200 || $st == 201, 'a remote named by host created through the API')
    or diag("$st $raw");
($rc, $out) = nginx_t('t3.conf', 'local.yaml');
ok($rc, 'nginx -t fails: the state file has a remote named by host');
like($out, qr/server "api1": the host "api\.hangar\.test"/,
     'the message names the state file\'s server and its host') or diag($out);

is(nginx_stop(), '', 'nginx stops');
no_alerts();

# no resolver at all: a remote named by host that the API creates cannot
# start, and says why
nginx_start({
    workers     => 1,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  local:\n" . $remote->('localhost'),
});

($st, $doc, $raw) = api(POST => '/api/mcp_servers/local/start');
is($st, 200, 'without a resolver, a remote at localhost starts') or diag($raw);
($st, $doc, $raw) = api(POST => '/api/mcp_servers',
                        $json->encode({ mcp_server_id => 'api2', mode => 'remote',
                                        endpoint => 'http://mcp.hangar.test:1/mcp' }));
ok($st == 200 || $st == 201, 'a remote named by host created through the API')
    or diag("$st $raw");
($st, $doc, $raw) = api(POST => '/api/mcp_servers/api2/start');
isnt($st, 200, 'without a resolver it does not start');
like($raw, qr/cannot resolve host \\?"mcp\.hangar\.test\\?": no \\?"resolver\\?" is configured/,
     'the error names the host and the missing resolver') or diag($raw);
is(nginx_stop(), '', 'nginx stops');
no_alerts();

Test::More::done_testing();
