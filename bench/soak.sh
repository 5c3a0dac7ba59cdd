#!/usr/bin/env bash
# Soak: mixed load for a while, then what grew.
#   bench/soak.sh [seconds]   (default 600)
# Runs, side by side, on a private nginx with 2 workers:
#   - tools/call through the front door on a ready stdio server, in a loop;
#   - REST writes and reads: create, PATCH, GET, list, DELETE of servers;
#   - stop and start of a second stdio server every 2 s.
# Prints RSS of the workers and the bridges, the zone's free pages and the
# workers' open descriptors after the warm-up, every fifth of the run and at
# the end, and the
# error counts of each loop.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
. bench/lib.sh

SERVER="$TOP/t/servers/hangar-test-server"
bench_nginx soak "mcp_servers:
  echo: {command: [perl, $SERVER, --tools, echo]}
  cycler: {command: [perl, $SERVER, --tools, add]}" \
  'location = /mcp { hangar_mcp; }'

API="http://127.0.0.1:$PORT/api"
MASTER=$(cat "$OUT/logs/nginx.pid")

snapshot() {  # label
    local workers bridges wrss brss fds free
    workers=$(pgrep -P "$MASTER" | tr '\n' ' ')
    bridges=$(pgrep -f "hangar-bridge.*$OUT" | tr '\n' ' ' || true)
    wrss=0; fds=0; brss=0
    for p in $workers; do
        wrss=$((wrss + $(awk '/^VmRSS/ {print $2}' /proc/$p/status)))
        fds=$((fds + $(ls /proc/$p/fd | wc -l)))
    done
    for p in $bridges; do
        [ -r /proc/$p/status ] && brss=$((brss + $(awk '/^VmRSS/ {print $2}' /proc/$p/status)))
    done
    free=$(curl -s "$API/system" | perl -MJSON::PP -0ne 'print decode_json($_)->{system}{zone}{free_pages}')
    printf '%-8s workers RSS %6s kB  fds %4s   bridges(%s) RSS %6s kB   zone free pages %s\n' \
        "$1" "$wrss" "$fds" "$(echo $bridges | wc -w)" "$brss" "$free"
}

curl -s -o /dev/null -XPOST "$API/mcp_servers/echo/start"
curl -s -o /dev/null -XPOST "$API/mcp_servers/cycler/start"
perl bench/mcp-load.pl http "http://127.0.0.1:$PORT/mcp" echo 200 2 >/dev/null
snapshot start

END=$(( $(date +%s) + SECS ))
mkdir -p "$OUT/soak"

( calls=0; errs=0
  while [ "$(date +%s)" -lt "$END" ]; do
      r=$(perl bench/mcp-load.pl http "http://127.0.0.1:$PORT/mcp" echo 500 2)
      calls=$((calls + 500)); errs=$((errs + $(echo "$r" | cut -d' ' -f4)))
  done
  echo "tools/call: $calls calls, $errs failed" > "$OUT/soak/calls" ) &
P1=$!

( n=0; bad=0
  while [ "$(date +%s)" -lt "$END" ]; do
      id="soak-$((n % 50))"; n=$((n + 1))
      for req in "POST $API/mcp_servers {\"mcp_server_id\":\"$id\",\"mode\":\"subprocess\",\"command\":[\"perl\",\"$SERVER\",\"--tools\",\"pid\"]} 201" \
                 "PATCH $API/mcp_servers/$id {\"description\":\"round-$n\"} 200" \
                 "GET $API/mcp_servers/$id - 200" \
                 "GET $API/mcp_servers - 200" \
                 "DELETE $API/mcp_servers/$id - 200"; do
          set -- $req
          if [ "$3" = - ]; then
              code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" "$2")
          else
              code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' -d "$3" "$2")
          fi
          [ "$code" = "$4" ] || bad=$((bad + 1))
      done
  done
  echo "REST: $((n * 5)) requests, $bad unexpected status" > "$OUT/soak/rest" ) &
P2=$!

( n=0; bad=0
  while [ "$(date +%s)" -lt "$END" ]; do
      n=$((n + 1))
      [ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$API/mcp_servers/cycler/stop")" = 200 ] || bad=$((bad + 1))
      [ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$API/mcp_servers/cycler/start")" = 200 ] || bad=$((bad + 1))
      sleep 2
  done
  echo "stop/start: $n cycles, $bad failed" > "$OUT/soak/cycles" ) &
P3=$!

# a snapshot every fifth of the run: growth or a plateau
for i in 1 2 3 4; do
    sleep $((SECS / 5))
    snapshot "$((i * SECS / 5)) s"
done
wait $P1 $P2 $P3
sleep 1
snapshot end
cat "$OUT/soak/calls" "$OUT/soak/rest" "$OUT/soak/cycles"
