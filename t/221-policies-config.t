# Tool access policies in hangar.yaml: what "nginx -t" refuses (an unknown
# key is an error, never a warning), with the path of the offending key.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: an unknown key of a server's policy is refused
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
    tools: {denylist: [x]}
--- must_die
--- error_log eval
qr/hangar\.yaml:4:\d+: mcp_servers\.a\.tools\.denylist: unknown key of a tool access policy/


=== TEST 2: an empty pattern is refused
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
    tools: {deny_list: ['']}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tools\.deny_list\[0\]: a pattern must be a non-empty string/


=== TEST 3: a pattern that is not a string is refused
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
    tools: {allow_list: [[x]]}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tools\.allow_list\[0\]: a pattern must be a non-empty string/


=== TEST 4: a list that is not a list is refused
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
    tools: {approval_list: x}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tools\.approval_list: must be a list of patterns/


=== TEST 5: a timeout that is not positive is refused
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
    tools: {approval_timeout_seconds: 0}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tools\.approval_timeout_seconds: must be an integer of seconds, 1\.\.86400/


=== TEST 6: an unknown key of a tenant's policy is refused
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
    tool_access:
      member:
        acme: {deny: [x]}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tool_access\.member\.acme\.deny: unknown key of a tool access policy/


=== TEST 7: an unknown key of a server's tool_access is refused
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
    tool_access: {mode: front_door}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.tool_access\.mode: unknown key/


=== TEST 8: an unknown kind under access is refused
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
    access: {widget: {deny_list: [x]}}
--- must_die
--- error_log eval
qr/mcp_servers\.a\.access\.widget: unknown kind/


=== TEST 9: a group member's policy is refused
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
  g:
    mode: group
    members:
      - {id: a, tools: {allowlist: [x]}}
--- must_die
--- error_log eval
qr/mcp_servers\.g\.members\[0\]\.tools\.allowlist: unknown key of a tool access policy/


=== TEST 10: a top-level tool_access mode other than egress or front_door is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
tool_access: {mode: ingress}
mcp_servers:
  a:
    command: [x]
--- must_die
--- error_log eval
qr/hangar\.yaml:1:\d+: tool_access\.mode: must be "egress" or "front_door"/


=== TEST 11: top-level tool_access rules, which hangar cannot honour is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
tool_access: {mode: egress, rules: [{tool: x}]}
mcp_servers:
  a:
    command: [x]
--- must_die
--- error_log eval
qr/tool_access\.rules: is not supported/


=== TEST 12: an unknown top-level tool_access key is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
tool_access: {moed: egress}
mcp_servers:
  a:
    command: [x]
--- must_die
--- error_log eval
qr/tool_access\.moed: unknown key \(allowed: mode\)/


=== TEST 13: a valid policy of every shape loads
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
tool_access: {mode: egress}
mcp_servers:
  a:
    command: [x]
    tools: {allow_list: ['[a-c]*', '[!x]?'], deny_list: [d], approval_list: [e], approval_timeout_seconds: 60, approval_channel: ops}
    tool_access: {member: {acme: {deny_list: ['*']}}}
    access: {prompt: {deny_list: [p]}, resource: {allow_list: ['file://*']}}
  g:
    mode: group
    members:
      - {id: a, tools: {deny_list: [x]}}
--- request
GET /api/auth/policies/provider/a
--- error_code: 200
--- response_body_like: "approval_list":\["e"\],"approval_timeout_seconds":60,"approval_channel":"ops"
--- no_error_log
[emerg]
