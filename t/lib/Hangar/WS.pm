package Hangar::WS;

# A small RFC 6455 client for the tests of /api/ws/events: it speaks plain
# and hostile frames (unmasked, fragmented, oversized, bad close codes).
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1_base64);
use Time::HiRes qw(time);
use JSON::PP;
use Exporter 'import';
require Hangar::Test;

our @EXPORT = qw(ws_open ws_send ws_recv ws_json ws_until ws_close_code);

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

# waits stretch under valgrind: a worker there is many times slower
sub slow ($) { $_[0] * (($ENV{HANGAR_TEST_VALGRIND} // '') eq '1' ? 6 : 1) }

# ws_open($path, headers => {..}, rcvbuf => n, key => ..., version => ..)
# returns ($ws, $status, \%headers); $ws is undef unless the status is 101
sub ws_open {
    my ($path, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $o{port} // Hangar::Test::port(), Proto => 'tcp',
                                     Timeout => slow(10),
                                     $o{rcvbuf} ? (Blocking => 1) : ())
        or die "connect: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, pack('i', $o{rcvbuf}))
        if $o{rcvbuf};
    my $key = exists $o{key} ? $o{key}
            : encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my %h = (Host => 'localhost', Upgrade => 'websocket',
             Connection => 'Upgrade', 'Sec-WebSocket-Version' => 13,
             defined $key ? ('Sec-WebSocket-Key' => $key) : (),
             %{ $o{headers} || {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;
    my $req = "GET $path HTTP/1.1\r\n"
            . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n"
            . ($o{after} // '');
    local $SIG{PIPE} = 'IGNORE';
    syswrite($sock, $req);
    my ($buf, $sel) = ('', IO::Select->new($sock));
    my $deadline = time + slow(10);
    while (index($buf, "\r\n\r\n") < 0) {
        my $left = $deadline - time;
        return (undef, undef, {}) if $left <= 0 || !$sel->can_read($left);
        sysread($sock, $buf, 65536, length $buf) or last;
    }
    my $end = index($buf, "\r\n\r\n");
    return (undef, undef, {}) if $end < 0;
    my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
    my ($status) = $line =~ m{^HTTP/1\.1 (\d+)};
    my %rh;
    for (@lines) { /^([^:]+):\s*(.*)$/ and $rh{lc $1} = $2 }
    my $rest = substr($buf, $end + 4);
    if (($status // 0) != 101) {
        my $len = $rh{'content-length'} // 0;
        while (length $rest < $len && $sel->can_read(slow(5))) {
            sysread($sock, $rest, 65536, length $rest) or last;
        }
        $rh{body} = $rest;
        return (undef, $status, \%rh);
    }
    my $want = sha1_base64($key . $GUID) . '=';
    $rh{accept_ok} = (($rh{'sec-websocket-accept'} // '') eq $want) ? 1 : 0;
    return ({ sock => $sock, buf => $rest, sel => $sel }, $status, \%rh);
}

# ws_send($ws, $opcode, $payload, fin => 0|1, mask => 0|1, rsv => bits,
#         len => a declared length)
sub ws_send {
    my ($ws, $op, $data, %o) = @_;
    $data //= '';
    my $fin = exists $o{fin} ? $o{fin} : 1;
    my $mask = exists $o{mask} ? $o{mask} : 1;
    my $len = $o{len} // length $data;
    my $f = chr(($fin ? 0x80 : 0) | (($o{rsv} // 0) << 4) | $op);
    my $m = $mask ? 0x80 : 0;
    if ($len < 126) {
        $f .= chr($m | $len);
    } elsif ($len < 65536) {
        $f .= chr($m | 126) . pack('n', $len);
    } else {
        $f .= chr($m | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $k = join '', map { chr int rand 256 } 1 .. 4;
        $f .= $k;
        my $x = $data ^ substr($k x (int(length($data) / 4) + 1), 0,
                                length $data);
        $f .= $x;
    } else {
        $f .= $data;
    }
    local $SIG{PIPE} = 'IGNORE';
    my $n = syswrite($ws->{sock}, $f);
    return defined $n && $n == length $f;
}

# the next frame: ($opcode, $payload); () on timeout; ('eof') at the end
sub ws_recv {
    my ($ws, $secs) = @_;
    my $deadline = time + slow($secs // 10);
    for (;;) {
        my $b = $ws->{buf};
        if (length $b >= 2) {
            my ($b0, $b1) = unpack('CC', $b);
            my $len = $b1 & 0x7f;
            my $hl = 2;
            if ($len == 126) { $hl = 4; $len = unpack('n', substr($b, 2, 2)) if length $b >= 4 }
            elsif ($len == 127) { $hl = 10; $len = unpack('Q>', substr($b, 2, 8)) if length $b >= 10 }
            if (length $b >= $hl + $len) {
                my $p = substr($b, $hl, $len);
                substr($ws->{buf}, 0, $hl + $len, '');
                return ($b0 & 0x0f, $p, $b0 & 0x80, $b1 & 0x80);
            }
        }
        my $left = $deadline - time;
        return () if $left <= 0 || !$ws->{sel}->can_read($left);
        my $n = sysread($ws->{sock}, $ws->{buf}, 65536, length $ws->{buf});
        return ('eof') unless $n;
    }
}

# the next text frame as JSON (pings of the server answered unless asked)
sub ws_json {
    my ($ws, $secs, %o) = @_;
    my $deadline = time + slow($secs // 10);
    for (;;) {
        my $left = $deadline - time;
        return undef if $left <= 0;
        my ($op, $p) = ws_recv($ws, $left);
        return undef unless defined $op && $op ne 'eof';
        next if $op == 0x9 || $op == 0xa;
        return { _close => $p } if $op == 0x8;
        my $j = eval { decode_json($p) } or return { _bad => $p };
        if (($j->{type} // '') eq 'ping' && !$o{raw}) {
            ws_send($ws, 1, '{"type":"pong"}');
            next;
        }
        return $j;
    }
}

# JSON messages until $pred returns true (then that one is last) or timeout
sub ws_until {
    my ($ws, $pred, $secs) = @_;
    my $deadline = time + slow($secs // 10);
    my @got;
    while ((my $left = $deadline - time) > 0) {
        my $j = ws_json($ws, $left) or last;
        push @got, $j;
        return @got if $pred->($j);
    }
    return @got;
}

# the code of the server's close frame, after other frames; undef if none
sub ws_close_code {
    my ($ws, $secs) = @_;
    my $deadline = time + slow($secs // 10);
    while ((my $left = $deadline - time) > 0) {
        my ($op, $p) = ws_recv($ws, $left);
        return undef unless defined $op && $op ne 'eof';
        next unless $op == 0x8;
        return length $p >= 2 ? unpack('n', $p) . substr($p, 2) : '';
    }
    return undef;
}

1;
