# /api/groups: the 8 endpoints, their shapes and codes (hangar-core.md §1.4),
# groups from hangar.yaml, and their persistence across reload and restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: the seed guide's example: create llm-pool, add my-llm
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [python]}
mcp_servers:
  my-llm:
    mode: subprocess
    command: [python, -m, llm_server]
    idle_ttl_s: 600
    description: LLM inference mcp_server
--- more_headers
Content-Type: application/json
--- request eval
["POST /api/groups\n{\n    \"group_id\": \"llm-pool\",\n    \"strategy\": \"round_robin\",\n    \"min_healthy\": 1\n  }",
 "POST /api/groups/llm-pool/members\n{\"member_id\": \"my-llm\", \"weight\": 1, \"priority\": 1}",
 "GET /api/groups/llm-pool"]
--- error_code eval
[201, 201, 200]
--- response_body eval
["{\"group_id\":\"llm-pool\",\"created\":true}",
 "{\"group_id\":\"llm-pool\",\"mcp_server_id\":\"my-llm\",\"added\":true}",
 "{\"group_id\":\"llm-pool\",\"description\":null,\"state\":\"inactive\",\"strategy\":\"round_robin\",\"min_healthy\":1,\"healthy_count\":0,\"total_members\":1,\"is_available\":false,\"circuit_open\":false,\"circuit_breaker_state\":\"closed\",\"members\":[{\"id\":\"my-llm\",\"state\":\"dead\",\"in_rotation\":false,\"weight\":1,\"priority\":1,\"consecutive_failures\":0,\"in_flight\":0}]}"]
--- error_log
member "my-llm" out of rotation



=== TEST 2: list, get, update, rebalance, remove member, delete
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [a]}
  b: {command: [b]}
  pool:
    mode: group
    auto_start: false
    members: [{id: a, weight: 3}, b]
--- more_headers
Content-Type: application/json
--- request eval
["GET /api/groups",
 "GET /api/groups/",
 "PUT /api/groups/pool\n{\"strategy\":\"priority\",\"min_healthy\":0,\"description\":\"two\"}",
 "GET /api/groups/pool",
 "POST /api/groups/pool/rebalance",
 "DELETE /api/groups/pool/members/b",
 "DELETE /api/groups/pool/members/nobody",
 "GET /api/groups/pool",
 "DELETE /api/groups/pool",
 "GET /api/groups/pool",
 "GET /api/mcp_servers/a"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 200]
--- response_body eval
["{\"groups\":[{\"group_id\":\"pool\",\"description\":null,\"state\":\"healthy\",\"strategy\":\"round_robin\",\"min_healthy\":1,\"healthy_count\":2,\"total_members\":2,\"is_available\":true,\"circuit_open\":false,\"circuit_breaker_state\":\"closed\",\"members\":[{\"id\":\"a\",\"state\":\"cold\",\"in_rotation\":true,\"weight\":3,\"priority\":1,\"consecutive_failures\":0,\"in_flight\":0},{\"id\":\"b\",\"state\":\"cold\",\"in_rotation\":true,\"weight\":1,\"priority\":1,\"consecutive_failures\":0,\"in_flight\":0}]}]}",
 undef,
 "{\"group_id\":\"pool\",\"updated\":true}",
 undef,
 "{\"status\":\"rebalanced\",\"group_id\":\"pool\"}",
 "{\"group_id\":\"pool\",\"mcp_server_id\":\"b\",\"removed\":true}",
 "{\"group_id\":\"pool\",\"mcp_server_id\":\"nobody\",\"removed\":true}",
 undef,
 "{\"group_id\":\"pool\",\"deleted\":true}",
 undef, undef]
--- response_body_like eval
[qr/./, qr/^\{"groups":\[\{"group_id":"pool"/, qr/./,
 qr/^\{"group_id":"pool","description":"two","state":"healthy","strategy":"priority","min_healthy":1,/,
 qr/./, qr/./, qr/./,
 qr/"total_members":1,.*"members":\[\{"id":"a"/,
 qr/./,
 qr/^\{"error":"McpServerNotFoundError","message":"Group 'pool' not found","status_code":404\}$/,
 qr/"mcp_server_id":"a"/]
--- no_error_log
[alert]



=== TEST 3: errors: 404, 405, 422 (never 500), and a server id
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [a]}
  pool: {mode: group, auto_start: false, members: [a]}
--- more_headers
Content-Type: application/json
--- request eval
["GET /api/groups/nope",
 "PUT /api/groups/nope\n{}",
 "DELETE /api/groups/nope",
 "POST /api/groups/nope/rebalance",
 "POST /api/groups/nope/members\n{\"member_id\":\"a\"}",
 "DELETE /api/groups/nope/members/a",
 "PATCH /api/groups/pool\n{}",
 "POST /api/groups\n{\"strategy\":\"round_robin\"}",
 "POST /api/groups\n{\"group_id\":\"bad id\"}",
 "POST /api/groups\n{\"group_id\":\"g\",\"strategy\":\"fastest\"}",
 "POST /api/groups\n{\"group_id\":\"pool\"}",
 "POST /api/groups\n{\"group_id\":\"a\"}",
 "POST /api/groups/pool/members\n{}",
 "POST /api/groups/pool/members\n{\"member_id\":\"a\"}",
 "POST /api/groups/pool/members\n{\"member_id\":\"ghost\"}",
 "POST /api/groups/pool/members\n{\"member_id\":\"a\",\"weight\":101}",
 "POST /api/groups/pool/members\n{\"member_id\":\"a\",\"priority\":0}",
 "PUT /api/groups/pool\n{\"strategy\":7}",
 "POST /api/groups\n[1]",
 "POST /api/groups\n{bad"]
--- error_code eval
[404, 404, 404, 404, 404, 404, 405, 422, 422, 422, 422, 422, 422, 422, 404, 422, 422, 422, 422, 400]
--- response_body_like eval
[qr/"error":"McpServerNotFoundError"/, qr/McpServerNotFoundError/,
 qr/McpServerNotFoundError/, qr/McpServerNotFoundError/,
 qr/McpServerNotFoundError/, qr/McpServerNotFoundError/,
 qr/MethodNotAllowed/,
 qr/"error":"ValidationError".*group_id: is required/,
 qr/group_id: must be/, qr/strategy: must be one of/,
 qr/"message":"Group already exists: pool"/,
 qr/Group already exists: a/,
 qr/member_id: is required/, qr/member_id: already a member/,
 qr/"message":"MCP Server 'ghost' not found"/,
 qr/weight: must be an integer from 1 to 100/,
 qr/priority: must be an integer from 1 to 100/,
 qr/strategy: must be one of/, qr/body: must be a JSON object/,
 qr/InvalidJSON/]
--- no_error_log
[alert]



=== TEST 4: API groups and memberships survive reload and restart
--- workers: 2
--- timeout: 60
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [a]}
  b: {command: [b]}
  yg: {mode: group, auto_start: false, members: [a]}
  gone: {mode: group, members: [b]}
--- more_headers
Content-Type: application/json
--- request eval
["POST /api/groups\n{\"group_id\":\"ag\",\"strategy\":\"weighted_round_robin\",\"description\":\"api\"}",
 "PUT /api/groups/ag\n{\"min_healthy\":2}",
 "POST /api/groups/yg/members\n{\"member_id\":\"b\",\"weight\":5}",
 "DELETE /api/groups/gone",
 "RELOAD",
 "GET /api/groups",
 "RESTART",
 "GET /api/groups",
 "GET /api/groups/gone"]
--- error_code eval
[201, 200, 201, 200, 200, 200, 404]
--- response_body_like eval
[qr/created/, qr/updated/, qr/added/, qr/deleted/,
 qr/^\{"groups":\[\{"group_id":"yg",.*"total_members":2,.*\{"id":"b",[^}]*"weight":5.*\{"group_id":"ag","description":"api","state":"inactive","strategy":"weighted_round_robin","min_healthy":2,/,
 qr/^\{"groups":\[\{"group_id":"yg",.*"total_members":2,.*\{"id":"b",[^}]*"weight":5.*\{"group_id":"ag","description":"api","state":"inactive","strategy":"weighted_round_robin","min_healthy":2,/,
 qr/Group 'gone' not found/]
--- state_file_like eval
qr/"groups":\{(?=.*"yg":\{"mode":"group","auto_start":false,"members":\["a",\{"id":"b","weight":5,"priority":1\}\])(?=.*"gone":null)(?=.*"ag":\{"mode":"group","strategy":"weighted_round_robin")/
--- no_error_log
[alert]



=== TEST 5: hangar.yaml groups: a top-level groups: map, inline members
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [a]}
groups:
  pool:
    strategy: least_connections
    min_healthy: 2
    description: inline
    health: {unhealthy_threshold: 3, healthy_threshold: 2}
    circuit_breaker: {failure_threshold: 4, reset_timeout_s: 5}
    members:
      - {id: a, priority: 2}
      - {id: inl, mode: subprocess, command: [x], priority: 1}
--- request eval
["GET /api/groups/pool", "GET /api/mcp_servers/inl"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"group_id":"pool","description":"inline","state":"healthy","strategy":"least_connections","min_healthy":2,"healthy_count":2,"total_members":2,.*"members":\[\{"id":"a",[^}]*"priority":2[^}]*\},\{"id":"inl",/,
 qr/"mcp_server_id":"inl"/]
--- no_error_log
[alert]
