#!/usr/bin/perl
# A small MCP load generator for bench/mcp.sh.
#   mcp-load.pl http <url> <tool> <calls> <concurrency>
#   mcp-load.pl stdio '<command>' <tool> <calls> <concurrency>
# Prints "calls/s p50_ms p99_ms errors".  HTTP: each of <concurrency>
# processes keeps one connection and one session and calls in a loop.
# stdio: one process keeps <concurrency> requests in flight on the pipe.
use strict;
use warnings;
use IO::Socket::INET;
use IPC::Open2;
use Time::HiRes qw(time);
use POSIX ();

my ($kind, $target, $tool, $calls, $conc) = @ARGV;
my $args = '{"message":"hello"}';
$args = '{"text":"hello"}' if $tool =~ /(^|__)echo$/;

# <tool> may be a comma list: the calls go to each in turn
my @tools = split /,/, $tool;

sub call_body { my $id = shift; my $t = $tools[$id % @tools];
    qq({"jsonrpc":"2.0","id":$id,"method":"tools/call","params":{"name":"$t","arguments":$args}}) }

sub pct { my ($l, $p) = @_; my @s = sort { $a <=> $b } @$l; @s ? $s[int($#s * $p)] : 0 }

if ($kind eq 'stdio') {
    open STDERR, '>', '/dev/null';
    my $pid = open2(my $out, my $in, 'sh', '-c', "exec $target");
    $in->autoflush(1);
    print $in qq({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}\n);
    <$out>;
    print $in qq({"jsonrpc":"2.0","method":"notifications/initialized"}\n);
    my (%sent, @lat);
    my ($next, $done, $errors) = (1, 0, 0);
    my $t0 = time;
    while ($done < $calls) {
        while ($next <= $calls && keys(%sent) < $conc) {
            $sent{$next} = time;
            print $in call_body($next), "\n";
            $next++;
        }
        my $line = <$out> // last;
        my ($id) = $line =~ /"id":(\d+)/ or next;
        next unless exists $sent{$id};
        push @lat, (time - delete $sent{$id}) * 1000;
        $errors++ unless $line =~ /"result"/;
        $done++;
    }
    my $el = time - $t0;
    close $in; waitpid $pid, 0;
    printf "%.0f %.3f %.3f %d\n", $done / $el, pct(\@lat, 0.5), pct(\@lat, 0.99), $errors;
    exit 0;
}

# http
my ($host, $port, $path) = $target =~ m{^http://([^:/]+):(\d+)(/.*)$} or die "bad url";

# nginx closes a keep-alive connection after keepalive_requests (1000):
# the next request then goes on a new one (the session stays valid)
my $conn;

sub request {
    my ($s, $body, $sid) = @_;
    $s = $conn //= IO::Socket::INET->new(PeerAddr => "$host:$port") or die $!;
    print $s "POST $path HTTP/1.1\r\nHost: $host\r\nContent-Type: application/json\r\n"
           . "Accept: application/json, text/event-stream\r\n"
           . ($ENV{HANGAR_BENCH_KEY} ? "X-API-Key: $ENV{HANGAR_BENCH_KEY}\r\n" : '')
           . ($sid ? "Mcp-Session-Id: $sid\r\nMCP-Protocol-Version: 2025-11-25\r\n" : '')
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my ($status, %h);
    my $line = <$s> // return;
    ($status) = $line =~ m{^HTTP/1\.\d (\d+)};
    while (defined($line = <$s>) && $line ne "\r\n") {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*?)\r$/;
    }
    my $data = '';
    if (defined $h{'content-length'}) {
        read($s, $data, $h{'content-length'}) if $h{'content-length'};
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/) {
        while (1) {
            my $line = <$s> // '0';
            $line =~ s/[\r\n;].*//s;
            my $size = hex($line);
            last if $size == 0;
            read($s, my $chunk, $size);
            $data .= $chunk;
            <$s>;
        }
        <$s>;
    }
    undef $conn if ($h{connection} // '') =~ /close/i;
    return ($status, \%h, $data);
}

my $per = int($calls / $conc);
my @pids;
pipe(my $rd, my $wr);
my $t0 = time;
for my $w (1 .. $conc) {
    my $pid = fork // die;
    if (!$pid) {
        close $rd;
        my $s;
        my ($st, $h) = request($s, '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}');
        my $sid = $h->{'mcp-session-id'};
        request($s, '{"jsonrpc":"2.0","method":"notifications/initialized"}', $sid);
        my (@lat, $err);
        $err = 0;
        for my $i (1 .. $per) {
            my $t = time;
            my ($st2, undef, $d) = request($s, call_body($i), $sid);
            push @lat, (time - $t) * 1000;
            $err++ unless ($st2 // 0) == 200 && $d =~ /"result"/;
        }
        print $wr join(',', $err, map { sprintf '%.4f', $_ } @lat), "\n";
        close $wr;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
close $wr;
my (@lat, $errors);
$errors = 0;
while (my $l = <$rd>) { chomp $l; my ($e, @v) = split /,/, $l; $errors += $e; push @lat, @v }
waitpid $_, 0 for @pids;
my $el = time - $t0;
printf "%.0f %.3f %.3f %d\n", @lat / $el, pct(\@lat, 0.5), pct(\@lat, 0.99), $errors;
