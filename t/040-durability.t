# API changes survive stop/start, reload and SIGKILL; a failed state write
# changes nothing; a damaged state file stops nginx from starting.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: created, changed and deleted servers survive a full restart
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, z, node, python], remote_allow: [127.0.0.1/32]}
mcp_servers:
  yaml1: {command: [a], description: from-yaml}
  yaml2: {command: [b]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"api1\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:1/mcp\"}",
 "PATCH /api/mcp_servers/yaml1\n{\"description\":\"patched\"}",
 "DELETE /api/mcp_servers/yaml2",
 "RESTART",
 "GET /api/mcp_servers",
 "GET /api/mcp_servers/yaml1"]
--- error_code eval
[201, 200, 200, 200, 200]
--- response_body_like eval
[qr/created/, qr/updated/, qr/deleted/,
 qr/^\{"mcp_servers":\[\{"mcp_server_id":"yaml1"[^\]]*\{"mcp_server_id":"api1"[^\]]*\]\}$/,
 qr/"description":"patched"/]
--- state_file_like eval
qr/^\{"version":1,"mcp_servers":\{"yaml1":\{.*"description":"patched".*\},"api1":\{"mode":"remote".*\},"deleted":\["yaml2"\],"blocked":\[\],"suspended":\[\],"withdrawn":\[\]\}$/



=== TEST 2: a deleted declared server that is created again comes back for good
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, z, node, python], remote_allow: [127.0.0.1/32]}
mcp_servers:
  yaml1: {command: [a]}
--- request eval
["DELETE /api/mcp_servers/yaml1",
 "RESTART",
 "GET /api/mcp_servers/yaml1",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"yaml1\",\"mode\":\"subprocess\",\"command\":[\"z\"]}",
 "RESTART",
 "GET /api/mcp_servers/yaml1"]
--- error_code eval
[200, 404, 201, 200]
--- state_file_like eval
qr/"yaml1":\{"mode":"subprocess","command":\["z"\].*"deleted":\[\],"blocked":\[\],"suspended":\[\],"withdrawn":\[\]\}$/



=== TEST 3: the registry survives nginx -s reload, with 2 workers
--- workers: 2
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, z, node, python], remote_allow: [127.0.0.1/32]}
mcp_servers:
  yaml1: {command: [a]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"api1\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "GET /api/system",
 "RELOAD",
 "GET /api/mcp_servers",
 "GET /api/system"]
--- error_code eval
[201, 200, 200, 200]
--- response_body_like eval
[qr/created/, qr/"total_mcp_servers":2/,
 qr/"mcp_server_id":"yaml1".*"mcp_server_id":"api1"/, qr/"total_mcp_servers":2/]



=== TEST 4: changes survive SIGKILL of nginx
--- workers: 2
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, z, node, python], remote_allow: [127.0.0.1/32]}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"k1\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "KILL9",
 "GET /api/mcp_servers/k1"]
--- error_code eval
[201, 200]



=== TEST 5: when the state cannot be written the API answers 503 and nothing changes
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl, x, z, node, python], remote_allow: [127.0.0.1/32]}
mcp_servers:
  yaml1: {command: [a], description: keep}
>>> state/hangar-state.json.tmp/blocker
a directory where the temp file should go: every write fails
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"n1\",\"mode\":\"subprocess\",\"command\":[\"x\"]}",
 "PATCH /api/mcp_servers/yaml1\n{\"description\":\"lost\"}",
 "DELETE /api/mcp_servers/yaml1",
 "GET /api/mcp_servers"]
--- error_code eval
[503, 503, 503, 200]
--- response_body_like eval
[qr/^\{"error":"StateWriteError","message":"could not save the change in \\"[^"]+\/state\\" \(open: Is a directory\); nothing was changed","status_code":503\}$/,
 qr/"error":"StateWriteError"/, qr/"error":"StateWriteError"/,
 qr/^\{"mcp_servers":\[\{"mcp_server_id":"yaml1"[^\]]*"description":"keep"\}\]\}$/]
--- state_file_like: absent
--- error_log
hangar: open



=== TEST 6: a damaged state file stops nginx from starting, naming the file
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> state/hangar-state.json
{"version":1,"mcp_servers":{
--- must_die
--- error_log eval
qr/\[emerg\].*state file "[^"]+hangar-state\.json" is damaged/
