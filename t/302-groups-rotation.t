# Rotation (hangar-core.md §3.3), the group's circuit breaker (§3.4 made
# honest, §8 item 8) and failover within a call, through the front door
# with 2 workers: a member killed between calls or in the middle of one
# costs the caller nothing, leaves the rotation and comes back once it is
# started again; the breaker opens, half-opens and closes on its own.
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

sub start_fleet ($) {
    my ($group) = @_;
    my $yaml = "mcp_servers:\n";
    $yaml .= "  $_: {command: [perl, $SERVER], env: {WHO: $_}, "
           . "max_consecutive_failures: 100}\n" for qw(a b);
    $yaml .= "  pool:\n    mode: group\n    strategy: priority\n$group"
           . "    members: [{id: a, priority: 1}, {id: b, priority: 2}]\n";

    nginx_start({
        workers     => 2,
        timeout     => 60,
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
        config      => "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; }\n"
                     . "location = /metrics { hangar_metrics; }\n",
        user_files  => ">>> conf/hangar.yaml\n$yaml",
    });

    for my $m (qw(a b)) {
        my ($st) = http_request(POST => "/api/mcp_servers/$m/start");
        is($st, 200, "member $m starts");
    }

    my ($st, $h) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => 0, method => 'initialize',
        params => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 't', version => '0' } } }),
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream' });

    return $h->{'mcp-session-id'};
}

sub call_body ($$) {
    my ($tool, $args) = @_;
    return $json->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call',
                           params => { name => $tool, arguments => $args } });
}

sub call ($$$) {
    my ($sid, $tool, $args) = @_;
    my ($st, $h, $b) = http_request(POST => '/mcp', call_body($tool, $args),
        { 'Content-Type' => 'application/json',
          'Accept' => 'application/json, text/event-stream',
          'Mcp-Session-Id' => $sid });
    my $r = eval { $json->decode($b) } // {};
    return $r->{result} // { raw => $b };
}

sub text ($) { $_[0]{content}[0]{text} // $_[0]{raw} // '' }

sub group () {
    my (undef, undef, $b) = http_request(GET => '/api/groups/pool');
    return eval { $json->decode($b) } // {};
}

sub member ($$) {
    my ($g, $id) = @_;
    return (grep { $_->{id} eq $id } @{ $g->{members} || [] })[0] // {};
}

sub wait_for ($) {
    my ($cond) = @_;
    my $deadline = time + 60;
    while (time < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

# the crash is recorded once a worker sees the bridge go, a moment after the
# failed calls: a start before that finds the server still ready
sub seen_down ($) {
    my ($id) = @_;
    return wait_for(sub {
        my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$id");
        my $s = eval { $json->decode($b) } // {};
        return ($s->{state} // 'ready') ne 'ready';
    });
}

sub log_text () { Hangar::Test::slurp(servroot() . '/logs/error.log') }

# ---- killed between calls: no failed call, out of rotation, then back ----
{
    my $sid = start_fleet('');
    is(text(call($sid, 'env', { name => 'WHO' })), 'a', 'priority: a answers');
    my $pid = text(call($sid, 'pid', {}));
    like($pid, qr/^\d+$/, "a's server pid");

    kill 'KILL', $pid;

    my @who = map { text(call($sid, 'env', { name => 'WHO' })) } 1 .. 5;
    is("@who", 'b b b b b', 'killed between calls: every call answered, by b');

    ok(wait_for(sub { !member(group(), 'a')->{in_rotation} }),
       'a left the rotation');
    my $g = group();
    is($g->{healthy_count}, 1, 'one member in rotation');
    like(log_text(), qr/group "pool": member "a" out of rotation/,
         'the change is logged');

    ok(seen_down('a'), 'the crash of a is recorded');
    my ($st) = http_request(POST => '/api/mcp_servers/a/start');
    is($st, 200, 'a started again');
    ok(wait_for(sub { member(group(), 'a')->{in_rotation} }),
       'a is back in rotation');
    like(log_text(),
         qr/member "a" back in rotation \(healthy_threshold_reached\)/,
         'and that is logged');
    is(text(call($sid, 'env', { name => 'WHO' })), 'a', 'a answers again');

    # ---- killed in the middle of a call: the call goes to b ----
    $pid = text(call($sid, 'pid', {}));
    my $body = call_body('sleep', { ms => 3000 });
    my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(),
                                     Timeout => 5) or die "connect: $!";
    print {$slow} "POST /mcp HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . "Accept: application/json, text/event-stream\r\n"
        . "Mcp-Session-Id: $sid\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    ok(wait_for(sub { member(group(), 'a')->{in_flight} }),
       'the slow call is on a');
    kill 'KILL', $pid;

    local $/;
    my $answer = <$slow> // '';
    like($answer, qr/"text":"slept 3000"/,
         'killed mid-call: the same call is answered by b');
    unlike($answer, qr/"isError":true/, 'not as an error');
    like(log_text(), qr/group "pool": the call to "a" failed, retried on "b"/,
         'the failover is logged');

    # ---- a tool error is an answer: never retried ----
    ok(seen_down('a'), 'the second crash of a is recorded');
    ($st) = http_request(POST => '/api/mcp_servers/a/start');
    ok(wait_for(sub { member(group(), 'a')->{in_rotation} }), 'a is back');
    my $before = () = log_text() =~ /retried on/g;
    my $r = call($sid, 'fail', { message => 'nope' });
    ok($r->{isError} && text($r) eq 'nope', 'isError comes back as it is');
    my $after = () = log_text() =~ /retried on/g;
    is($after, $before, 'and is not retried');
    is(member(group(), 'a')->{consecutive_failures}, 0,
       'nor counted as a failure');

    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
    no_alerts();
}

# ---- the breaker: open after failure_threshold, half-open, closed ----
{
    my $sid = start_fleet("    health: {unhealthy_threshold: 100}\n"
                        . "    circuit_breaker: {failure_threshold: 2, "
                        . "reset_timeout_s: 1}\n");

    # a crash on a, the failover's crash on b: two failures
    my $r = call($sid, 'crash', { code => 9 });
    ok($r->{isError}, 'a call that kills both members fails');

    my $g = group();
    is($g->{circuit_breaker_state}, 'open', 'the breaker is open');
    ok($g->{circuit_open} && $g->{state} eq 'degraded' && !$g->{is_available},
       'circuit_open, degraded, not available');
    like(log_text(), qr/group "pool": circuit breaker closed -> open/,
         'the trip is logged');

    my (undef, undef, $m) = http_request(GET => '/metrics');
    like($m, qr/mcp_hangar_circuit_breaker_state\{mcp_server="pool",state="open"\} 1\.0/,
         'and in /metrics');

    for my $id (qw(a b)) {
        ok(seen_down($id), "the crash of $id is recorded");
        my ($st) = http_request(POST => "/api/mcp_servers/$id/start");
        is($st, 200, "$id started again");
    }

    ok(wait_for(sub { group()->{circuit_breaker_state} eq 'half_open' }),
       'after reset_timeout_s the breaker half-opens by itself');

    $r = call($sid, 'env', { name => 'WHO' });
    is(text($r), 'a', 'an open breaker never vetoes a member in rotation') or diag(JSON::PP->new->canonical->encode(group()));

    $g = group();
    is($g->{circuit_breaker_state}, 'closed', 'the probe closed it');
    ok(!$g->{circuit_open} && $g->{state} eq 'healthy' && $g->{is_available},
       'healthy and available again');
    like(log_text(), qr/circuit breaker half_open -> closed/,
         'the recovery is logged');

    nginx_stop();
    Hangar::Test::check_valgrind("groups") if Hangar::Test::valgrind_on();
    no_alerts();
}

Test::More::done_testing();
