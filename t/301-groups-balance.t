# Group strategies over 2 workers, through the front door: round robin is
# exact (the counter is in the zone, not per worker), smooth weighted round
# robin is nginx's, random is weighted, least_connections counts the calls
# really in flight, priority prefers the lowest value, and PUT of the
# strategy takes effect on the next call.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;

sub start_fleet ($$) {
    my ($strategy, $members) = @_;
    my $yaml = "mcp_servers:\n";
    $yaml .= "  $_->[0]: {command: [perl, $SERVER], env: {WHO: $_->[0]}}\n"
        for @$members;
    $yaml .= "  pool:\n    mode: group\n    strategy: $strategy\n"
           . "    members:\n";
    $yaml .= "      - {id: $_->[0], weight: $_->[1], priority: $_->[2]}\n"
        for @$members;

    nginx_start({
        workers     => 2,
        timeout     => 60,
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
        config      => "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; }\n",
        user_files  => ">>> conf/hangar.yaml\n$yaml",
    });

    # started once, so that the front door knows the members' tools
    for my $m (@$members) {
        my ($st) = http_request(POST => "/api/mcp_servers/$m->[0]/start");
        is($st, 200, "$strategy: member $m->[0] starts");
    }

    my ($st, $h) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 0, method => 'initialize',
        params => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } } }),
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream' });
    is($st, 200, "$strategy: a front-door session");

    return $h->{'mcp-session-id'};
}

sub call_body ($$) {
    my ($tool, $args) = @_;
    return $json->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call',
                           params => { name => $tool, arguments => $args } });
}

sub headers ($) {
    return { 'Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream',
             'Mcp-Session-Id' => $_[0] };
}

# which member answered (its WHO), through the group's tool "env"
sub who ($) {
    my ($sid) = @_;
    my ($st, $h, $b) = http_request(POST => '/mcp',
                                    call_body('env', { name => 'WHO' }),
                                    headers($sid));
    my $r = eval { $json->decode($b) } // {};
    return $r->{result}{content}[0]{text} // "error: " . ($b // 'none');
}

# the members' calls in flight, as the registry counts them
sub in_flight () {
    my (undef, undef, $b) = http_request(GET => '/api/groups/pool');
    my $g = eval { $json->decode($b) } // {};
    return { map { $_->{id} => $_->{in_flight} } @{ $g->{members} || [] } };
}

# a call ends for the registry when its request ends, which may be just
# after the client has the answer: the next call waits for that
sub settled ($) {
    my ($want) = @_;
    my $deadline = time + 60;
    while (time < $deadline) {
        my $f = in_flight();
        return 1 if !grep { ($f->{$_} // -1) != $want->{$_} } keys %$want;
        Time::HiRes::sleep(0.02);
    }
    return 0;
}

sub counts (@) {
    my %n;
    $n{$_}++ for @_;
    return \%n;
}

# ---- round robin: exact over 2 workers ----
{
    my $sid = start_fleet('round_robin', [[a => 1, 1], [b => 1, 1], [c => 1, 1]]);
    my @seq = map { who($sid) } 1 .. 60;
    is_deeply(counts(@seq), { a => 20, b => 20, c => 20 },
              'round_robin: 60 calls, 20 each');
    my @bad = grep { $seq[$_] eq $seq[$_ - 1] || $seq[$_] ne $seq[$_ - 3] }
              3 .. $#seq;
    is(scalar @bad, 0, 'round_robin: a strict rotation, whichever worker '
                      . 'takes the call') or diag("@seq");

    # a reload keeps the unchanged group's state and its running members
    is(who($sid), 'a', 'round_robin: a is next');
    nginx_reload();
    is(who($sid), 'b', 'after a reload the rotation goes on where it was');
    my (undef, undef, $b) = http_request(GET => '/api/mcp_servers/c');
    like($b, qr/"state":"ready"/, 'and the members kept running');
    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
}

# ---- smooth weighted round robin: 3:1 is exact, never 4 in a row ----
{
    my $sid = start_fleet('weighted_round_robin', [[a => 3, 1], [b => 1, 1]]);
    my @seq = map { who($sid) } 1 .. 1000;
    is_deeply(counts(@seq), { a => 750, b => 250 },
              'weighted_round_robin: 1000 calls split 750/250');
    is(join('', @seq[0 .. 7]), 'aabaaaba',
       'weighted_round_robin: smooth as nginx (a a b a, a a b a)')
        or diag(join '', @seq[0 .. 15]);
    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
}

# ---- random: weighted by weight ----
{
    my $sid = start_fleet('random', [[a => 3, 1], [b => 1, 1]]);
    my $n = counts(map { who($sid) } 1 .. 1000);
    # 750 expected, one standard deviation is 13.7: 4.4 of them either side
    ok($n->{a} >= 690 && $n->{a} <= 810 && $n->{a} + $n->{b} == 1000,
       "random: weighted 3:1 ($n->{a}/$n->{b})");
    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
}

# ---- least_connections: the calls really in flight ----
{
    my $sid = start_fleet('least_connections', [[a => 1, 1], [b => 1, 1]]);

    my $body = call_body('sleep', { ms => 4000 });
    my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(),
                                     Timeout => 5) or die "connect: $!";
    print {$slow} "POST /mcp HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . "Accept: application/json, text/event-stream\r\n"
        . "Mcp-Session-Id: $sid\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    # the slow call holds one member
    my ($busy, $deadline) = (undef, time + 60);
    while (!$busy && time < $deadline) {
        my (undef, undef, $b) = http_request(GET => '/api/groups/pool');
        my $g = eval { $json->decode($b) } // {};
        ($busy) = map { $_->{id} } grep { $_->{in_flight} } @{ $g->{members} || [] };
        Time::HiRes::sleep(0.05) unless $busy;
    }
    ok($busy, 'least_connections: a slow call is in flight on one member');
    my $idle = ($busy // '') eq 'a' ? 'b' : 'a';

    my @seq = map { settled({ $idle => 0 }); who($sid) } 1 .. 10;
    is_deeply(counts(@seq), { $idle => 10 },
              'least_connections: every call meanwhile goes to the idle one')
        or diag("@seq");

    local $/;
    my $answer = <$slow> // '';
    like($answer, qr/slept 4000/, 'least_connections: the slow call ends');

    @seq = map { settled({ a => 0, b => 0 }); who($sid) } 1 .. 10;
    is_deeply(counts(@seq), { a => 5, b => 5 },
              'least_connections: idle members share, least recently picked '
              . 'first');
    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
}

# ---- priority, and PUT of the strategy at once ----
{
    my $sid = start_fleet('priority', [[a => 1, 2], [b => 1, 1]]);
    my @seq = map { who($sid) } 1 .. 10;
    is_deeply(counts(@seq), { b => 10 }, 'priority: the lowest value wins');

    my ($st) = http_request(PUT => '/api/groups/pool',
                            '{"strategy":"round_robin"}',
                            { 'Content-Type' => 'application/json' });
    is($st, 200, 'PUT strategy round_robin');

    @seq = map { who($sid) } 1 .. 10;
    is_deeply(counts(@seq), { a => 5, b => 5 },
              'PUT: the next calls follow the new strategy') or diag("@seq");

    my ($st2, undef, $b) = http_request(GET => '/api/groups/pool');
    like($b, qr/"strategy":"round_robin"/, 'PUT: the status says so');
    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
}

no_alerts();

Test::More::done_testing();
