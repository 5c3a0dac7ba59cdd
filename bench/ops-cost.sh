#!/usr/bin/env bash
# What the counters, histograms and the audit log cost the front door:
# tools/call of the Perl echo server through /mcp.
#   bench/ops-cost.sh [calls] [concurrency] [rounds]
# 1. Throughput, audit log on vs off: two nginx side by side (2 workers
#    each), measured in turns (A B A B ..., medians), and their ratio.
#    "on" writes every call as nginx writes its access log (buffered,
#    hangar_audit_log ... buffer=64k flush=1s); "on-unbuffered" (a write
#    per line) is measured in the same turns.
# 2. The counters have no switch (an operator would not want one: they
#    are what /metrics shows), so their cost is counted, not timed: one
#    nginx (1 worker) under callgrind serves the same calls, and the
#    instructions of the worker per call are printed, with the share of
#    the counters (ngx_http_hangar_stats_*) and of the audit log
#    (ngx_http_hangar_audit_*), inclusive.  Skipped without valgrind.
# Wall-clock figures are noisy on a shared machine; the instruction
# counts are not.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
ROUNDS=${3:-5}
. bench/lib.sh
export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}

SERVER="$TOP/t/servers/hangar-test-server"
YAML="mcp_servers:
  echo: {command: [perl, $SERVER, --tools, echo]}"
LOC='location = /mcp { hangar_mcp; }'
load() { perl bench/mcp-load.pl http "http://127.0.0.1:$1/mcp" echo "$2" "$3"; }

HANGAR_BENCH_HTTP="" bench_nginx ops-off "$YAML" "$LOC"
OUT_OFF=$OUT PORT_OFF=$PORT
HANGAR_BENCH_HTTP="hangar_audit_log logs/audit.log buffer=64k flush=1s;" \
    bench_nginx ops-on "$YAML" "$LOC"
OUT_ON=$OUT PORT_ON=$PORT
HANGAR_BENCH_HTTP="hangar_audit_log logs/audit.log;" \
    bench_nginx ops-unbuf "$YAML" "$LOC"
OUT_UN=$OUT PORT_UN=$PORT
trap 'OUT=$OUT_OFF bench_stop; OUT=$OUT_ON bench_stop; OUT=$OUT_UN bench_stop' EXIT

for p in $PORT_OFF $PORT_ON $PORT_UN; do
    curl -s -o /dev/null -XPOST "http://127.0.0.1:$p/api/mcp_servers/echo/start"
    load "$p" 200 "$CONC" >/dev/null       # warm-up: both workers, the server
done

OFF=() ON=() UN=()
for _ in $(seq "$ROUNDS"); do
    OFF+=("$(load "$PORT_OFF" "$CALLS" "$CONC" | cut -d' ' -f1)")
    ON+=("$(load "$PORT_ON" "$CALLS" "$CONC" | cut -d' ' -f1)")
    UN+=("$(load "$PORT_UN" "$CALLS" "$CONC" | cut -d' ' -f1)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
MOFF=$(median "${OFF[@]}") MON=$(median "${ON[@]}") MUN=$(median "${UN[@]}")
LINES=$(cat "$OUT_ON/logs/audit.log" 2>/dev/null | wc -l)

printf 'tools/call echo through /mcp, %s calls, concurrency %s, %s rounds in turns\n' "$CALLS" "$CONC" "$ROUNDS"
printf '%-34s %s\n' "audit off (calls/s)" "${OFF[*]}"
printf '%-34s %s\n' "audit on, buffer=64k (calls/s)" "${ON[*]}"
printf '%-34s %s\n' "audit on, unbuffered (calls/s)" "${UN[*]}"
awk -v a="$MON" -v b="$MOFF" 'BEGIN { printf "audit buffered / off (medians)     %.3f  (%+.1f%%)\n", a / b, (a / b - 1) * 100 }'
awk -v a="$MUN" -v b="$MOFF" 'BEGIN { printf "audit unbuffered / off (medians)   %.3f  (%+.1f%%)\n", a / b, (a / b - 1) * 100 }'
printf '%-34s %s (flushed so far)\n' "audit lines written (buffered)" "$LINES"
OUT=$OUT_OFF bench_stop; OUT=$OUT_ON bench_stop; OUT=$OUT_UN bench_stop
trap - EXIT

# -- instructions per call, under callgrind ----------------------------------
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null || {
    echo "valgrind missing: no instruction counts"; exit 0; }
NCG=${HANGAR_BENCH_CG_CALLS:-300}
OUT=$TOP/bench/out/ops-cg
PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>1)->sockport')
rm -rf "$OUT"; mkdir -p "$OUT"/{conf,logs,state,tmp}
printf '%s\n' "$YAML" > "$OUT/conf/hangar.yaml"
cat > "$OUT/conf/nginx.conf" <<CONF
load_module $MODULE;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
daemon off;
worker_processes 1;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path tmp;
    hangar_zone hangar 16m;
    hangar_config conf/hangar.yaml;
    hangar_state state;
    hangar_audit_log logs/audit.log buffer=64k flush=1s;
    server {
        listen 127.0.0.1:$PORT;
        location /api/ { hangar_api; }
        $LOC
    }
}
CONF
MCP_RATE_LIMIT_RPS=1000000 MCP_RATE_LIMIT_BURST=1000000 \
    valgrind -q --tool=callgrind --trace-children=no \
    --collect-atstart=no --toggle-collect=ngx_process_events_and_timers \
    --callgrind-out-file="$OUT/logs/callgrind.%p" \
    nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log &
VGPID=$!
trap 'kill $VGPID 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/system" && break; sleep 0.2; done
curl -s -o /dev/null -XPOST "http://127.0.0.1:$PORT/api/mcp_servers/echo/start"
load "$PORT" 20 1 >/dev/null                  # warm-up
WPID=$(pgrep -P "$(cat "$OUT/logs/nginx.pid")" | head -1)
load "$PORT" "$NCG" 1 >/dev/null
nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log -s quit 2>/dev/null || true
wait $VGPID 2>/dev/null || true
trap - EXIT
# only the worker's event loop is counted: its calls (and the start of the
# server, a few probes): divided by every call made, warm-up included
NCG=$((NCG + 20))
F=$OUT/logs/callgrind.$WPID
[ -f "$F" ] || { echo "no callgrind output of the worker" >&2; exit 1; }
callgrind_annotate --inclusive=yes --threshold=100 "$F" > "$OUT/annotate.txt" 2>/dev/null
TOTAL=$(awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}' "$OUT/annotate.txt")
# a function may be listed twice (with and without its file): its largest
# inclusive count, summed over the functions named by the pattern
sumof() {
    awk -v re="$1" '$0 ~ re {
        n = $0; sub(/ \[.*$/, "", n); sub(/^.*:/, "", n)
        v = $1; gsub(",", "", v); if (v + 0 > m[n]) m[n] = v + 0
    } END { for (k in m) s += m[k]; print s + 0 }' "$OUT/annotate.txt"
}
STATS=$(sumof ':ngx_http_hangar_stats_(call|start|stop|check|sent|http|received|limit|gc|batch|batch_active|reload|error)( |$)')
AUDIT=$(sumof ':ngx_http_hangar_audit_(call|pass|api|phase)( |$)')
printf '\ninstructions per tools/call in the worker (callgrind, %s sequential calls)\n' "$NCG"
awk -v t="$TOTAL" -v s="$STATS" -v a="$AUDIT" -v n="$NCG" 'BEGIN {
    printf "%-34s %12.0f\n", "all", t / n
    printf "%-34s %12.0f  (%.2f%%)\n", "counters and histograms", s / n, 100 * s / t
    printf "%-34s %12.0f  (%.2f%%)\n", "audit log (buffered)", a / n, 100 * a / t
}'
