#!/usr/bin/env bash
# REST read speed against nginx's own `return 200`, same nginx, same run.
#   bench/rest.sh [duration_s] [connections] [all|metrics]
# Starts nginx (2 workers) on a free 127.0.0.1 port under bench/out/, with
# 10 declared servers, runs wrk on GET /api/mcp_servers and on
# /baseline, prints both rates and their ratio, and stops nginx.  Then the
# same with auth on and an API key (an admin key declared in hangar.yaml),
# against the same run without auth.  The error_log level is notice for
# both (info would log every authentication).  Last, GET /metrics with 100
# servers against `return 200`, every request sent as Prometheus sends a
# scrape (Accept-Encoding: gzip and its Accept), in turns, medians: on a
# plain hangar_metrics location (the ratio of the target), and on one with
# nginx's gzip filter on (for comparison: deflating costs more than sending
# the text on a LAN).  "metrics" as the third argument runs only that part.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
CONNS=${2:-32}
PART=${3:-all}
command -v wrk >/dev/null || { echo "wrk missing: make deps" >&2; exit 1; }
. bench/lib.sh

rate() {
    wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "${@:2}" "http://127.0.0.1:$PORT$1" > "$OUT/wrk-$PORT$(echo "$1" | tr / _).txt"
    awk '/Requests\/sec/ {print $2}' "$OUT/wrk-$PORT$(echo "$1" | tr / _).txt"
}

if [ "$PART" != metrics ]; then
YAML="mcp_servers:"
for i in $(seq 1 10); do
    YAML="$YAML
  server$i: {command: [python3, -m, srv$i], description: \"bench server $i\"}"
done

export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}
bench_nginx rest "$YAML"

curl -sf "http://127.0.0.1:$PORT/api/mcp_servers" | grep -q '"server10"' || { echo "API not answering" >&2; exit 1; }
BYTES=$(curl -s "http://127.0.0.1:$PORT/api/mcp_servers" | wc -c)

rate /baseline >/dev/null              # warm-up
BASE=$(rate /baseline)
API=$(rate /api/mcp_servers)

printf 'wrk -t2 -c%s -d%ss, nginx 2 workers, %s\n' "$CONNS" "$DUR" "$(nginx -v 2>&1)"
printf '%-32s %12s req/s\n' "return 200 (baseline)" "$BASE"
printf '%-32s %12s req/s   (%s bytes)\n' "GET /api/mcp_servers (10)" "$API" "$BYTES"
awk -v a="$API" -v b="$BASE" 'BEGIN { printf "ratio api/baseline               %12.2f\n", a / b }'

# the same with auth on: an API key on every request.  Both nginx run
# side by side and are measured in turns (3 rounds, medians), so that the
# machine's drift does not land on one side.
KEY=mcp_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
OUT1=$OUT PORT1=$PORT
bench_nginx rest-auth "auth:
  enabled: true
  api_keys: [{name: bench, principal_id: bench, key: \"$KEY\"}]
  role_assignments: [{principal: bench, role: admin}]
$YAML"
OUT2=$OUT PORT2=$PORT
trap 'OUT=$OUT1 bench_stop; OUT=$OUT2 bench_stop' EXIT
curl -sf -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT2/api/mcp_servers" | grep -q '"server10"' || { echo "API with auth not answering" >&2; exit 1; }
PORT=$PORT2 rate /api/mcp_servers -H "X-API-Key: $KEY" >/dev/null   # warm-up
OFF=() ON=()
for round in 1 2 3; do
    OFF+=("$(PORT=$PORT1 rate /api/mcp_servers)")
    ON+=("$(PORT=$PORT2 rate /api/mcp_servers -H "X-API-Key: $KEY")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
MOFF=$(median "${OFF[@]}") MON=$(median "${ON[@]}")
printf '%-32s %s\n' "auth off, 3 rounds (req/s)" "${OFF[*]}"
printf '%-32s %s\n' "auth on (X-API-Key), 3 rounds" "${ON[*]}"
awk -v a="$MON" -v b="$MOFF" 'BEGIN { printf "auth on / auth off (medians)      %12.3f  (%+.1f%%)\n", a / b, (a / b - 1) * 100 }'

fi

# GET /metrics with 100 declared (cold) servers against `return 200`, in
# the same nginx and run.
YAML100="mcp_servers:"
for i in $(seq 1 100); do
    YAML100="$YAML100
  m$i: {command: [python3, -m, srv$i]}"
done
bench_nginx rest-metrics "$YAML100" "location = /metrics { hangar_metrics; }
        location = /metrics-gzip { hangar_metrics; gzip on; gzip_types text/plain; }"
OUT3=$OUT PORT3=$PORT
trap 'OUT=${OUT1:-$OUT3} bench_stop; OUT=${OUT2:-$OUT3} bench_stop; OUT=$OUT3 bench_stop' EXIT
MTEXT=$(curl -sf "http://127.0.0.1:$PORT3/metrics") || true
grep -q 'mcp_server="m100"' <<< "$MTEXT" || { echo "/metrics not answering" >&2; exit 1; }
MBYTES=$(curl -s "http://127.0.0.1:$PORT3/metrics" | wc -c)
# what Prometheus 2.x and 3.x send on a scrape
PROM=(-H "Accept-Encoding: gzip" -H "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1" -H "X-Prometheus-Scrape-Timeout-Seconds: 10")
GBYTES=$(curl -s "${PROM[@]}" "http://127.0.0.1:$PORT3/metrics-gzip" | wc -c)
PORT=$PORT3 rate /metrics >/dev/null    # warm-up
MB=() MP=() MG=()
for round in 1 2 3; do
    MB+=("$(PORT=$PORT3 rate /baseline "${PROM[@]}")")
    MG+=("$(PORT=$PORT3 rate /metrics-gzip "${PROM[@]}")")
    MP+=("$(PORT=$PORT3 rate /metrics "${PROM[@]}")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
MBASE=$(median "${MB[@]}") MET=$(median "${MP[@]}") MGZ=$(median "${MG[@]}")
printf '%-32s %s\n' "return 200, 3 rounds (req/s)" "${MB[*]}"
printf '%-32s %s   (%s bytes)\n' "GET /metrics (100 servers)" "${MP[*]}" "$MBYTES"
printf '%-32s %s   (%s bytes)\n' "same, location with gzip on" "${MG[*]}" "$GBYTES"
awk -v a="$MET" -v b="$MBASE" 'BEGIN { printf "ratio metrics/baseline           %12.2f\n", a / b }'
awk -v a="$MGZ" -v b="$MBASE" 'BEGIN { printf "ratio metrics (gzip on)/baseline %12.2f\n", a / b }'
