# HTTP faults of /api/ and /mcp: bodies that are too large or malformed
# (chunked ones included), unknown ids and query parameters out of their
# documented ranges.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: a malformed chunked body is a JSON 400, not nginx's HTML page
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- raw_request eval
"POST /api/mcp_servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"error":"BadRequestError","message":"[^"]*chunked[^"]*","status_code":400\}$
--- error_log
client sent invalid chunked body



=== TEST 2: a malformed chunked body to /mcp is a JSON-RPC error
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location = /mcp { hangar_mcp; }
--- raw_request eval
"POST /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
--- error_code: 400
--- response_body_like: ^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32700,"message":"[^"]*chunked[^"]*"\}\}$
--- error_log
client sent invalid chunked body



=== TEST 3: /mcp answers a body over the limit with a JSON-RPC error (Content-Length and chunked)
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location = /mcp { hangar_mcp; hangar_body_limit 64; }
--- request eval
["POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"x\":\"" . ("x" x 100) . "\"}}",
 "POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"x\":\"" . ("x" x 100) . "\"}}"]
--- more_headers eval
["Content-Type: application/json\nAccept: application/json, text/event-stream",
 "Content-Type: application/json\nAccept: application/json, text/event-stream\nTransfer-Encoding: chunked"]
--- error_code eval
[413, 413]
--- response_body_like eval
[qr/^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32600,"message":"Request body is larger than 64 bytes"\}\}$/,
 qr/^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32600,"message":"Request body is larger than 64 bytes"\}\}$/]



=== TEST 4: tools/history of an unknown server is a 404
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, y, z, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["GET /api/mcp_servers/nope/tools/history",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"here\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "GET /api/mcp_servers/here/tools/history"]
--- error_code eval
[404, 201, 200]
--- response_body_like eval
[qr/^\{"error":"McpServerNotFoundError","message":"MCP Server 'nope' not found","status_code":404\}$/,
 qr/created/,
 qr/^\{"mcp_server_id":"here","history":\[\],"total":0\}$/]



=== TEST 5: limit, from_position and lines outside their ranges are a 422 naming them
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, y, z, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"here\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "GET /api/mcp_servers/here/tools/history?limit=0",
 "GET /api/mcp_servers/here/tools/history?limit=501",
 "GET /api/mcp_servers/here/tools/history?limit=abc",
 "GET /api/mcp_servers/here/tools/history?from_position=-1",
 "GET /api/mcp_servers/here/tools/history?limit=500&from_position=0",
 "GET /api/mcp_servers/here/tools/history?limit=1",
 "GET /api/mcp_servers/here/logs?lines=0",
 "GET /api/mcp_servers/here/logs?lines=1001",
 "GET /api/mcp_servers/here/logs?lines=x",
 "GET /api/mcp_servers/here/logs?lines=1000",
 "GET /api/mcp_servers/here/logs?lines=1"]
--- error_code eval
[201, 422, 422, 422, 422, 200, 200, 422, 422, 422, 200, 200]
--- response_body_like eval
[qr/created/,
 qr/^\{"error":"ValidationError","message":"limit must be an integer from 1 to 500","status_code":422,"details":\{"field":"limit"\}\}$/,
 qr/"details":\{"field":"limit"\}/,
 qr/"details":\{"field":"limit"\}/,
 qr/^\{"error":"ValidationError","message":"from_position must be an integer of 0 or more","status_code":422,"details":\{"field":"from_position"\}\}$/,
 qr/"history":\[\]/,
 qr/"history":\[\]/,
 qr/^\{"error":"ValidationError","message":"lines must be an integer from 1 to 1000","status_code":422,"details":\{"field":"lines"\}\}$/,
 qr/"details":\{"field":"lines"\}/,
 qr/"details":\{"field":"lines"\}/,
 qr/"logs":\[\]/,
 qr/"logs":\[\]/]



=== TEST 6: a malformed chunked body to a route that takes none is a JSON 400 too
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- raw_request eval
"POST /api/mcp_servers/x/start HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/json
Connection: close
--- response_body_like: ^\{"error":"BadRequestError","message":"[^"]*chunked[^"]*","status_code":400\}$
--- error_log
client sent invalid chunked body



=== TEST 7: the front door answers to every server_name of its server (read at run time, not from freed configuration memory)
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    server {
        listen 127.0.0.1:$TEST_NGINX_PORT;
        server_name mcp.example alias.example;
        location = /mcp { hangar_mcp; }
    }
--- config
    location = /mcp { hangar_mcp; }
--- request eval
["POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}",
 "POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}",
 "POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"]
--- more_headers eval
["Host: mcp.example\nContent-Type: application/json\nAccept: application/json, text/event-stream",
 "Host: alias.example\nContent-Type: application/json\nAccept: application/json, text/event-stream",
 "Host: other.example\nContent-Type: application/json\nAccept: application/json, text/event-stream"]
--- error_code eval
[200, 200, 403]
--- response_body_like eval
[qr/"protocolVersion"/, qr/"protocolVersion"/, qr/Host not allowed/]
