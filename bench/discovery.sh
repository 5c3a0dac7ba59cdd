#!/usr/bin/env bash
# Filesystem discovery at scale: a directory of <files> server files
# (default 1000).  Prints the time of the first full cycle (until every
# server is registered), the time for one new file to show in
# GET /api/mcp_servers (inotify), the time for a changed file to be
# registered again (the registrations counter of /metrics), the time of
# a full cycle over the unchanged files, and REST and tools/call throughput while
# cycles run back to back against the same without cycles, in one run
# (measured in turns, 3 rounds, medians).
#   bench/discovery.sh [files] [duration_s]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
DUR=${2:-5}
command -v wrk >/dev/null || { echo "wrk missing: make deps" >&2; exit 1; }
. bench/lib.sh

DIR=$TOP/bench/out/discovery-files
rm -rf "$DIR"; mkdir -p "$DIR"
SERVER=$TOP/t/servers/hangar-test-server
for i in $(seq 1 "$N"); do
    printf 'name: d%s\nconnection:\n  command: [perl, %s, --tools, echo]\n' "$i" "$SERVER" > "$DIR/d$i.yaml"
done

export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}
T0=$(date +%s.%N)
bench_nginx discovery "execution:
  allowed_commands: [perl]
mcp_servers:
  echo1: {command: [perl, $SERVER, --tools, echo]}
discovery:
  enabled: true
  refresh_interval_s: 3600
  security: {max_registration_rate: 100000, max_mcp_servers_per_source: 100000}
  sources:
    - {type: filesystem, path: $DIR}" 'location = /mcp { hangar_mcp; hangar_mcp_naming prefixed; }
        location = /metrics { hangar_metrics; }'

count() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^mcp_hangar_discovery_mcp_servers\{source_type="filesystem"\}/ {print $2}'; }
while [ "$(count)" != "$N" ]; do sleep 0.05; done
T1=$(date +%s.%N)
printf 'first cycle: %d files registered in %.2f s (from nginx start)\n' "$N" "$(echo "$T1 - $T0" | bc)"

T2=$(date +%s.%N)
printf 'name: newcomer\nconnection:\n  command: [perl, %s]\n' "$SERVER" > "$DIR/newcomer.yaml.tmp"
mv "$DIR/newcomer.yaml.tmp" "$DIR/newcomer.yaml"
until curl -sf "http://127.0.0.1:$PORT/api/mcp_servers/newcomer" >/dev/null; do sleep 0.01; done
T3=$(date +%s.%N)
printf 'a new file visible in GET /api/mcp_servers after %.0f ms (inotify)\n' "$(echo "($T3 - $T2) * 1000" | bc)"

# GET /api/mcp_servers/<id> shows no command: the change is seen when
# discovery's registrations counter (registered or updated) moves
regs() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^mcp_hangar_discovery_registrations_total\{source_type="filesystem"\}/ {print $2}'; }
R0=$(regs)
T4=$(date +%s.%N)
printf 'name: newcomer\nconnection:\n  command: [perl, %s, --tools, echo]\n' "$SERVER" > "$DIR/newcomer.yaml.tmp"
mv "$DIR/newcomer.yaml.tmp" "$DIR/newcomer.yaml"
for _ in $(seq 3000); do
    [ "$(regs)" != "$R0" ] && break
    sleep 0.01
done
T5=$(date +%s.%N)
printf 'a changed file registered again after %.0f ms (inotify; 30000: not seen)\n' "$(echo "($T5 - $T4) * 1000" | bc)"

FS=dfb13b95-3535-554f-b65b-9ce9c8fddb0e
# a full cycle over the unchanged files, as the API's synchronous scan
# answers it (the median of 5; each worker keeps what its last scan read)
declare -a SC
for _ in 1 2 3 4 5; do
    S0=$(date +%s.%N)
    curl -s -m 60 -XPOST "http://127.0.0.1:$PORT/api/discovery/sources/$FS/scan" >/dev/null
    S1=$(date +%s.%N)
    SC+=("$(echo "($S1 - $S0) * 1000" | bc)")
done
printf 'a full cycle over %d unchanged files: %.0f ms (POST .../scan, median of 5)\n' \
    "$N" "$(printf '%s\n' "${SC[@]}" | sort -n | sed -n 3p)"

curl -sf -XPOST "http://127.0.0.1:$PORT/api/mcp_servers/echo1/start" >/dev/null
cycles() { while :; do curl -s -m 60 -XPOST "http://127.0.0.1:$PORT/api/discovery/sources/$FS/scan" >/dev/null; done; }

rest() { wrk -t1 -c16 -d"${DUR}s" "http://127.0.0.1:$PORT/api/mcp_servers/echo1" | awk '/Requests\/sec/ {print $2}'; }
call() { perl bench/mcp-load.pl http "http://127.0.0.1:$PORT/mcp" echo1__echo $((DUR * 300)) 4 | awk '{print $1}'; }

declare -a RQ RC CQ CC
for round in 1 2 3; do
    RQ+=("$(rest)"); CQ+=("$(call)")
    cycles & CP=$!
    sleep 0.5
    RC+=("$(rest)"); CC+=("$(call)")
    kill $CP 2>/dev/null; wait $CP 2>/dev/null || true
done
med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
printf 'GET /api/mcp_servers/echo1  quiet %10.0f req/s   cycles running %10.0f req/s   (%+.1f%%)\n' \
    "$(med "${RQ[@]}")" "$(med "${RC[@]}")" "$(echo "($(med "${RC[@]}") - $(med "${RQ[@]}")) * 100 / $(med "${RQ[@]}")" | bc -l)"
printf 'tools/call echo (front door) quiet %10.0f calls/s cycles running %10.0f calls/s (%+.1f%%)\n' \
    "$(med "${CQ[@]}")" "$(med "${CC[@]}")" "$(echo "($(med "${CC[@]}") - $(med "${CQ[@]}")) * 100 / $(med "${CQ[@]}")" | bc -l)"
echo "cycles completed: $(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^mcp_hangar_discovery_cycles_total/ {print $2}')"
rm -rf "$DIR"
