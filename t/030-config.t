# hangar.yaml: loading, interpolation, groups, and what "nginx -t" rejects.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: a broken YAML file is refused with file, line and column
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math:
    command: [python, -m
    mode: subprocess
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+conf\/hangar\.yaml:\d+:\d+: /



=== TEST 2: an invalid field is refused with its path and position
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math:
    mode: subprocess
    command: [python, -m, math_server]
    idle_ttl_s: 0
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+conf\/hangar\.yaml:5:17: mcp_servers\.math\.idle_ttl_s: must be 1\.\.86400/



=== TEST 3: a remote server needs an http(s)/ws(s) endpoint
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  api:
    mode: remote
    endpoint: gopher://x/
--- must_die
--- error_log eval
qr/hangar\.yaml:4:15: mcp_servers\.api\.endpoint: must be an http, https, ws or wss URL/



=== TEST 4: a missing config file is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/nothere.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- must_die
--- error_log eval
qr/\[emerg\].*nothere\.yaml/



=== TEST 5: an unset variable without default is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math:
    command: [python, "${HANGAR_TEST_SURELY_UNSET}"]
--- must_die
--- error_log eval
qr/required environment variable '\$\{HANGAR_TEST_SURELY_UNSET\}' is not set and has no default/



=== TEST 6: ${VAR} and ${VAR:-default} are interpolated, numbers too
--- env
HANGAR_TEST_TTL=1234
HANGAR_TEST_KEY=secret-1
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math:
    command: [python, "${HANGAR_TEST_UNSET_X:-fallback}"]
    idle_ttl_s: ${HANGAR_TEST_TTL}
    env: {KEY: "k=${HANGAR_TEST_KEY}", EMPTY: "${HANGAR_TEST_UNSET_Y:-}"}
    description: "ttl ${HANGAR_TEST_TTL} $HOME"
--- request
GET /api/mcp_servers/math
--- response_body_like: "description":"ttl 1234 \$HOME"



=== TEST 7: unknown keys warn; a Hangar config.yaml loads unchanged
--- http_config
    hangar_zone hangar 1m;
    resolver 127.0.0.1:1;  # the remotes are named, never called
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
# A config.yaml as MCP Hangar documents it (hangar-core.md §4.2)
mcp_servers:
  math:
    mode: subprocess
    command: [python, -m, math_server]
    env: {API_KEY: "${MATH_KEY:-}"}
    idle_ttl_s: 300
    max_concurrency: 5
    tools: {deny_list: ["delete_*"]}
    colour: blue
  api:
    mode: remote
    endpoint: https://api.example.com/mcp
    auth: {type: bearer, bearer_token: "${API_TOKEN:-t0k}"}
    http: {connect_timeout: 5.0, read_timeout: 60.0}
  fs:
    mode: docker
    image: ghcr.io/example/fs-server:1.2
    network: none
    read_only: true
    resources: {memory: 256m, cpu: 0.5}
    volumes: ["/data:/data:ro"]
  pool:
    mode: group
    strategy: priority
    members:
      - {id: math, priority: 1}
      - {id: api, priority: 2}
execution: {max_concurrency: 50}
rate_limit: {rps: 10, burst: 20}
logging: {level: INFO}
frobnicate: true
--- request eval
["GET /api/mcp_servers", "GET /api/system"]
--- response_body_like eval
[qr/^\{"mcp_servers":\[\{"mcp_server_id":"math".*"mcp_server_id":"api".*"mcp_server_id":"fs","state":"cold","mode":"docker"[^\]]*\]\}$/,
 qr/"total_mcp_servers":3,/]
--- error_log eval
[qr/\[warn\].*hangar\.yaml:\d+:\d+: mcp_servers\.math\.colour: unknown key, ignored/,
 qr/\[warn\].*hangar\.yaml:\d+:\d+: unknown key "frobnicate", ignored/]



=== TEST 8: groups: mode group entries and a top-level groups map; members declare servers
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [x]}
  pool:
    mode: group
    members:
      - {id: a, weight: 2}
      - {id: b, command: [y], priority: 3}
groups:
  pool2:
    strategy: random
    members: [{id: a}]
--- request
GET /api/mcp_servers
--- response_body_like: ^\{"mcp_servers":\[\{"mcp_server_id":"a"[^\]]*"mcp_server_id":"b"[^\]]*\]\}$



=== TEST 9: a bad group member weight is refused with its path
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  pool:
    mode: group
    strategy: round_robin
    members:
      - {id: a, weight: 500}
--- must_die
--- error_log eval
qr/mcp_servers\.pool\.members\[0\]\.weight: must be 1\.\.100/



=== TEST 10: invalid ids are skipped with a warning, like the original loader
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  "9lives": {command: [x]}
  good: {command: [x]}
--- request
GET /api/mcp_servers
--- response_body_like: ^\{"mcp_servers":\[\{"mcp_server_id":"good"[^\]]*\]\}$
--- error_log
mcp_servers.9lives: invalid id



=== TEST 11: hangar_config without hangar_zone is refused
--- http_config
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- must_die
--- error_log
need a "hangar_zone"



=== TEST 12: YAML anchors, aliases and merge keys
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
defaults: &d
  mode: subprocess
  command: [python, -m, srv]
  description: shared
mcp_servers:
  one: {<<: *d}
  two: {<<: *d, description: own}
--- request eval
["GET /api/mcp_servers/one", "GET /api/mcp_servers/two"]
--- response_body_like eval
[qr/"description":"shared"/, qr/"description":"own"/]
