# /api/mcp_servers: list, create, read, update, delete, and their errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: the seed guide's list example shows the declared fleet
--- http_config
    hangar_zone hangar 1m;
    resolver 127.0.0.1:1;  # the remotes are named, never called
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
    description: Math
  api:
    mode: remote
    endpoint: https://api.example.com/mcp
--- request
GET /api/mcp_servers
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body
{"mcp_servers":[{"mcp_server_id":"math","state":"cold","mode":"subprocess","alive":false,"tools_count":0,"health_status":"unknown","tools_predefined":false,"description":"Math"},{"mcp_server_id":"api","state":"cold","mode":"remote","alive":false,"tools_count":0,"health_status":"unknown","tools_predefined":false}]}
--- no_error_log
[error]



=== TEST 2: trailing slash and the ?state= filter
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math: {command: [python, -m, math_server]}
--- request eval
["GET /api/mcp_servers/", "GET /api/mcp_servers?state=cold", "GET /api/mcp_servers?state=ready", "GET /api/mcp_servers?state=nonsense"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[qr/"mcp_server_id":"math"/, qr/^\{"mcp_servers":\[\{"mcp_server_id":"math"/, qr/^\{"mcp_servers":\[\]\}$/, qr/^\{"mcp_servers":\[\]\}$/]



=== TEST 3: the seed guide's create example, byte for byte
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- more_headers
Content-Type: application/json
--- request
POST /api/mcp_servers
{
    "mcp_server_id": "my-llm",
    "mode": "subprocess",
    "command": ["python", "-m", "llm_server"],
    "idle_ttl_s": 600,
    "description": "LLM inference mcp_server"
  }
--- error_code: 201
--- response_body
{"mcp_server_id":"my-llm","created":true}



=== TEST 4: a created server is listed and readable in full
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"calc\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:9/mcp\",\"description\":\"Remote \\\"calc\\\"\"}",
 "GET /api/mcp_servers/calc",
 "GET /api/mcp_servers/calc/",
 "GET /api/mcp_servers"]
--- error_code eval
[201, 200, 200, 200]
--- response_body eval
['{"mcp_server_id":"calc","created":true}',
 '{"mcp_server_id":"calc","state":"cold","mode":"remote","alive":false,"tools":[],"health":{"consecutive_failures":0,"total_invocations":0,"total_failures":0,"success_rate":1.0,"can_retry":true,"last_success_ago":null,"last_failure_ago":null},"idle_time":0.0,"meta":{},"description":"Remote \"calc\""}',
 '{"mcp_server_id":"calc","state":"cold","mode":"remote","alive":false,"tools":[],"health":{"consecutive_failures":0,"total_invocations":0,"total_failures":0,"success_rate":1.0,"can_retry":true,"last_success_ago":null,"last_failure_ago":null},"idle_time":0.0,"meta":{},"description":"Remote \"calc\""}',
 '{"mcp_servers":[{"mcp_server_id":"calc","state":"cold","mode":"remote","alive":false,"tools_count":0,"health_status":"unknown","tools_predefined":false,"description":"Remote \"calc\""}]}']



=== TEST 5: the seed guide's 404 envelope
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request
GET /api/mcp_servers/unknown
--- error_code: 404
--- response_body
{"error":"McpServerNotFoundError","message":"MCP Server 'unknown' not found","status_code":404}



=== TEST 6: predefined tools are served from the declaration
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
    command: [python, -m, math_server]
    tools:
      - name: add
        description: Add two numbers
        inputSchema: {type: object, properties: {a: {type: number}}}
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers/math"]
--- response_body_like eval
[qr/"tools_count":1,"health_status":"unknown","tools_predefined":true/,
 qr/"tools":\[\{"name":"add","description":"Add two numbers","inputSchema":\{"type":"object","properties":\{"a":\{"type":"number"\}\}\}\}\]/]



=== TEST 7: update is partial, null keeps a field, env is replaced
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"s1\",\"mode\":\"subprocess\",\"command\":[\"x\"],\"env\":{\"A\":\"1\",\"B\":\"2\"},\"description\":\"one\"}",
 "PATCH /api/mcp_servers/s1\n{\"description\":null,\"idle_ttl_s\":42,\"env\":{\"C\":\"3\"}}",
 "PUT /api/mcp_servers/s1/\n{\"description\":\"two\"}",
 "GET /api/mcp_servers/s1",
 "PATCH /api/mcp_servers/nope\n{\"description\":\"x\"}"]
--- error_code eval
[201, 200, 200, 200, 404]
--- response_body_like eval
[qr/"created":true/, qr/^\{"mcp_server_id":"s1","updated":true\}$/, qr/"updated":true/, qr/"description":"two"/, qr/"error":"McpServerNotFoundError"/]
--- state_file_like eval
qr/"s1":\{"mode":"subprocess","command":\["x"\],"env":\{"C":"3"\},"description":"two","idle_ttl_s":42/



=== TEST 8: delete, then the id is gone
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math: {command: [python, -m, math_server]}
--- request eval
["DELETE /api/mcp_servers/math", "GET /api/mcp_servers/math", "DELETE /api/mcp_servers/math", "GET /api/mcp_servers"]
--- error_code eval
[200, 404, 404, 200]
--- response_body eval
['{"mcp_server_id":"math","deleted":true}',
 '{"error":"McpServerNotFoundError","message":"MCP Server \'math\' not found","status_code":404}',
 '{"error":"McpServerNotFoundError","message":"MCP Server \'math\' not found","status_code":404}',
 '{"mcp_servers":[]}']



=== TEST 9: creating an existing id is refused and changes nothing
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  math: {command: [python, -m, math_server], description: keep}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"math\",\"mode\":\"remote\",\"endpoint\":\"http://x/\"}", "GET /api/mcp_servers/math"]
--- error_code eval
[422, 200]
--- response_body_like eval
[qr/^\{"error":"ValidationError","message":"McpServer already exists: math","status_code":422\}$/, qr/"mode":"subprocess".*"description":"keep"/]



=== TEST 10: unknown route and unknown sub-route are 404 envelopes
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["GET /api/nope", "GET /api/", "GET /api/mcp_servers/a/b/c/d", "GET /api/mcp_servers/a/tools/x"]
--- error_code eval
[404, 404, 404, 404]
--- response_body_like eval
[qr/^\{"error":"NotFoundError","message":"no API route for \/api\/nope","status_code":404\}$/, qr/"status_code":404/, qr/"status_code":404/, qr/"status_code":404/]



=== TEST 11: wrong method is a 405 envelope with Allow
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["DELETE /api/mcp_servers", "POST /api/mcp_servers/x", "PUT /api/system"]
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: GET, HEAD, POST", "Allow: GET, HEAD, PUT, PATCH, DELETE", "Allow: GET, HEAD"]
--- response_body_like eval
[qr/^\{"error":"MethodNotAllowedError","message":"method DELETE is not allowed here; allowed: GET, HEAD, POST","status_code":405\}$/, qr/"status_code":405/, qr/"status_code":405/]



=== TEST 12: HEAD answers headers only
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request
HEAD /api/mcp_servers
--- error_code: 200
--- response_body:
