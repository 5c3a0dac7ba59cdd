# HTTP edges of /api/: CORS, body limits, bad JSON, chunked bodies.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: CORS default origin gets the headers, others do not
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers"]
--- more_headers eval
["Origin: http://localhost:5173", "Origin: http://evil.example"]
--- response_headers eval
["Access-Control-Allow-Origin: http://localhost:5173\nVary: Origin\n!Access-Control-Allow-Credentials",
 "!Access-Control-Allow-Origin\nVary: Origin"]



=== TEST 2: a preflight is answered without auth, from MCP_CORS_ORIGINS
--- env
MCP_CORS_ORIGINS=https://dash.example.com, http://other.example:8080
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["OPTIONS /api/mcp_servers/x/start", "GET /api/mcp_servers"]
--- more_headers eval
["Origin: https://dash.example.com\nAccess-Control-Request-Method: POST", "Origin: http://other.example:8080"]
--- error_code eval
[204, 200]
--- response_headers eval
["Access-Control-Allow-Origin: https://dash.example.com\nAccess-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE, OPTIONS\nAccess-Control-Allow-Headers: Authorization, Content-Type, X-API-Key, X-Correlation-ID, X-Requested-With\n!Access-Control-Allow-Credentials",
 "Access-Control-Allow-Origin: http://other.example:8080"]



=== TEST 3: credentials are allowed for explicit origins and never with a wildcard
--- env
MCP_CORS_ORIGINS=*,https://dash.example.com
MCP_CORS_CREDENTIALS=true
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers"]
--- more_headers eval
["Origin: https://dash.example.com", "Origin: http://random.example"]
--- response_headers eval
["Access-Control-Allow-Origin: https://dash.example.com\nAccess-Control-Allow-Credentials: true",
 "!Access-Control-Allow-Origin\n!Access-Control-Allow-Credentials"]
--- error_log
"*" ignored because MCP_CORS_CREDENTIALS is on



=== TEST 4: a wildcard origin without credentials answers "*"
--- env
MCP_CORS_ORIGINS=*
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request
GET /api/system/me
--- more_headers
Origin: http://anything.example
--- response_headers
Access-Control-Allow-Origin: *
!Access-Control-Allow-Credentials



=== TEST 5: unparsable JSON is a 400 envelope and creates nothing
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\": \"a\", ", "POST /api/mcp_servers\nnot json", "POST /api/mcp_servers", "GET /api/mcp_servers"]
--- error_code eval
[400, 400, 422, 200]
--- response_body_like eval
[qr/^\{"error":"InvalidJSONError","message":"invalid JSON at byte \d+: [^"]+","status_code":400\}$/,
 qr/"error":"InvalidJSONError"/,
 qr/"message":"request body must be a JSON object"/,
 qr/^\{"mcp_servers":\[\]\}$/]
--- state_file_like: absent



=== TEST 6: a body over hangar_body_limit is a 413 envelope (Content-Length and chunked)
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; hangar_body_limit 64; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"x\"],\"description\":\"" . ("x" x 100) . "\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"x\"],\"description\":\"" . ("x" x 100) . "\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "GET /api/mcp_servers"]
--- more_headers eval
["", "Transfer-Encoding: chunked", "", ""]
--- error_code eval
[413, 413, 201, 200]
--- response_body_like eval
[qr/^\{"error":"PayloadTooLargeError","message":"request body is larger than 64 bytes","status_code":413\}$/,
 qr/"error":"PayloadTooLargeError"/, qr/created/, qr/^\{"mcp_servers":\[\{"mcp_server_id":"a"[^\]]*\]\}$/]



=== TEST 7: a large body within the limit is read from nginx's temp file
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    client_body_buffer_size 1k;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"big\",\"mode\":\"subprocess\",\"command\":[\"x\"],\"description\":\"" . ("d" x 4000) . "\"}",
 "GET /api/mcp_servers/big"]
--- error_code eval
[201, 200]
--- response_body_like eval
[qr/created/, qr/"description":"d{4000}"/]



=== TEST 8: deeply nested JSON is refused, not a crash
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n" . ("[" x 5000) . ("]" x 5000), "GET /api/system/me"]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/nesting too deep/, qr/authenticated/]
