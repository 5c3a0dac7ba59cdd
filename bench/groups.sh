#!/usr/bin/env bash
# tools/call through a group of 3 stdio members (round robin) against
# calls to one server of the same kind, through the front door of the same
# nginx, sequential and concurrent, in turns (medians of 3 rounds); and
# through a group of one member of the same kind (the cost of the group
# itself: selection and report, no switching between servers); then the
# calls that fail while one member is killed under concurrent load.
#   bench/groups.sh [calls] [concurrency]      (default 2000 8)
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
. bench/lib.sh
export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}

SERVER="$TOP/t/servers/hangar-test-server"
YAML="mcp_servers:
  one: {command: [perl, $SERVER, --tools, echo, --name, one]}
  m1: {command: [perl, $SERVER, --tools, echo, --name, m1]}
  m2: {command: [perl, $SERVER, --tools, echo, --name, m2]}
  m3: {command: [perl, $SERVER, --tools, echo, --name, m3]}
  pool: {mode: group, strategy: round_robin, members: [m1, m2, m3]}
  single: {command: [perl, $SERVER, --tools, echo, --name, single]}
  solo: {mode: group, members: [single]}"
bench_nginx groups "$YAML" 'location = /mcp { hangar_mcp; }'
URL=http://127.0.0.1:$PORT/mcp

for s in one single m1 m2 m3; do
    curl -sf -X POST "http://127.0.0.1:$PORT/api/mcp_servers/$s/start" >/dev/null
done

load() { perl bench/mcp-load.pl http "$URL" "$1" "$2" "$3"; }

# warm-up: sessions, catalogs, keep-alive connections to the bridges
load one__echo 200 4 >/dev/null
load pool__echo 200 4 >/dev/null
load solo__echo 200 4 >/dev/null

median() { sort -n | sed -n 2p; }

for c in 1 "$CONC"; do
    : > "$OUT/one.$c"; : > "$OUT/pool.$c"; : > "$OUT/solo.$c"
    for _ in 1 2 3; do
        load one__echo "$CALLS" "$c" >> "$OUT/one.$c"
        load solo__echo "$CALLS" "$c" >> "$OUT/solo.$c"
        load pool__echo "$CALLS" "$c" >> "$OUT/pool.$c"
    done
    solo_p50=$(awk '{print $2}' "$OUT/solo.$c" | median)
    one_p50=$(awk '{print $2}' "$OUT/one.$c" | median)
    pool_p50=$(awk '{print $2}' "$OUT/pool.$c" | median)
    one_rps=$(awk '{print $1}' "$OUT/one.$c" | median)
    pool_rps=$(awk '{print $1}' "$OUT/pool.$c" | median)
    errors=$(awk '{s += $4} END {print s}' "$OUT/one.$c" "$OUT/pool.$c" \
             "$OUT/solo.$c")
    printf 'concurrency %-3s one server: %6s calls/s p50 %s ms | group of 3: %6s calls/s p50 %s ms (%+.1f%%) | group of 1: p50 %s ms (%+.1f%%) | errors %s\n' \
        "$c" "$one_rps" "$one_p50" "$pool_rps" "$pool_p50" \
        "$(echo "($pool_p50 - $one_p50) * 100 / $one_p50" | bc -l)" \
        "$solo_p50" "$(echo "($solo_p50 - $one_p50) * 100 / $one_p50" | bc -l)" \
        "$errors"
done

# one member killed (SIGKILL) while the group is under load: the calls
# that fail (no answer, or an isError result) are counted
perl -MIO::Socket::INET -MPOSIX -e '
    my ($port, $calls, $conc) = @ARGV;
    sub req { my ($s, $body, $sid) = @_;
        print $s "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               . "Accept: application/json, text/event-stream\r\n"
               . ($sid ? "Mcp-Session-Id: $sid\r\n" : "")
               . "Content-Length: " . length($body) . "\r\n\r\n$body";
        my ($line, %h) = (scalar <$s>);
        return unless defined $line;
        while (defined(my $l = <$s>)) { last if $l eq "\r\n"; $h{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*?)\r$/ }
        my $d = ""; read($s, $d, $h{"content-length"}) if $h{"content-length"};
        return (\%h, $d) }
    pipe(my $rd, my $wr);
    my @pids;
    for my $w (1 .. $conc) {
        my $pid = fork // die;
        if (!$pid) {
            close $rd;
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
            my ($h) = req($s, q({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}));
            my $sid = $h->{"mcp-session-id"};
            my ($ok, $bad) = (0, 0);
            for my $i (1 .. int($calls / $conc)) {
                $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die
                    unless $s && $s->connected;
                my (undef, $d) = req($s, qq({"jsonrpc":"2.0","id":$i,"method":"tools/call","params":{"name":"pool__echo","arguments":{"text":"hello"}}}), $sid);
                if (defined $d && $d =~ /"result"/ && $d !~ /"isError":true/) { $ok++ } else { $bad++; undef $s }
            }
            print $wr "$ok $bad\n";
            close $wr;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    # a quarter of the way in, m2 is killed
    select undef, undef, undef, 0.5;
    my ($victim) = grep { /\S/ } split /\n/, `pgrep -f -- "--tools echo --name m2"`;
    kill "KILL", $victim if $victim;
    my ($ok, $bad) = (0, 0);
    while (my $l = <$rd>) { my ($o, $b) = split " ", $l; $ok += $o; $bad += $b }
    waitpid $_, 0 for @pids;
    printf "member m2 (pid %s) killed under load (concurrency %d): %d calls answered, %d failed\n",
        $victim // "not found", $conc, $ok, $bad;
' "$PORT" "$CALLS" "$CONC"

curl -s "http://127.0.0.1:$PORT/api/groups/pool" | perl -ne \
    'print "group after: healthy_count $1, m2 in_rotation $2\n" if /"healthy_count":(\d+).*"id":"m2","state":"[a-z]+","in_rotation":(\w+)/'
