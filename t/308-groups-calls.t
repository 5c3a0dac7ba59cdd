# What a call through a group costs its members (bench/groups.sh, README
# "Speed"): sequential calls through a group of 3 stdio members go round
# robin on one kept-alive connection to each member's bridge, the same
# connection from the first call to the last, and each call is exactly one
# tools/call at its member: no initialize, tools/list, ping or any other
# request per call.  The members are witnesses of their own: the kernel's
# table of unix sockets (the connections each bridge accepted) and every
# message each server received (--verbose, in its log).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $json = JSON::PP->new->canonical;
my @M = qw(m1 m2 m3);
my $CALLS = 30;

my $yaml = "mcp_servers:\n";
$yaml .= "  $_: {command: [perl, $SERVER, --verbose, --tools, "
         . "'echo,sleep']}\n" for @M;
$yaml .= "  pool: {mode: group, strategy: round_robin, "
       . "members: [m1, m2, m3]}\n";

# one worker: one client of each bridge
nginx_start({
    workers     => 1,
    timeout     => 60,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml",
});

my %H = ('Content-Type' => 'application/json',
         'Accept' => 'application/json, text/event-stream');

for my $m (@M) {
    my ($st) = http_request(POST => "/api/mcp_servers/$m/start");
    is($st, 200, "member $m starts");
}

my (undef, $h) = http_request(POST => '/mcp', $json->encode({
    jsonrpc => '2.0', id => 0, method => 'initialize',
    params => { protocolVersion => '2025-11-25', capabilities => {},
                clientInfo => { name => 't', version => '0' } } }), \%H);
my $sid = $h->{'mcp-session-id'} // '';
ok(length $sid, 'a front-door session');

sub call ($) {
    my ($i) = @_;
    my (undef, undef, $b) = http_request(POST => '/mcp', $json->encode({
        jsonrpc => '2.0', id => $i, method => 'tools/call',
        params => { name => 'echo',
                    arguments => { text => "call $i" } } }),
        { %H, 'Mcp-Session-Id' => $sid });
    my $r = eval { $json->decode($b) } // {};
    return $r->{result}{content}[0]{text} // $b // '';
}

# the unix socket each member's bridge listens on (its command line)
sub bridge_socket ($) {
    my ($m) = @_;
    my $root = servroot();
    for my $f (glob '/proc/[0-9]*/cmdline') {
        open my $fh, '<', $f or next;
        my @argv = split /\0/, do { local $/; <$fh> } // '';
        next unless @argv && $argv[0] =~ /hangar-bridge$/;
        my %o;
        for my $k (0 .. $#argv - 1) {
            $o{$argv[$k]} = $argv[$k + 1] if $argv[$k] =~ /^--(id|socket)$/;
        }
        return $o{'--socket'}
            if ($o{'--id'} // '') eq $m
               && index($o{'--socket'} // '', $root) == 0;
    }
    return undef;
}

# the connections a bridge accepted and holds (state 03, connected):
# each has the listening socket's path; their inodes, sorted
sub accepted ($) {
    my ($path) = @_;
    open my $fh, '<', '/proc/net/unix' or return ();
    my @ino;
    while (my $l = <$fh>) {
        my @f = split ' ', $l;
        push @ino, $f[6]
            if @f >= 8 && $f[7] eq $path && $f[5] eq '03' && $f[4] eq '0001';
    }
    return sort @ino;
}

# every request (a message with a method and an id) a server received,
# by method
sub received ($) {
    my ($m) = @_;
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$m/logs"
                                           . "?lines=1000");
    my $logs = eval { $json->decode($b) } // {};
    my %n;
    for my $l (@{ $logs->{logs} || [] }) {
        next unless ($l->{content} // '') =~ /^>> (.*)$/;
        my $msg = eval { $json->decode($1) } or next;
        $n{ $msg->{method} }++ if ref $msg eq 'HASH' && defined $msg->{id}
                                  && defined $msg->{method};
    }
    return \%n;
}

(undef, undef, my $list) = http_request(POST => '/mcp', $json->encode({
    jsonrpc => '2.0', id => 0, method => 'tools/list' }),
    { %H, 'Mcp-Session-Id' => $sid });
like($list, qr/"name":"echo"/,
     'the group is the one logical server, its tool listed');

my %sock = map { $_ => bridge_socket($_) } @M;
ok(!grep({ !defined } values %sock), "each member's bridge socket found")
    or diag(explain(\%sock));

# warm-up: one call each
my @warm = map { call($_) } 1 .. 3;
is("@warm", 'call 1 call 2 call 3', 'three warm-up calls answered');

# the lease holder's GET stream to each member is a connection too, opened
# within a tick of the start: the set is taken once it holds still
my %conn0;
for (1 .. 50) {
    my %now = map { $_ => join(' ', accepted($sock{$_} // '')) } @M;
    last if %conn0 && !grep { $now{$_} ne $conn0{$_} } @M;
    %conn0 = %now;
    select undef, undef, undef, 0.5;
}
ok(!grep({ $_ eq '' } values %conn0), 'each bridge holds connections');
my %req0 = map { $_ => received($_) } @M;

my %last = map { $_ => $req0{$_}{'tools/call'} // 0 } @M;

# each call is caught in flight, once its member has received it: the
# connection carrying it is then open, and must be one the bridge held
# before the calls
my (@who, @answers, %new);
for my $i (1 .. $CALLS) {
    my $body = $json->encode({ jsonrpc => '2.0', id => $i,
                               method => 'tools/call',
                               params => { name => 'sleep',
                                           arguments => { ms => 200 } } });
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(),
                                  Timeout => 30) or die "connect: $!";
    print {$s} "POST /mcp HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . "Accept: application/json, text/event-stream\r\n"
        . "Mcp-Session-Id: $sid\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    my ($at, %r);
    for (1 .. 1000) {
        %r = map { $_ => received($_)->{'tools/call'} // 0 } @M;
        ($at) = grep { $r{$_} > $last{$_} } @M;
        last if $at;
        select undef, undef, undef, 0.01;
    }
    %last = %r;
    push @who, $at // '?';

    for my $m (@M) {
        my $now = join ' ', accepted($sock{$m} // '');
        $new{$m}++ if $now ne $conn0{$m};
    }

    local $/;
    my $answer = <$s> // '';
    push @answers, $answer =~ /"text":"slept 200"/ ? 'ok' : $answer;
}

is(scalar(grep { $_ eq 'ok' } @answers), $CALLS, "$CALLS calls answered")
    or diag(explain(\@answers));
is("@who", join(' ', (@M) x ($CALLS / 3)), 'round robin over the members');

my %req1 = map { $_ => received($_) } @M;

for my $m (@M) {
    is($new{$m} // 0, 0,
       "$m: each call in flight on a connection its bridge held before "
       . "(kept alive, none opened or closed)");

    my %d = map { $_ => ($req1{$m}{$_} // 0) - ($req0{$m}{$_} // 0) }
            keys %{ $req1{$m} };
    is($d{'tools/call'} // 0, $CALLS / 3,
       "$m: a third of the calls, one tools/call each");
    my @extra = grep { $_ ne 'tools/call' && $d{$_} } sort keys %d;
    is("@extra", '', "$m: no other request during the calls")
        or diag(explain(\%d));
}

nginx_stop();
Hangar::Test::check_valgrind('groups-calls') if Hangar::Test::valgrind_on();
no_alerts();
no_orphans();

Test::More::done_testing();
