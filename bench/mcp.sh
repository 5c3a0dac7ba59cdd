#!/usr/bin/env bash
# tools/call of an echo tool on one stdio server, sequential and
# concurrent, (a) through the front door, (b) through hangar_pass,
# (c) through supergateway --stateful in front of the same server,
# (d) directly over stdio.  Calls per second, p50 and p99, and ratios.
#   bench/mcp.sh [calls] [concurrency] [perl|everything]
# perl: the project's Perl test server and Perl load client;
# everything: @modelcontextprotocol/server-everything (Node) and a Node
# load client (bench/mcp-load.mjs), the pairing most users run.
# Then (a) and (b) again with auth on and an API key on every call, against
# the runs without auth.  The error_log level is notice throughout.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
KIND=${3:-perl}
. bench/lib.sh
export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}

if [ "$KIND" = everything ]; then
    EV="$TOP/t/.cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    [ -f "$EV" ] || { echo "server-everything missing: make test-deps" >&2; exit 1; }
    CMD="node $EV stdio"
    YAML="mcp_servers:
  echo: {command: [node, $EV, stdio]}"
    ARGS='{"message":"hello"}'
    load() { node bench/mcp-load.mjs "$1" "$2" echo "$ARGS" "$3" "$4"; }
else
    SERVER="$TOP/t/servers/hangar-test-server"
    CMD="perl $SERVER --tools echo"
    YAML="mcp_servers:
  echo: {command: [perl, $SERVER, --tools, echo]}"
    load() { perl bench/mcp-load.pl "$1" "$2" echo "$3" "$4"; }
fi
bench_nginx "mcp-$KIND" "$YAML" \
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
cleanup() { [ -n "$SGPID" ] && kill "$SGPID" 2>/dev/null; bench_stop; }
trap cleanup EXIT

if [ -x "$SG" ]; then
    SGPORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>1)->sockport')
    NODE_OPTIONS="--require $TOP/t/servers/bind-localhost.cjs" "$SG" --stdio "$CMD" \
        --outputTransport streamableHttp --stateful --port "$SGPORT" > "$OUT/logs/supergateway.log" 2>&1 &
    SGPID=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SGPORT/mcp" && break; sleep 0.1; done
fi

# start the server, then warm up through the front door
curl -s -o /dev/null -XPOST "http://127.0.0.1:$PORT/api/mcp_servers/echo/start"
load http "http://127.0.0.1:$PORT/mcp" 50 1 >/dev/null

run() {  # label kind target
    local seq con
    seq=$(load "$2" "$3" "$CALLS" 1)
    con=$(load "$2" "$3" "$CALLS" "$CONC")
    printf '%-26s %9s %8s %8s   %9s %8s %8s   %s/%s\n' "$1" $(echo "$seq" | cut -d' ' -f1-3) \
        $(echo "$con" | cut -d' ' -f1-3) "$(echo "$seq" | cut -d' ' -f4)" "$(echo "$con" | cut -d' ' -f4)"
    echo "$1 $seq $con" >> "$OUT/results.txt"
}

: > "$OUT/results.txt"
printf 'tools/call echo on the %s server, %s calls, concurrency %s\n' "$KIND" "$CALLS" "$CONC"
printf '%-26s %9s %8s %8s   %9s %8s %8s   %s\n' "" "seq c/s" "p50 ms" "p99 ms" "conc c/s" "p50 ms" "p99 ms" "errors"
run "(a) front door /mcp" http "http://127.0.0.1:$PORT/mcp"
run "(b) hangar_pass" http "http://127.0.0.1:$PORT/pass/echo"
if [ -n "$SGPID" ]; then
    run "(c) supergateway" http "http://127.0.0.1:$SGPORT/mcp"
else
    echo "(c) supergateway: skipped (npm missing)"
fi
run "(d) direct stdio" stdio "$CMD"

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

# auth on: the same front door and pass-through with an API key
RESULTS=$OUT/results.txt
KEY=mcp_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
bench_stop
bench_nginx "mcp-$KIND-auth" "auth:
  enabled: true
  api_keys: [{name: bench, principal_id: bench, key: \"$KEY\"}]
  role_assignments: [{principal: bench, role: admin}]
$YAML" \
  'location = /mcp { hangar_mcp; } location ~ ^/pass/(?<server>[^/]+)$ { hangar_pass $server; }'
trap cleanup EXIT
export HANGAR_BENCH_KEY=$KEY
curl -s -o /dev/null -XPOST -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT/api/mcp_servers/echo/start"
load http "http://127.0.0.1:$PORT/mcp" 50 1 >/dev/null
cp "$RESULTS" "$OUT/results.txt"
run "(e) front door, auth on" http "http://127.0.0.1:$PORT/mcp"
run "(f) hangar_pass, auth on" http "http://127.0.0.1:$PORT/pass/echo"
perl -e '
    my %r;
    open my $f, "<", $ARGV[0] or die;
    while (<$f>) { my @f = split; my $k = substr($f[0], 1, 1); $r{$k} = [@f[-8 .. -1]]; }
    my ($a, $b, $e, $f) = @r{qw(a b e f)};
    printf "auth on / off, front door: sequential %.3f, concurrent %.3f\n", $e->[0] / $a->[0], $e->[4] / $a->[4];
    printf "auth on / off, hangar_pass: sequential %.3f, concurrent %.3f\n", $f->[0] / $b->[0], $f->[4] / $b->[4];
' "$OUT/results.txt"
