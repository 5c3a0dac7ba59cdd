#!/usr/bin/env bash
# tools/call through a group of 3 stdio members (round robin) against
# calls to one server of the same kind, through the front door of the same
# nginx, sequential and concurrent, in turns (ROUNDS turns of calls/ROUNDS
# calls each; the median of the turns' p50); through a group of one member
# (the cost of the group itself: selection and report, no switching
# between servers); and, as a control without any group, through three
# servers of the same kind called in turn by the client.  Each row also
# gives what the calls cost the machine, from the kernel's per-process
# scheduler counters (/proc/<pid>/schedstat) of the nginx workers, the
# bridges and the servers: CPU time per call, and the time per call those
# processes spent runnable but waiting for a CPU (run-queue wait; near 0
# on an idle machine, most of the latency on a loaded one).  Then the
# calls that fail while one member is killed under concurrent load.
#   bench/groups.sh [calls] [concurrency]      (default 2000 8; ROUNDS=10)
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
ROUNDS=${ROUNDS:-10}
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
  solo: {mode: group, members: [single]}
  x1: {command: [perl, $SERVER, --tools, echo, --name, x1]}
  x2: {command: [perl, $SERVER, --tools, echo, --name, x2]}
  x3: {command: [perl, $SERVER, --tools, echo, --name, x3]}"
bench_nginx groups "$YAML" 'location = /mcp { hangar_mcp; }'
URL=http://127.0.0.1:$PORT/mcp

for s in one single m1 m2 m3 x1 x2 x3; do
    curl -sf -X POST "http://127.0.0.1:$PORT/api/mcp_servers/$s/start" >/dev/null
done

load() { perl bench/mcp-load.pl http "$URL" "$1" "$2" "$3"; }

# the rows: name, tool(s)
ROWS=(one one__echo pool pool__echo solo solo__echo turn x1__echo,x2__echo,x3__echo)
declare -A LABEL=([one]="one server" [pool]="group of 3" [solo]="group of 1"
                  [turn]="3 servers in turn, no group")

# warm-up: sessions, catalogs, keep-alive connections to the bridges
for ((i = 0; i < ${#ROWS[@]}; i += 2)); do
    load "${ROWS[i+1]}" 200 4 >/dev/null
done

# the processes a call runs through (the loader aside): workers, bridges
# and their servers; "run_ns wait_ns" summed over them
master=$(cat "$OUT/logs/nginx.pid")
PIDS="$(pgrep -P "$master" | tr '\n' ' ')"
for b in $(pgrep -f "hangar-bridge .*$OUT/" || true); do
    PIDS="$PIDS $b $(pgrep -P "$b" | tr '\n' ' ')"
done
sched() {
    local p
    for p in $PIDS; do cat "/proc/$p/schedstat" 2>/dev/null || true; done \
        | awk '{r += $1; w += $2} END {printf "%.0f %.0f\n", r, w}'
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

per=$((CALLS / ROUNDS))

for c in 1 "$CONC"; do
    for ((i = 0; i < ${#ROWS[@]}; i += 2)); do
        : > "$OUT/${ROWS[i]}.$c"; : > "$OUT/${ROWS[i]}.$c.sched"
    done
    for ((r = 0; r < ROUNDS; r++)); do
        for ((i = 0; i < ${#ROWS[@]}; i += 2)); do
            s0=$(sched)
            load "${ROWS[i+1]}" "$per" "$c" >> "$OUT/${ROWS[i]}.$c"
            echo "$s0 $(sched)" >> "$OUT/${ROWS[i]}.$c.sched"
        done
    done

    [ "$c" = 1 ] && what=sequential || what="concurrency $c"
    echo "$what: $CALLS calls per row, in $ROUNDS turns (median of the turns)"
    for ((i = 0; i < ${#ROWS[@]}; i += 2)); do
        n=${ROWS[i]}
        p50=$(awk '{print $2}' "$OUT/$n.$c" | median)
        p99=$(awk '{print $3}' "$OUT/$n.$c" | median)
        rps=$(awk '{print $1}' "$OUT/$n.$c" | median)
        err=$(awk '{s += $4} END {print s + 0}' "$OUT/$n.$c")
        read -r cpu wait < <(awk -v n="$per" \
            '{r += $3 - $1; w += $4 - $2; k++}
             END {printf "%.0f %.0f\n", r / 1000 / n / k, w / 1000 / n / k}' \
            "$OUT/$n.$c.sched")
        printf '  %-28s p50 %7.3f ms  p99 %7.3f ms  %6s calls/s  cpu %5s us/call  run-queue wait %6s us/call  errors %s\n' \
            "${LABEL[$n]}" "$p50" "$p99" "$rps" "$cpu" "$wait" "$err"
        eval "P50_$n=$p50"
    done
    printf '  group of 3 / one server, p50: %.3f (%+.1f%%); group of 1 / one server: %.3f (%+.1f%%)\n' \
        "$(echo "$P50_pool / $P50_one" | bc -l)" \
        "$(echo "($P50_pool - $P50_one) * 100 / $P50_one" | bc -l)" \
        "$(echo "$P50_solo / $P50_one" | bc -l)" \
        "$(echo "($P50_solo - $P50_one) * 100 / $P50_one" | bc -l)"
done

# m2's server (this nginx's, not another run's): its bridge's child
victim=$(pgrep -P "$(pgrep -f "hangar-bridge --id m2 --socket $OUT/" | head -1)" \
         | head -1 || true)

# one member killed (SIGKILL) while the group is under load: the calls
# that fail (no answer, or an isError result) are counted
perl -MIO::Socket::INET -MPOSIX -e '
    my ($port, $calls, $conc, $victim) = @ARGV;
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
    kill "KILL", $victim if $victim;
    my ($ok, $bad) = (0, 0);
    while (my $l = <$rd>) { my ($o, $b) = split " ", $l; $ok += $o; $bad += $b }
    waitpid $_, 0 for @pids;
    printf "member m2 (pid %s) killed under load (concurrency %d): %d calls answered, %d failed\n",
        $victim || "not found", $conc, $ok, $bad;
' "$PORT" "$CALLS" "$CONC" "$victim"

curl -s "http://127.0.0.1:$PORT/api/groups/pool" | perl -ne \
    'print "group after: healthy_count $1, m2 in_rotation $2\n" if /"healthy_count":(\d+).*"id":"m2","state":"[a-z]+","in_rotation":(\w+)/'
