# /api/system, /api/system/me, /health/*, /metrics.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: the seed guide's system example
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [x], tools: [{name: t1}, {name: t2}]}
  b: {mode: remote, endpoint: "http://127.0.0.1:1/"}
--- request eval
["GET /api/system", "GET /api/system/"]
--- response_body_like eval
[qr/^\{"system":\{"total_mcp_servers":2,"mcp_servers_by_state":\{"cold":2\},"total_tools":2,"total_invocations":0,"total_failures":0,"overall_success_rate":1\.0,"uptime_seconds":[0-9.]+,"version":"[0-9.]+","instance":\{"instance_id":"[^"]+-[0-9a-f]{8}","coordinates_with_peers":false,"manages_fleet":true,"storage_is_shareable":false,"rate_limits_are_per_instance":true\},"zone":\{"name":"hangar","pages":[1-9][0-9]*,"free_pages":[1-9][0-9]*\},"metrics":\{"tool_calls":0,"tool_call_errors":0,"starts":0,"start_failures":0,"stops":0,"health_checks":0,"health_check_failures":0,"rate_limited":0,"tool_call_seconds":0\.0\}\}\}$/,
 qr/"total_mcp_servers":2/]



=== TEST 2: system/me without auth
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request
GET /api/system/me
--- response_body
{"authenticated":false,"principal":null}



=== TEST 3: health probes
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /health/ { hangar_health; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [x]}
--- request eval
["GET /health/live", "GET /health/ready", "GET /health/startup", "GET /health/other", "POST /health/live"]
--- error_code eval
[200, 200, 200, 404, 405]
--- response_body_like eval
[qr/^\{"status":"healthy"\}$/,
 qr/^\{"status":"healthy","ready_mcp_servers":0,"total_mcp_servers":1\}$/,
 qr/^\{"status":"healthy","startup_complete":true,"uptime_seconds":\d+\.\d\d\}$/,
 qr/^\{"error":"NotFoundError","message":"no health probe \/health\/other; try live, ready or startup","status_code":404\}$/,
 qr/"status_code":405/]



=== TEST 4: metrics in Prometheus text format
--- http_config
    hangar_zone hangar 1m;
    resolver 127.0.0.1:1;  # the remotes are named, never called
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location = /metrics { hangar_metrics; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a: {command: [x]}
  b: {mode: remote, endpoint: "https://h/"}
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
qr/# TYPE mcp_hangar_build_info gauge\nmcp_hangar_build_info\{nginx_version="1\.\d+\.\d+",version="[0-9.]+"\} 1\.0\n.*mcp_hangar_mcp_servers\{state="cold"\} 2\.0\n.*mcp_hangar_mcp_server_info\{mcp_server="a",mode="subprocess"\} 1\.0\nmcp_hangar_mcp_server_info\{mcp_server="b",mode="remote"\} 1\.0\n.*mcp_hangar_mcp_server_state\{mcp_server="a"\} 0\.0\n.*mcp_hangar_mcp_server_up\{mcp_server="b"\} 0\.0\n/s



=== TEST 5: GET /api/tools lists every cached catalog, input_schema as JSON text
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  a:
    command: [x]
    tools:
      - {name: add, description: Add, inputSchema: {type: object, properties: {x: {type: number}}}}
      - {name: bare}
  b: {command: [y]}
--- request eval
["GET /api/tools", "GET /api/tools/"]
--- response_body eval
['{"tools":[{"mcp_server_id":"a","tool_name":"add","description":"Add","input_schema":"{\\"type\\":\\"object\\",\\"properties\\":{\\"x\\":{\\"type\\":\\"number\\"}}}"},{"mcp_server_id":"a","tool_name":"bare","description":"","input_schema":"{}"}]}',
 '{"tools":[{"mcp_server_id":"a","tool_name":"add","description":"Add","input_schema":"{\\"type\\":\\"object\\",\\"properties\\":{\\"x\\":{\\"type\\":\\"number\\"}}}"},{"mcp_server_id":"a","tool_name":"bare","description":"","input_schema":"{}"}]}']
