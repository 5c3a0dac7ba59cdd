# Shared by the benchmarks: a private nginx (2 workers) with the module on a
# free 127.0.0.1 port under bench/out/<name>/.  Source it, then:
#   bench_nginx <name> <hangar.yaml text> [extra location lines]
# sets OUT and PORT, starts nginx and stops it on exit (or at bench_stop).
# HANGAR_BENCH_LOG sets the error_log level (default info);
# HANGAR_BENCH_HTTP adds lines to the http block (e.g. hangar_audit_log).

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODULE=$TOP/build/ngx_http_hangar_module.so
[ -f "$MODULE" ] || { echo "build first: make build" >&2; exit 1; }

bench_nginx() {
    local name=$1 yaml=$2 extra=${3:-}
    OUT=$TOP/bench/out/$name
    PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>1)->sockport')
    rm -rf "$OUT"; mkdir -p "$OUT"/{conf,logs,state,tmp}
    printf '%s\n' "$yaml" > "$OUT/conf/hangar.yaml"
    cat > "$OUT/conf/nginx.conf" <<CONF
load_module $MODULE;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
error_log logs/error.log ${HANGAR_BENCH_LOG:-info};
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp;
    hangar_zone hangar ${HANGAR_BENCH_ZONE:-16m};
    hangar_config conf/hangar.yaml;
    hangar_state state;
    ${HANGAR_BENCH_HTTP:-}
    server {
        listen 127.0.0.1:$PORT;
        location /api/ { hangar_api; }
        location = /baseline { return 200 '{"ok":true}'; }
        $extra
    }
}
CONF
    # the rate limits stay on (their cost is measured) but never refuse
    MCP_RATE_LIMIT_RPS=${MCP_RATE_LIMIT_RPS:-1000000} \
    MCP_RATE_LIMIT_BURST=${MCP_RATE_LIMIT_BURST:-1000000} \
        nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log
    trap bench_stop EXIT
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$PORT/baseline" >/dev/null && return 0
        sleep 0.1
    done
    echo "nginx did not start" >&2
    exit 1
}

bench_stop() {
    nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log -s quit 2>/dev/null || true
    sleep 1
}
