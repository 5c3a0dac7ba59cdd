# Rate limits (hangar-security.md §7) and the failed-authentication
# lockout (§1.6), kept in the registry's zone: both workers count against
# the same token buckets and trackers.  nginx's realip module makes
# requests come from other addresses (X-Real-IP), so that per-address keys
# can be shown.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

Test::More::plan(skip_all => 'hangar-bridge not built')
    unless -x "$REPO/build/hangar-bridge";

my $http = <<'CONF';
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
CONF

my $locations = <<'CONF';
location /api/ { hangar_api; add_header X-Worker $pid always; }
location = /mcp { hangar_mcp; add_header X-Worker $pid always; }
CONF

# from an address (X-Real-IP), on a fresh connection
sub from ($$$;$$) {
    my ($ip, $method, $uri, $body, $h) = @_;
    return http_request($method, $uri, $body,
                        { 'X-Real-IP' => $ip, %{ $h || {} } });
}

# Requests written at once on one keep-alive connection; their responses
# ([status, \%headers, body], in order).  Responses have a Content-Length.
sub pipelined ($@) {
    my ($ip, @reqs) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port(),
                                     Timeout => 10) or die "connect: $!";
    my $raw = join '', map {
        Hangar::Test::build_request($_->[0], $_->[1], 'HTTP/1.1', $_->[2],
            [['X-Real-IP', $ip], ['Connection', 'keep-alive']])
    } @reqs;
    syswrite($sock, $raw);
    my ($buf, @res) = ('');
    my $sel = IO::Select->new($sock);
    while (@res < @reqs && $sel->can_read(10)) {
        sysread($sock, $buf, 65536, length $buf) or last;
        while ((my $end = index($buf, "\r\n\r\n")) >= 0) {
            my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
            my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1, $2) : () } @lines;
            my $len = $h{'content-length'} // 0;
            last if length($buf) < $end + 4 + $len;
            my ($st) = $line =~ /^HTTP\/1\.1 (\d+)/;
            push @res, [$st, \%h, substr($buf, $end + 4, $len)];
            substr($buf, 0, $end + 4 + $len, '');
        }
    }
    return @res;
}

# ---- REST commands: one bucket per client, shared by the workers -------

nginx_start({
    workers     => 2,
    http_config => $http,
    config      => $locations,
    user_files  => <<"FILES",
>>> conf/hangar.yaml
rate_limit:
  rps: 0.001
  burst: 5
  calls: {rps: 0.001, burst: 4}
  tools: {rps: 0.001, burst: 2}
  max_buckets: 50
mcp_servers:
  math:
    command: [perl, $SERVER, --name, math]
FILES
});

# A fast sequence from one address over fresh connections, until both
# workers have answered: exactly the burst passes (rps 0.001 adds no token
# in the time of a test).
my (%workers, @codes);
while (@codes < 16 || (keys %workers < 2 && @codes < 80)) {
    my ($st, $h) = from('127.0.0.2', DELETE => '/api/mcp_servers/nope' . @codes);
    push @codes, $st;
    $workers{ $h->{'x-worker'} // '?' }++;
}
my $sent = @codes;
is(scalar keys %workers, 2, 'both workers answered: ' . join(',', sort keys %workers));
is(scalar(grep { $_ == 404 } @codes), 5,
   "exactly the burst (5) of $sent commands passed: " . join(',', @codes));
is(scalar(grep { $_ == 429 } @codes), $sent - 5, 'the others got 429');
is(join(',', @codes[0 .. 4]), '404,404,404,404,404', 'the first 5 passed');

my ($st, $h, $body) = from('127.0.0.2', POST => '/api/mcp_servers',
    '{"mcp_server_id":"x","mode":"subprocess","command":["x"]}',
    { 'Content-Type' => 'application/json' });
is($st, 429, 'a create is a command too');
like($body, qr/\A\{"error":"RateLimitExceeded","message":"Rate limit exceeded: more than 5 requests at once \(0\.001 per second\) for this principal; retry in (\d+)s","status_code":429,"details":\{"limit":5,"retry_after":(\d+),"scope":"principal"\}\}\z/,
     'the 429 flat envelope with details');
my ($msg_retry, $det_retry) = $body =~ /retry in (\d+)s.*"retry_after":(\d+)/;
is($h->{'retry-after'}, $det_retry, 'Retry-After is the retry_after of the details');
ok(($det_retry // 0) >= 990 && $det_retry <= 1000, "retry_after is the wait for one token ($det_retry s)");
($st) = from('127.0.0.2', GET => '/api/mcp_servers/x');
is($st, 404, 'the server was not created');

# reads and the routes the original does not limit
my @reads = map { (from('127.0.0.2', GET => '/api/mcp_servers'))[0] } 1 .. 8;
is(join(',', @reads), join(',', (200) x 8), 'GETs are not limited');
($st) = from('127.0.0.2', POST => '/api/sessions/s1/suspend', '{}',
             { 'Content-Type' => 'application/json' });
isnt($st, 429, "a session suspension is not limited ($st)");
($st) = from('127.0.0.2', DELETE => '/api/sessions/s1/suspend');
isnt($st, 429, "nor its resumption ($st)");

# another address has its own bucket
@codes = map { (from('127.0.0.3', DELETE => "/api/mcp_servers/n$_"))[0] } 1 .. 7;
is(join(',', @codes), '404,404,404,404,404,429,429', 'another address: its own 5');

# Concurrent: four clients at once from one address, over both workers.
my @kids;
for my $k (1 .. 4) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my @c = map { (from('127.0.0.9', DELETE => "/api/mcp_servers/c$k$_"))[0] // 0 } 1 .. 6;
        print {$w} join(',', @c);
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [$pid, $r];
}
my @all;
for (@kids) {
    my ($pid, $r) = @$_;
    local $/;
    push @all, split /,/, (<$r> // '');
    waitpid $pid, 0;
}
is(scalar @all, 24, '24 concurrent commands answered');
is(scalar(grep { $_ == 404 } @all), 5, 'exactly 5 of them passed, across both workers');
is(scalar(grep { $_ == 429 } @all), 19, 'the other 19 got 429');

# ---- tools/call: per principal and per (principal, tool) ---------------

sub mcp ($$;$) {
    my ($ip, $msg, $sid) = @_;
    my %hd = ('Content-Type' => 'application/json',
              'Accept' => 'application/json, text/event-stream');
    $hd{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $h, $b) = from($ip, POST => '/mcp', $msg, \%hd);
    return ($st, $h, eval { $json->decode($b) } // $b);
}

sub session ($) {
    my $ip = shift;
    my ($st, $h) = mcp($ip, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}');
    return $h->{'mcp-session-id'};
}

my $n = 10;
sub call ($$$) {
    my ($ip, $sid, $tool) = @_;
    my $args = { add => '{"a":2,"b":3}', echo => '{"text":"hi"}',
                 env => '{"name":"HOME"}' }->{$tool} // '{}';
    return mcp($ip, qq({"jsonrpc":"2.0","id":@{[ $n++ ]},"method":"tools/call","params":{"name":"$tool","arguments":$args}}), $sid);
}

# warm the server once so that its tools are known
http_request(POST => "/api/mcp_servers/math/$_") for qw(start stop);

my $sid = session('127.0.0.4');
ok($sid, 'a front-door session');
my @r = map { [call('127.0.0.4', $sid, 'add')] } 1 .. 3;
is($r[0][2]{result}{content}[0]{text}, '5', 'add 1 passes');
is($r[1][2]{result}{content}[0]{text}, '5', 'add 2 passes');
is($r[2][0], 200, 'the refused call is an HTTP 200 ...');
is($r[2][2]{error}{code}, -32029, '... with a JSON-RPC error');
like($r[2][2]{error}{message} // '', qr/^Rate limit exceeded: more than 2 requests at once \(0\.001 per second\) for this tool; retry in \d+s$/,
     'the per-tool bucket (burst 2) refused the third add');
is($r[2][2]{error}{data}{limit}, 2, 'its data has the limit');
ok($r[2][1]{'retry-after'} && $r[2][1]{'retry-after'} == $r[2][2]{error}{data}{retry_after},
   'and Retry-After is the retry_after of the data');

# the refused add took nothing from the principal's bucket (4 calls)
@r = map { [call('127.0.0.4', $sid, $_)] } qw(echo pid env);
is($r[0][2]{result}{content}[0]{text}, 'hi', 'echo passes (call 3 of 4)');
like($r[1][2]{result}{content}[0]{text} // '', qr/^\d+$/, 'pid passes (call 4 of 4)');
like($r[2][2]{error}{message} // '', qr/more than 4 requests at once .* for this principal;/,
     'the fifth call, of a tool not called before, is refused by the principal bucket');

# another client still calls add
my $sid2 = session('127.0.0.5');
@r = call('127.0.0.5', $sid2, 'add');
is($r[2]{result}{content}[0]{text}, '5', 'another address calls add');

# the REST bucket is not the tools/call bucket
($st) = from('127.0.0.4', DELETE => '/api/mcp_servers/nope');
is($st, 404, 'REST commands of a client count apart from its calls');

is(nginx_stop(), '', 'nginx stopped');

# ---- the bucket table is bounded: the least recently used goes --------

nginx_start({
    workers     => 2,
    http_config => $http,
    config      => $locations,
    user_files  => <<"FILES",
>>> conf/hangar.yaml
rate_limit:
  rps: 0.001
  burst: 1
  max_buckets: 2
FILES
});

($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 1: its one command');
($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 429, 'client 1: then 429');
($st) = from('127.0.1.2', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 2: its one command (2 buckets)');
($st) = from('127.0.1.3', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 3: its one command; client 1 was evicted');
($st) = from('127.0.1.1', DELETE => '/api/mcp_servers/a');
is($st, 404, 'client 1 starts over with a full bucket');
($st) = from('127.0.1.3', DELETE => '/api/mcp_servers/a');
is($st, 429, 'client 3 kept its empty bucket (it was used most recently)');

is(nginx_stop(), '', 'nginx stopped');

# ---- the defaults: 10 per second (the burst is shown in TEST 13 of
# t/251-limits-config.t); the suite's harness opens the limits wide, so
# this block sets the rate back to its default --------------------------

nginx_start({
    http_config => $http,
    config      => $locations,
    env         => "MCP_RATE_LIMIT_RPS=\nMCP_RATE_LIMIT_BURST=1\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers: {}\n",
});

my @res = pipelined('127.0.2.1', map { [DELETE => "/api/mcp_servers/p$_"] } 1 .. 20);
is(scalar @res, 20, '20 pipelined commands answered');
is($res[0][0], 404, 'the first passed');
my ($limited) = grep { $_->[0] == 429 } @res;
like($limited->[2] // '', qr/\A\{"error":"RateLimitExceeded","message":"Rate limit exceeded: more than 1 requests at once \(10 per second\) for this principal; retry in 1s","status_code":429,"details":\{"limit":1,"retry_after":1,"scope":"principal"\}\}\z/,
     'a later one got 429: the rate is 10 per second, a token in 1 s at most');
is($limited->[1]{'retry-after'}, '1', 'Retry-After: 1 (never 0)');

is(nginx_stop(), '', 'nginx stopped');

no_alerts();
Test::More::done_testing();
