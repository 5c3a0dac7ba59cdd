# The state file: a file of the wrong shape stops "nginx -t" and a start
# with the file, the JSON path and what was expected, and is left as it
# is; what hangar writes is valid UTF-8 JSON with bounded lists; stop and
# block of an unknown id answer once; a block that cannot be written
# changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: a number where the deleted list is expected
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"version":1,"mcp_servers":{},"deleted":5}
--- must_die
--- error_log eval
qr/\[emerg\].*hangar: state file "[^"]+\/state\/hangar-state\.json" is invalid at "deleted": expected a list of strings; the file was left as it is/
--- state_file_like eval
qr/^\{"version":1,"mcp_servers":\{\},"deleted":5\}$/



=== TEST 2: a number in the withdrawn list
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"version":1,"withdrawn":[{"mcp_server":"a","tool":"t","tenant_id":null},1]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "withdrawn\[1\]": expected an object \{"mcp_server","tool","tenant_id"\}/
--- state_file_like eval
qr/^\{"version":1,"withdrawn":\[\{"mcp_server":"a","tool":"t","tenant_id":null\},1\]\}$/



=== TEST 3: a withdrawal whose tool is a number
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"withdrawn":[{"mcp_server":"a","tool":5,"tenant_id":null}]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "withdrawn\[0\]\.tool": expected a tool name/



=== TEST 4: a withdrawal without a tenant_id
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"withdrawn":[{"mcp_server":"a","tool":"t"}]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "withdrawn\[0\]\.tenant_id": expected a tenant id or null/



=== TEST 5: an object in the suspended list
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"suspended":["s1",{"a":1}]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "suspended\[1\]": expected a string/



=== TEST 6: a list where the servers object is expected
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"mcp_servers":[]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "mcp_servers": expected an object of servers by id/



=== TEST 7: a server that is a string
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"mcp_servers":{"x":"y"}}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "mcp_servers\.x": expected an object/



=== TEST 8: a blocked id that is not an id
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- user_files
>>> state/hangar-state.json
{"blocked":["a b"]}
--- must_die
--- error_log eval
qr/\[emerg\].*is invalid at "blocked\[0\]": expected a server id/



=== TEST 9: a raw 0xFF byte in a withdrawal path is refused, the state file stays valid
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/admin/tools/x/%ff/withdraw\n{}",
 "POST /api/admin/tools/x%ff/t/withdraw\n{}",
 "POST /api/admin/tools/x/a%01b/withdraw\n{}",
 "POST /api/admin/tools/x/" . ("t" x 129) . "/withdraw\n{}",
 "POST /api/admin/tools/x/t/withdraw\n{\"tenant_id\":\"" . ("a" x 129) . "\"}",
 "POST /api/admin/tools/x/t/withdraw\n{\"tenant_id\":\"a\\u0001b\"}",
 "POST /api/admin/tools/x/t/withdraw\n{\"tenant_id\":5}",
 "POST /api/admin/tools/x/caf%C3%A9/withdraw\n{\"tenant_id\":\"t\\u00e9\"}",
 "RESTART",
 "POST /api/admin/tools/x/caf%C3%A9/restore\n{\"tenant_id\":\"t\\u00e9\"}"]
--- error_code eval
[422, 422, 422, 422, 422, 422, 422, 200, 200]
--- response_body_like eval
[qr/^\{"error":"ValidationError",.*"tool: must be 1-128 bytes of UTF-8 text/,
 qr/"mcp_server: must be 1-64 letters/,
 qr/"tool: must be/, qr/"tool: must be/,
 qr/"tenant_id: must be null or a string of 1-128 bytes/,
 qr/"tenant_id: must be/, qr/"tenant_id: must be/,
 qr/^\{"withdrawn":true,"mcp_server":"x","tool":"caf\x{c3}\x{a9}","tenant_id":"t\x{c3}\x{a9}"\}$/,
 qr/^\{"restored":true,/]
--- state_file_like eval
qr/^\{"version":1,"mcp_servers":\{\},"overlay":\{\},"deleted":\[\],"blocked":\[\],"suspended":\[\],"withdrawn":\[\]\}$/
--- no_error_log
[alert]
[emerg]



=== TEST 10: stop and block of an unknown id answer one 404 and nothing else
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers/nope/stop\n{}",
 "POST /api/mcp_servers/nope/block",
 "POST /api/mcp_servers/nope/stop\n{}"]
--- error_code eval
[404, 404, 404]
--- response_body eval
[(q({"error":"McpServerNotFoundError","message":"MCP Server 'nope' not found","status_code":404})) x 3]
--- no_error_log
[alert]
header already sent



=== TEST 11: a block that cannot be written answers 503 and changes nothing
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  yaml1: {command: [a]}
>>> state/hangar-state.json.tmp/blocker
a directory where the temp file should go: every write fails
--- request eval
["POST /api/mcp_servers/yaml1/block",
 "GET /api/mcp_servers/yaml1"]
--- error_code eval
[503, 200]
--- response_body_like eval
[qr/^\{"error":"StateWriteError","message":"could not save the change in \\"[^"]+\/state\\" \(open: Is a directory\); nothing was changed","status_code":503\}$/,
 qr/^(?!.*"blocked").*"mcp_server_id":"yaml1"/]
--- state_file_like: absent
--- error_log
hangar: open



=== TEST 12: \u escapes of half a surrogate pair are refused, a whole pair is kept
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
["POST /api/admin/tools/x/t/withdraw\n{\"tenant_id\":\"a\\ud800b\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"q\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:1/mcp\",\"description\":\"x\\udc00y\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"q\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:1/mcp\",\"description\":\"x\\ud800\\u0041\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"q\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:1/mcp\",\"description\":\"x\\\\ud800 \\ud83d\\ude00\"}",
 "RESTART",
 "GET /api/mcp_servers/q"]
--- error_code eval
[400, 400, 400, 201, 200]
--- response_body_like eval
[qr/a \\\\u escape of half a surrogate pair/, qr/surrogate/, qr/surrogate/,
 qr/created/, qr/"description":"x\\\\ud800 \x{f0}\x{9f}\x{98}\x{80}"/]
--- state_file_like eval
qr/"withdrawn":\[\]\}$/
--- no_error_log
[alert]
[emerg]



=== TEST 13: an unwritable state directory: suspensions and withdrawals fail cleanly and change nothing
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /mcp { hangar_mcp; }
--- user_files
>>> state/hangar-state.json.tmp/blocker
a directory where the temp file should go: every write fails
--- request eval
["POST /api/sessions/abc/suspend\n{}",
 "POST /api/admin/tools/x/t/withdraw\n{}",
 "DELETE /api/sessions/abc/suspend",
 "POST /api/admin/tools/x/t/restore\n{}"]
--- error_code eval
[503, 503, 200, 200]
--- response_body_like eval
[qr/^\{"error":"StateWriteError","message":"could not save the change in \\"[^"]+\/state\\" \(open: Is a directory\); nothing was changed","status_code":503\}$/,
 qr/"error":"StateWriteError"/,
 qr/^\{"session_id":"abc","suspended":false\}$/,
 qr/^\{"restored":true,"mcp_server":"x","tool":"t","tenant_id":null\}$/]
--- state_file_like: absent
--- error_log
hangar: open
