# Validation of server specs through the API (hangar-core.md §2.2):
# every rule answers 422 naming the field, and changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

my @cases = (
    # body, field, message
    ['[]', 'body', 'request body must be a JSON object'],
    ['"x"', 'body', 'request body must be a JSON object'],
    ['{"mode":"subprocess","command":["x"]}', 'mcp_server_id', 'mcp_server_id: is required'],
    ['{"mcp_server_id":"bad id","mode":"subprocess","command":["x"]}', 'mcp_server_id', 'mcp_server_id: must be 1-64 letters, digits, \"_\" or \"-\"'],
    ['{"mcp_server_id":"' . ('a' x 65) . '","mode":"subprocess","command":["x"]}', 'mcp_server_id', 'mcp_server_id: must be 1-64 letters, digits, \"_\" or \"-\"'],
    ['{"mcp_server_id":7,"mode":"subprocess","command":["x"]}', 'mcp_server_id', 'mcp_server_id: must be 1-64 letters, digits, \"_\" or \"-\"'],
    ['{"mcp_server_id":"a"}', 'mode', 'mode: is required'],
    ['{"mcp_server_id":"a","mode":"lambda"}', 'mode', 'mode: must be one of subprocess, ...'],
    ['{"mcp_server_id":"a","mode":"group"}', 'mode', 'mode: groups are managed under /api/groups'],
    ['{"mcp_server_id":"a","mode":"subprocess"}', 'command', 'command: is required for mode subprocess'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":[]}', 'command', 'command: must not be empty'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":"python"}', 'command', 'command: must be a list of strings'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["python",3]}', 'command[1]', 'command[1]: must be a string'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":[""]}', 'command', 'command: the program name is empty'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["a\u0000b"]}', 'command[0]', 'command[0]: must not contain NUL bytes'],
    ['{"mcp_server_id":"a","mode":"remote"}', 'endpoint', 'endpoint: is required for mode remote'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"ftp://x/"}', 'endpoint', 'endpoint: must be an http, https, ws or wss URL'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http:///mcp"}', 'endpoint', 'endpoint: has no host'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://a b/"}', 'endpoint', 'endpoint: must not contain spaces'],
    ['{"mcp_server_id":"a","mode":"docker"}', 'image', 'image: is required for mode docker (or build.dockerfile)'],
    ['{"mcp_server_id":"a","mode":"docker","image":"bad image!"}', 'image', 'image: is not a valid image name'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"idle_ttl_s":0}', 'idle_ttl_s', 'idle_ttl_s: must be 1..86400'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"idle_ttl_s":86401}', 'idle_ttl_s', 'idle_ttl_s: must be 1..86400'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"idle_ttl_s":"300"}', 'idle_ttl_s', 'idle_ttl_s: must be an integer 1..86400'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"idle_ttl_s":1.5}', 'idle_ttl_s', 'idle_ttl_s: must be an integer 1..86400'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"health_check_interval_s":4}', 'health_check_interval_s', 'health_check_interval_s: must be 5..3600'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"max_consecutive_failures":101}', 'max_consecutive_failures', 'max_consecutive_failures: must be 1..100'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"env":{"1BAD":"x"}}', 'env.1BAD', 'env.1BAD: variable names must match [A-Za-z_][A-Za-z0-9_]*'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"env":{"A":1}}', 'env.A', 'env.A: must be a string'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"env":["A"]}', 'env', 'env: must be an object of strings'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"description":5}', 'description', 'description: must be a string'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"colour":"red"}', 'colour', 'colour: unknown field'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"https://h/","http":{"read_timeout":-1}}', 'http.read_timeout', 'http.read_timeout: must be 0..86400'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"https://h/","auth":{"type":"magic"}}', 'auth.type', 'auth.type: must be one of none, ...'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"https://h/","tls":{"verify_ssl":"no"}}', 'tls.verify_ssl', 'tls.verify_ssl: must be a boolean'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"https://h/","tools":[{"description":"x"}]}', 'tools[0].name', 'tools[0].name: a tool needs a name'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["x"],"network":"wide"}', 'network', 'network: must be one of none, ...'],
);

my $blocks = '';
my $i = 0;
for my $c (@cases) {
    my ($body, $field, $msg) = @$c;
    $i++;
    (my $qbody = $body) =~ s/(["\\])/\\$1/g;
    $blocks .= <<"BLOCK";
=== TEST $i: 422 for $field ($msg)
--- http_config
    hangar_zone hangar 1m;
    hangar_state \$TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\\n$qbody", "GET /api/mcp_servers"]
--- error_code eval
[422, 200]
--- response_body eval
['{"error":"ValidationError","message":"$msg","status_code":422,"details":{"field":"$field"}}', '{"mcp_servers":[]}']
--- no_error_log
[error]


BLOCK
}

spec_string($blocks);
run_tests();
