#!/usr/bin/env bash
# Lifecycle costs, in one run:
#  1. start-to-ready through hangar (POST .../start: bridge, handshake,
#     tools/list) against the server's own time to answer initialize (and
#     then tools/list) when spawned directly;
#  2. 50 concurrent starts of a cold server: how many spawns;
#  3. resident memory of a bridge.
#   bench/lifecycle.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
. bench/lib.sh

SERVER="$TOP/t/servers/hangar-test-server"
bench_nginx lifecycle "mcp_servers:
  s: {command: [perl, $SERVER]}"
API=http://127.0.0.1:$PORT/api/mcp_servers

# 1. one Perl process measures both; hangar on a kept-alive connection
read -r DIRECT DIRECT_LIST VIA < <(perl -MTime::HiRes=time -MIPC::Open2 -MHTTP::Tiny -e '
    my ($server, $n, $api) = @ARGV;
    open STDERR, ">", "/dev/null";
    my $init = qq({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n);
    my $list = qq({"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n);
    sub median { my @t = sort { $a <=> $b } @_; $t[@t / 2] }
    my (@d, @dl, @v);
    for (1 .. $n) {
        my $t0 = time;
        my $pid = open2(my $out, my $in, "perl", $server);
        print $in $init; $in->flush;
        my $line = <$out>;
        push @d, (time - $t0) * 1000;
        print $in $list; $in->flush;
        $line = <$out>;
        push @dl, (time - $t0) * 1000;
        close $in; waitpid $pid, 0;
    }
    my $http = HTTP::Tiny->new(keep_alive => 1);
    for (1 .. $n) {
        my $t0 = time;
        my $r = $http->post("$api/s/start");
        die "start failed: $r->{content}" unless $r->{content} =~ /"ready"/;
        push @v, (time - $t0) * 1000;
        $http->post("$api/s/stop");
        select undef, undef, undef, 0.2;
    }
    printf "%.1f %.1f %.1f\n", median(@d), median(@dl), median(@v);
' "$SERVER" "$ROUNDS" "$API")

# 2. 50 concurrent starts of a cold server
before=$(grep -c 'hangar: "s" is ready' "$OUT/logs/error.log" || true)
for _ in $(seq 50); do curl -s -o /dev/null -XPOST "$API/s/start" & done
wait
after=$(grep -c 'hangar: "s" is ready' "$OUT/logs/error.log" || true)
STATE=$(curl -s "$API/s" | perl -ne 'print $1 if /"state":"(\w+)"/')

# 3. the bridge's resident memory
BRIDGE=$(curl -s "$API/s" | perl -ne 'print $1 if /"bridge_pid":(\d+)/')
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$BRIDGE/status")

printf 'lifecycle, %s rounds, medians, nginx 2 workers\n' "$ROUNDS"
printf '%-52s %8s ms\n' "server alone: spawn until initialize answered" "$DIRECT"
printf '%-52s %8s ms\n' "server alone: spawn until tools/list answered" "$DIRECT_LIST"
printf '%-52s %8s ms\n' "hangar: POST /start until ready (bridge, tools)" "$VIA"
awk -v v="$VIA" -v d="$DIRECT_LIST" 'BEGIN { printf "%-52s %8.1f ms\n", "overhead of hangar (vs spawn until tools/list)", v - d }'
printf '%-52s %8s\n' "50 concurrent starts of a cold server: spawns" "$((after - before))"
printf '%-52s %8s\n' "state after them" "$STATE"
printf '%-52s %8s KiB\n' "bridge resident memory (VmRSS)" "$RSS"
