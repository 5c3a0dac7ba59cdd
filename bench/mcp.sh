#!/usr/bin/env bash
# tools/call of an echo tool on one stdio server, sequential and
# concurrent, (a) through the front door, (b) through hangar_pass,
# (c) through supergateway --stateful in front of the same server,
# (d) directly over stdio.  Calls per second, p50 and p99, and ratios.
#   bench/mcp.sh [calls] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
. bench/lib.sh

SERVER="$TOP/t/servers/hangar-test-server"
bench_nginx mcp "mcp_servers:
  echo: {command: [perl, $SERVER, --tools, echo]}" \
  'location = /mcp { hangar_mcp; } location ~ ^/pass/(?<server>[^/]+)$ { hangar_pass $server; }'

# supergateway from npm, into bench/out (not part of the tests)
SG=""
if command -v npm >/dev/null; then
    NPMDIR=$TOP/bench/out/npm
    if [ ! -x "$NPMDIR/node_modules/.bin/supergateway" ]; then
        mkdir -p "$NPMDIR" && (cd "$NPMDIR" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
            && npm install --no-audit --no-fund --loglevel=error supergateway >/dev/null)
    fi
    SG=$NPMDIR/node_modules/.bin/supergateway
fi

SGPID=""
cleanup() { [ -n "$SGPID" ] && kill "$SGPID" 2>/dev/null; nginx -p "$OUT/" -c conf/nginx.conf -e logs/error.log -s quit 2>/dev/null || true; }
trap cleanup EXIT

if [ -x "$SG" ]; then
    SGPORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>1)->sockport')
    NODE_OPTIONS="--require $TOP/t/servers/bind-localhost.cjs" "$SG" --stdio "perl $SERVER --tools echo" \
        --outputTransport streamableHttp --stateful --port "$SGPORT" > "$OUT/logs/supergateway.log" 2>&1 &
    SGPID=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SGPORT/mcp" && break; sleep 0.1; done
fi

# start the server, then warm up through the front door
curl -s -o /dev/null -XPOST "http://127.0.0.1:$PORT/api/mcp_servers/echo/start"
perl bench/mcp-load.pl http "http://127.0.0.1:$PORT/mcp" echo 50 1 >/dev/null

run() {  # label kind target
    local seq con
    seq=$(perl bench/mcp-load.pl "$2" "$3" echo "$CALLS" 1)
    con=$(perl bench/mcp-load.pl "$2" "$3" echo "$CALLS" "$CONC")
    printf '%-26s %9s %8s %8s   %9s %8s %8s   %s/%s\n' "$1" $(echo "$seq" | cut -d' ' -f1-3) \
        $(echo "$con" | cut -d' ' -f1-3) "$(echo "$seq" | cut -d' ' -f4)" "$(echo "$con" | cut -d' ' -f4)"
    echo "$1 $seq $con" >> "$OUT/results.txt"
}

: > "$OUT/results.txt"
printf 'tools/call echo, %s calls, concurrency %s (one perl load process per connection)\n' "$CALLS" "$CONC"
printf '%-26s %9s %8s %8s   %9s %8s %8s   %s\n' "" "seq c/s" "p50 ms" "p99 ms" "conc c/s" "p50 ms" "p99 ms" "errors"
run "(a) front door /mcp" http "http://127.0.0.1:$PORT/mcp"
run "(b) hangar_pass" http "http://127.0.0.1:$PORT/pass/echo"
if [ -n "$SGPID" ]; then
    run "(c) supergateway" http "http://127.0.0.1:$SGPORT/mcp"
else
    echo "(c) supergateway: skipped (npm missing)"
fi
run "(d) direct stdio" stdio "perl $SERVER --tools echo"

perl -e '
    my %r;
    open my $f, "<", $ARGV[0] or die;
    while (<$f>) { my @f = split; my $k = substr($f[0], 1, 1); $r{$k} = [@f[-8 .. -1]]; }
    # per row: seq c/s, p50, p99, errors, conc c/s, p50, p99, errors
    my ($a, $b, $c, $d) = @r{qw(a b c d)};
    printf "front door / supergateway throughput: sequential %.2fx, concurrent %.2fx\n",
        $a->[0] / $c->[0], $a->[4] / $c->[4] if $c;
    printf "front door p50 added to direct stdio: %.3f ms (sequential)\n", $a->[1] - $d->[1];
    printf "hangar_pass p50 added to direct stdio: %.3f ms (sequential)\n", $b->[1] - $d->[1];
' "$OUT/results.txt"
