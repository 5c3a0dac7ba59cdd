# rate_limit: and auth.rate_limit: of hangar.yaml: every key is checked, an
# unknown key or a bad value fails "nginx -t" with its path and position;
# MCP_RATE_LIMIT_RPS / MCP_RATE_LIMIT_BURST are read at configuration time.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: an unknown key of rate_limit is refused with its path
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  rps: 5
  bursts: 3
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+conf\/hangar\.yaml:3:11: rate_limit\.bursts: unknown key/



=== TEST 2: rps must be a positive number
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  rps: 0
--- must_die
--- error_log eval
qr/hangar\.yaml:2:8: rate_limit\.rps: must be a number from 0\.001 to 1000000/



=== TEST 3: burst must be an integer
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  burst: "20"
--- must_die
--- error_log eval
qr/hangar\.yaml:2:10: rate_limit\.burst: must be an integer from 1 to 1000000/



=== TEST 4: the per-tool bucket is checked key by key
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  tools:
    rps: 1
    per_tool: 3
--- must_die
--- error_log eval
qr/hangar\.yaml:4:15: rate_limit\.tools\.per_tool: unknown key/



=== TEST 5: calls must be a mapping
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  calls: 5
--- must_die
--- error_log eval
qr/hangar\.yaml:2:10: rate_limit\.calls: must be a mapping of rps and burst/



=== TEST 6: enabled must be a boolean
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  enabled: "no"
--- must_die
--- error_log eval
qr/hangar\.yaml:2:12: rate_limit\.enabled: must be true or false/



=== TEST 7: a bad MCP_RATE_LIMIT_RPS is refused when hangar.yaml has no rps
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- env
MCP_RATE_LIMIT_RPS=fast
--- must_die
--- error_log eval
qr/\[emerg\].*MCP_RATE_LIMIT_RPS: "fast" must be a number from 0\.001 to 1000000/



=== TEST 8: MCP_RATE_LIMIT_BURST is the burst when hangar.yaml has none
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- env
MCP_RATE_LIMIT_RPS=0.001
MCP_RATE_LIMIT_BURST=2
--- timeout: 30
--- request eval
["DELETE /api/mcp_servers/a", "DELETE /api/mcp_servers/b",
 "DELETE /api/mcp_servers/c"]
--- error_code eval
[404, 404, 429]
--- response_body_like eval
[qr/McpServerNotFoundError/, qr/McpServerNotFoundError/,
 qr/"limit":2,/]



=== TEST 9: hangar.yaml wins over the environment
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  rps: 0.001
  burst: 1
--- env
MCP_RATE_LIMIT_BURST=50
--- timeout: 30
--- request eval
["DELETE /api/mcp_servers/a", "DELETE /api/mcp_servers/b"]
--- error_code eval
[404, 429]



=== TEST 10: rate_limit.enabled false turns the limits off
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
rate_limit:
  enabled: false
  rps: 0.001
  burst: 1
--- timeout: 30
--- request eval
["DELETE /api/mcp_servers/a", "DELETE /api/mcp_servers/b",
 "DELETE /api/mcp_servers/c"]
--- error_code eval
[404, 404, 404]



=== TEST 11: an unknown key of auth.rate_limit is refused with its path
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
auth:
  rate_limit:
    max_attempts: 5
    lockout: 30
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:4:14: auth\.rate_limit\.lockout: unknown key/



=== TEST 12: auth.rate_limit values are checked
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
auth:
  rate_limit:
    window_seconds: 0
--- must_die
--- error_log eval
qr/hangar\.yaml:3:21: auth\.rate_limit\.window_seconds: must be an integer from 1 to 86400/



=== TEST 13: without hangar.yaml or environment, the burst is 20
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- env
MCP_RATE_LIMIT_RPS=0.001
MCP_RATE_LIMIT_BURST=
--- timeout: 30
--- request eval
[map({ "DELETE /api/mcp_servers/x$_" } 1 .. 21)]
--- error_code eval
[(404) x 20, 429]
--- response_body_like eval
[(qr/McpServerNotFoundError/) x 20,
 qr/"message":"Rate limit exceeded: more than 20 requests at once \(0\.001 per second\)/]

