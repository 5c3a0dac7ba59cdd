# Front-door sessions: an ended session stays ended, whatever else ends,
# across a restart and whatever the case of its id; ids carry a signed
# expiry; GET streams are limited per session and per client address.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Select ();
use IO::Socket::INET ();

my $json = JSON::PP->new;

sub mcp ($$;$$) {
    my ($method, $body, $sid, $path) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if defined $sid;
    my ($st, $hd, $b) = http_request($method, $path // '/mcp', $body, \%h);
    return ($st, $hd, $b);
}

sub session (;$) {
    my ($st, $h) = mcp(POST => '{"jsonrpc":"2.0","id":1,"method":"initialize",'
                            . '"params":{"protocolVersion":"2025-06-18"}}', undef, $_[0]);
    die "initialize: $st" unless $st == 200;
    return $h->{'mcp-session-id'};
}

sub ping ($;$) {
    my ($st) = mcp(POST => '{"jsonrpc":"2.0","id":2,"method":"ping"}', $_[0], $_[1]);
    return $st;
}

# the same id with its signature (or everything) upper-cased
sub upper_mac ($) { my $s = shift; $s =~ s/-([0-9a-f]{32})$/'-' . uc $1/e; $s }

my %conf = (
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                 . "    set_real_ip_from 127.0.0.1;\n    real_ip_header X-Real-IP;\n"
                 # clients from other addresses (realip), served without auth
                 . "    hangar_unsafe_no_auth on;\n",
    config      => "location = /mcp { hangar_mcp; hangar_mcp_streams_per_session 2;\n"
                 . "    hangar_mcp_streams_per_client 3; }\n"
                 . "location = /mcp-short { hangar_mcp; hangar_mcp_session_ttl 2s; }\n",
);
nginx_start(\%conf);

my $a = session();
like($a, qr/^hs3-[0-9a-f]{26}-[0-9a-f]{32}$/, 'an id carries its expiry, capabilities and a signature');
my $b = session();
is(ping(upper_mac($b)), 200, 'an id with its signature upper-cased names the same session');
is(ping(uc $b), 200, 'so does the whole id upper-cased');

my ($st) = mcp(DELETE => '', $a);
is($st, 200, 'DELETE ends a session');
is(ping($a), 404, 'the ended session is 404');
is(ping(upper_mac($a)), 404, 'and stays 404 with its signature upper-cased');
is(ping(uc $a), 404, 'or all of it upper-cased');
($st) = mcp(DELETE => '', upper_mac($a));
is($st, 404, 'a second DELETE, in another case, finds no session');

# more ended sessions than any fixed ring would hold
my $ended = 0;
for (1 .. 300) {
    my $s = session();
    my ($d) = mcp(DELETE => '', $s);
    $ended++ if $d == 200;
}
is($ended, 300, '300 other sessions end');
is(ping($a), 404, 'the first ended session is still ended after 300 others');
is(ping($b), 200, 'a session that was not ended still works');

my $c = session();
($st) = mcp(DELETE => '', $c);
is($st, 200, 'one more session ends just before a restart');
ok(-s servroot() . '/state/mcp-sessions-ended.json',
   'the ended sessions are kept in the state directory');

Hangar::Test::nginx_restart();
is(ping($a), 404, 'after a restart, an ended session stays ended');
is(ping($c), 404, 'the last one too');
is(ping(upper_mac($c)), 404, 'in any case');
is(ping($b), 200, 'a live session still works after the restart');

# the expiry is part of the signed id
my $short = session('/mcp-short');
is(ping($short), 200, 'a session of hangar_mcp_session_ttl 2s works at once');
(my $later = $short) =~ s/^hs3-([0-9a-f]{8})/sprintf 'hs3-%08x', hex($1) + 3600/e;
isnt($later, $short, 'its expiry moved by an hour');
is(ping($later), 404, 'a moved expiry breaks the signature');
sleep 3;
is(ping($short), 404, 'once expired, the id is refused');
(my $old = $b) =~ s/^hs3-[0-9a-f]{8}([0-9a-f]{16})[0-9a-f]{2}/hs1-$1/;
is(ping($old), 404, 'an id without an expiry is refused');
(my $v2 = $b) =~ s/^hs3-([0-9a-f]{24})[0-9a-f]{2}/hs2-$1/;
is(ping($v2), 404, 'an id of the earlier format (hs2, no capabilities) is refused');
(my $caps = $b) =~ s/^(hs3-[0-9a-f]{24})([0-9a-f]{2})/sprintf '%s%02x', $1, hex($2) ^ 1/e;
is(ping($caps), 404, 'changed capabilities break the signature');

# GET streams: 2 per session, 3 per client address
sub stream ($;$) {
    my ($sid, $ip) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) or die $!;
    print $s "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
           . "Mcp-Session-Id: $sid\r\n" . ($ip ? "X-Real-IP: $ip\r\n" : '') . "\r\n";
    my ($head, $sel) = ('', IO::Select->new($s));
    while ($head !~ /\r\n\r\n/ && $sel->can_read(5)) {
        sysread($s, $head, 4096, length $head) or last;
    }
    my ($code) = $head =~ m{^HTTP/1.1 (\d+)};
    return ($code // 0, $s, $head);
}

my ($s1, $s2, $s3) = (session(), session(), session());
my @open;
my ($code, $sock, $head) = stream($s1);
is($code, 200, 'a GET stream opens');
push @open, $sock;
($code, $sock) = stream($s1);
is($code, 200, 'a second one for the same session');
push @open, $sock;
($code, $sock, $head) = stream($s1);
is($code, 429, 'a third one for the session is refused');
like($head, qr/Too many streams for this session \(limit 2\)/, 'which says why');
($code, $sock) = stream($s2);
is($code, 200, 'another session of the same client opens one');
push @open, $sock;
($code, $sock, $head) = stream($s3);
is($code, 429, 'the client address is at its limit of 3');
like($head, qr/Too many streams for this client address \(limit 3\)/, 'which says so');
($code, $sock) = stream($s3, '10.0.0.7');
is($code, 200, 'another client address still gets a stream');
push @open, $sock;

close shift @open;
my $reopened = 0;
for (1 .. 50) {
    ($code, $sock) = stream($s3);
    if ($code == 200) { $reopened = 1; push @open, $sock; last }
    select undef, undef, undef, 0.1;
}
ok($reopened, 'a stream that closes gives its place back');
close $_ for @open;

is(nginx_stop(), '', 'nginx stopped');
my $log = do { local (@ARGV, $/) = servroot() . '/logs/error.log'; <> } // '';
my $alerts = join "\n", grep { /\[(alert|crit|emerg)\]/ } split /\n/, $log;
like($log, qr/\[warn\].*GET stream refused, the session holds 2, the limit/,
     'a session at its limit is logged');
like($log, qr/\[warn\].*GET stream refused, the client address holds 3, the limit.*client: 127\.0\.0\.1/,
     'a client address at its limit is logged, with the address');
is($alerts, '', 'no [alert], [crit] or [emerg] in error.log');

# ended sessions take a bounded part of the zone: a client ending
# sessions in a loop cannot crowd out the servers
nginx_start({
    http_config => "    hangar_zone hangar 128k;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
});
my ($ok, $refused) = (0, 0);
for (1 .. 250) {
    my ($d) = mcp(DELETE => '', session());
    $ok++ if $d == 200;
    $refused++ if $d == 503;
}
ok($ok >= 64 && $refused > 0 && $ok + $refused == 250,
   "ended sessions are bounded: $ok ended, $refused refused (503)");
($st) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"after","mode":"subprocess","command":["node"]}');
is($st, 201, 'the zone still takes a server');
is(nginx_stop(), '', 'nginx stopped');
no_alerts();
$log = do { local (@ARGV, $/) = servroot() . '/logs/error.log'; <> } // '';
like($log, qr/\[warn\].*too many ended front-door sessions are remembered/,
     'the refusal is logged');
Test::More::done_testing();
