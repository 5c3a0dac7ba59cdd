#!/usr/bin/env bash
# REST read speed against nginx's own `return 200`, same nginx, same run.
#   bench/rest.sh [duration_s] [connections]
# Starts nginx (2 workers) on a free 127.0.0.1 port under bench/out/, with
# 10 declared servers, runs wrk on GET /api/mcp_servers and on
# /baseline, prints both rates and their ratio, and stops nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
DUR=${1:-5}
CONNS=${2:-32}
OUT=$TOP/bench/out/rest
MODULE=$TOP/build/ngx_http_hangar_module.so
[ -f "$MODULE" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: make deps" >&2; exit 1; }

PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>1)->sockport')
rm -rf "$OUT"; mkdir -p "$OUT"/{conf,logs,state,tmp}

{
    echo "mcp_servers:"
    for i in $(seq 1 10); do
        echo "  server$i: {command: [python3, -m, srv$i], description: \"bench server $i\"}"
    done
} > "$OUT/conf/hangar.yaml"

cat > "$OUT/conf/nginx.conf" <<CONF
load_module $MODULE;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp;
    hangar_zone hangar 4m;
    hangar_config conf/hangar.yaml;
    hangar_state state;
    server {
        listen 127.0.0.1:$PORT;
        location /api/ { hangar_api; }
        location = /baseline { return 200 '{"ok":true}'; }
    }
}
CONF

nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log
trap 'nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log -s stop 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/baseline" >/dev/null && break; sleep 0.1; done

rate() {
    wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$PORT$1" > "$OUT/wrk$(echo "$1" | tr / _).txt"
    awk '/Requests\/sec/ {print $2}' "$OUT/wrk$(echo "$1" | tr / _).txt"
}

curl -sf "http://127.0.0.1:$PORT/api/mcp_servers" | grep -q '"server10"' || { echo "API not answering" >&2; exit 1; }
BYTES=$(curl -s "http://127.0.0.1:$PORT/api/mcp_servers" | wc -c)

rate /baseline >/dev/null              # warm-up
BASE=$(rate /baseline)
API=$(rate /api/mcp_servers)

printf 'wrk -t2 -c%s -d%ss, nginx 2 workers, %s\n' "$CONNS" "$DUR" "$(nginx -v 2>&1)"
printf '%-32s %12s req/s\n' "return 200 (baseline)" "$BASE"
printf '%-32s %12s req/s   (%s bytes)\n' "GET /api/mcp_servers (10)" "$API" "$BYTES"
awk -v a="$API" -v b="$BASE" 'BEGIN { printf "ratio api/baseline               %12.2f\n", a / b }'
