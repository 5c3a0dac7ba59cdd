#!/usr/bin/env bash
# tools/call of an echo tool on one stdio server, sequential and
# concurrent, (a) through the front door, (b) through hangar_pass,
# (c) through supergateway --stateful in front of the same server,
# (d) directly over stdio, and (e) the same load client against nginx's own
# return 200 of a JSON-RPC result (what the client's HTTP costs alone).
# Calls per second, p50 and p99, and ratios.
#   bench/mcp.sh [calls] [concurrency] [perl|everything]
# perl: the project's Perl test server and Perl load client;
# everything: @modelcontextprotocol/server-everything (Node) and a Node
# load client (bench/mcp-load.mjs), the pairing most users run.  The Node
# client speaks HTTP/1.1 over node:net, one write per request, as the Perl
# one does; HANGAR_BENCH_NODE_HTTP=agent makes it use node:http's Agent.
# Then (a) and (b) against the same with auth on and an API key on every
# call, measured in turns.  The error_log level is notice throughout.
# Last, resources/read and a call with one elicitation (extra_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-2000}
CONC=${2:-8}
KIND=${3:-perl}
. bench/lib.sh
export HANGAR_BENCH_LOG=${HANGAR_BENCH_LOG:-notice}

# ---- resources/read and a tool call that raises one elicitation ----------
# server-everything (stdio) as server "ev": a static resource read, and
# trigger-elicitation-request answered at once by the client
# (bench/mcp-load-extra.mjs), through the front door, the pass-through and
# directly over stdio; sequential and concurrent, and the ratios to direct
# stdio.  Runs last (after the tools/call rows), or alone with
# "bench/mcp.sh [calls] [concurrency] extra".

extra_run() {  # label op what kind target
    local seq con
    seq=$(node bench/mcp-load-extra.mjs "$4" "$5" "$2" "$3" "$CALLS" 1)
    con=$(node bench/mcp-load-extra.mjs "$4" "$5" "$2" "$3" "$CALLS" "$CONC")
    printf '%-30s %9s %8s %8s   %9s %8s %8s   %s/%s\n' "$1" $(echo "$seq" | cut -d' ' -f1-3) \
        $(echo "$con" | cut -d' ' -f1-3) "$(echo "$seq" | cut -d' ' -f4)" "$(echo "$con" | cut -d' ' -f4)"
    echo "$2 ${1%% *} $seq $con" >> "$OUT/extra.txt"
}

extra_bench() {
    local ev doc
    ev="$TOP/t/.cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    if [ ! -f "$ev" ] || ! command -v node >/dev/null; then
        echo "resources/read, elicitation: skipped (server-everything or node missing: make test-deps)"
        return 0
    fi
    doc=demo://resource/static/document/features.md
    bench_nginx "mcp-extra" "mcp_servers:
  ev: {command: [node, $ev, stdio]}" \
      'location = /mcp { hangar_mcp; } location ~ ^/pass/(?<server>[^/]+)$ { hangar_pass $server; }'
    curl -s -o /dev/null -XPOST "http://127.0.0.1:$PORT/api/mcp_servers/ev/start"
    node bench/mcp-load-extra.mjs http "http://127.0.0.1:$PORT/mcp" read "hangar://ev/$doc" 50 1 >/dev/null
    : > "$OUT/extra.txt"
    printf '\nserver-everything, %s operations, concurrency %s\n' "$CALLS" "$CONC"
    printf '%-30s %9s %8s %8s   %9s %8s %8s   %s\n' "" "seq op/s" "p50 ms" "p99 ms" "conc op/s" "p50 ms" "p99 ms" "errors"
    extra_run "(a) echo, front door" call echo http "http://127.0.0.1:$PORT/mcp"
    extra_run "(d) echo, direct stdio" call echo stdio "node $ev stdio"
    extra_run "(a) read, front door" read "hangar://ev/$doc" http "http://127.0.0.1:$PORT/mcp"
    extra_run "(b) read, hangar_pass" read "$doc" http "http://127.0.0.1:$PORT/pass/ev"
    extra_run "(d) read, direct stdio" read "$doc" stdio "node $ev stdio"
    extra_run "(a) elicit, front door" elicit trigger-elicitation-request http "http://127.0.0.1:$PORT/mcp"
    extra_run "(b) elicit, hangar_pass" elicit trigger-elicitation-request http "http://127.0.0.1:$PORT/pass/ev"
    extra_run "(d) elicit, direct stdio" elicit trigger-elicitation-request stdio "node $ev stdio"
    perl -e '
        my %r;
        open my $f, "<", $ARGV[0] or die;
        while (<$f>) { my @f = split; $r{$f[0]}{ substr($f[1], 1, 1) } = [@f[-8 .. -1]]; }
        for my $op (qw(call read elicit)) {
            my ($a, $b, $d) = @{ $r{$op} }{qw(a b d)};
            next unless $a && $d && $d->[0] && $d->[4];
            printf "%-6s front door / direct stdio: throughput seq %.2fx conc %.2fx, p50 added %.3f ms",
                $op, $a->[0] / $d->[0], $a->[4] / $d->[4], $a->[1] - $d->[1];
            printf "; hangar_pass: %.2fx %.2fx, %.3f ms", $b->[0] / $d->[0], $b->[4] / $d->[4],
                $b->[1] - $d->[1] if $b;
            print "\n";
        }
    ' "$OUT/extra.txt"
}

if [ "$KIND" = extra ]; then
    extra_bench
    exit 0
fi

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
  'location = /mcp { hangar_mcp; } location ~ ^/pass/(?<server>[^/]+)$ { hangar_pass $server; }
   location = /ret200 { default_type application/json; return 200 '"'"'{"jsonrpc":"2.0","id":1,"result":{}}'"'"'; }'

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
printf 'tools/call echo on the %s server, %s calls, concurrency %s%s\n' "$KIND" "$CALLS" "$CONC" \
    "$( [ "$KIND" = everything ] && echo ", Node client HTTP: ${HANGAR_BENCH_NODE_HTTP:-net}")"
printf '%-26s %9s %8s %8s   %9s %8s %8s   %s\n' "" "seq c/s" "p50 ms" "p99 ms" "conc c/s" "p50 ms" "p99 ms" "errors"
run "(a) front door /mcp" http "http://127.0.0.1:$PORT/mcp"
run "(b) hangar_pass" http "http://127.0.0.1:$PORT/pass/echo"
if [ -n "$SGPID" ]; then
    run "(c) supergateway" http "http://127.0.0.1:$SGPORT/mcp"
else
    echo "(c) supergateway: skipped (npm missing)"
fi
run "(d) direct stdio" stdio "$CMD"
run "(e) nginx return 200" http "http://127.0.0.1:$PORT/ret200"

perl -e '
    my %r;
    open my $f, "<", $ARGV[0] or die;
    while (<$f>) { my @f = split; my $k = substr($f[0], 1, 1); $r{$k} = [@f[-8 .. -1]]; }
    # per row: seq c/s, p50, p99, errors, conc c/s, p50, p99, errors
    my ($a, $b, $c, $d, $e) = @r{qw(a b c d e)};
    printf "front door / supergateway throughput: sequential %.2fx, concurrent %.2fx\n",
        $a->[0] / $c->[0], $a->[4] / $c->[4] if $c;
    printf "front door p50 added to direct stdio: %.3f ms (sequential)\n", $a->[1] - $d->[1];
    printf "hangar_pass p50 added to direct stdio: %.3f ms (sequential)\n", $b->[1] - $d->[1];
    # (e) is one HTTP request of this client to nginx with no work behind it
    printf "the client and nginx alone (return 200): p50 %.3f ms; front door beyond it: %.3f ms, hangar_pass: %.3f ms, over direct stdio\n",
        $e->[1], $a->[1] - $e->[1] - $d->[1], $b->[1] - $e->[1] - $d->[1] if $e;
' "$OUT/results.txt"

# auth on: the same front door and pass-through with an API key, on a
# second nginx beside the first; the two are measured in turns (3 rounds,
# sequential calls, medians), so that the machine's drift does not land on
# one side.
KEY=mcp_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
OUT1=$OUT PORT1=$PORT
bench_nginx "mcp-$KIND-auth" "auth:
  enabled: true
  api_keys: [{name: bench, principal_id: bench, key: \"$KEY\"}]
  role_assignments: [{principal: bench, role: admin}]
$YAML" \
  'location = /mcp { hangar_mcp; } location ~ ^/pass/(?<server>[^/]+)$ { hangar_pass $server; }'
OUT2=$OUT PORT2=$PORT
cleanup() { [ -n "$SGPID" ] && kill "$SGPID" 2>/dev/null; OUT=$OUT1 bench_stop; OUT=$OUT2 bench_stop; }
trap cleanup EXIT
curl -s -o /dev/null -XPOST -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT2/api/mcp_servers/echo/start"
HANGAR_BENCH_KEY=$KEY load http "http://127.0.0.1:$PORT2/mcp" 50 1 >/dev/null
: > "$OUT2/ab.txt"
for round in 1 2 3; do
    for side in off on; do
        if [ $side = on ]; then P=$PORT2; export HANGAR_BENCH_KEY=$KEY; else P=$PORT1; unset HANGAR_BENCH_KEY; fi
        echo "$side fd $(load http "http://127.0.0.1:$P/mcp" "$CALLS" 1)" >> "$OUT2/ab.txt"
        echo "$side pass $(load http "http://127.0.0.1:$P/pass/echo" "$CALLS" 1)" >> "$OUT2/ab.txt"
    done
done
unset HANGAR_BENCH_KEY
perl -e '
    my %r;
    open my $f, "<", $ARGV[0] or die;
    while (<$f>) { my ($side, $path, $cps, $p50) = split; push @{ $r{$path}{$side} }, [$cps, $p50]; }
    sub med { my @s = sort { $a <=> $b } @_; $s[1] }
    for my $path (qw(fd pass)) {
        my %m = map { my $s = $_; ($s => [med(map { $_->[0] } @{ $r{$path}{$s} }), med(map { $_->[1] } @{ $r{$path}{$s} })]) } qw(off on);
        printf "%-10s auth off %6d c/s p50 %.3f ms, auth on %6d c/s p50 %.3f ms: %.3f (%+.1f%%)  rounds: %s / %s\n",
            $path eq "fd" ? "front door" : "hangar_pass", @{ $m{off} }, @{ $m{on} },
            $m{on}[0] / $m{off}[0], ($m{on}[0] / $m{off}[0] - 1) * 100,
            join(",", map { $_->[0] } @{ $r{$path}{off} }), join(",", map { $_->[0] } @{ $r{$path}{on} });
    }
' "$OUT2/ab.txt"

# the tools/call nginx and supergateway stop; the extra part has its own
cleanup
trap - EXIT
extra_bench
