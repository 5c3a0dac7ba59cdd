# The edge of /api/ (hangar-security.md §1.7, hangar-core.md §1.1, §2.1):
# the Host allow-list, JSON-only writes, header values without CR/LF,
# the subprocess rules and the SSRF rules for servers created or changed
# through the API.  Every refusal changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

my $http = <<'HTTP';
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
HTTP

# body => [status, error, field or undef, message regexp]
my @refused = (
    # the RCE of the issue, and other programs not on the default list
    ['{"mcp_server_id":"a","mode":"subprocess","command":["sh","-c","id > /tmp/pwned"]}',
     422, 'ValidationError', 'command[0]',
     'command\[0\]: \\\\"sh\\\\" is not an allowed command; allowed: bun, deno, docker, node, npx, podman, python, python3, python3.11, python3.12, python3.13, python3.14, uv, uvx'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["/bin/bash","x"]}',
     422, 'ValidationError', 'command[0]', 'not an allowed command'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["perl","-e","1"]}',
     422, 'ValidationError', 'command[0]', '\\\\"perl\\\\" is not an allowed command'],
    # metacharacters in arguments
    ['{"mcp_server_id":"a","mode":"subprocess","command":["python3","-c","import os; os.system(1)"]}',
     422, 'ValidationError', 'command[2]', 'command\[2\]: must not contain \\\\";\\\\"'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node","x.js"],"args":["$(id)"]}',
     422, 'ValidationError', 'args[0]', 'args\[0\]: must not contain \\\\"\$\(\\\\"'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","a|b"]}',
     422, 'ValidationError', 'command[1]', 'must not contain \\\\"\|\\\\"'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","a","b\nc"]}',
     422, 'ValidationError', 'command[2]', 'must not contain a newline'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","${HOME}"]}',
     422, 'ValidationError', 'command[1]', '\$\{'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","a && b"]}',
     422, 'ValidationError', 'command[1]', '&&'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","<in"]}',
     422, 'ValidationError', 'command[1]', '<'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["uvx","`id`"]}',
     422, 'ValidationError', 'command[1]', '`'],
    ['{"mcp_server_id":"a","mode":"docker","image":"alpine","command":["sh","-c","a;b"]}',
     422, 'ValidationError', 'command[2]', 'must not contain'],
    # at most 100 arguments in all
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node"' . (',"x"' x 60)
     . '],"args":[' . join(',', ('"y"') x 41) . ']}',
     422, 'ValidationError', 'args', 'args: at most 100 arguments, 101 given'],
    # environment
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node"],"env":{"A-B":"x"}}',
     422, 'ValidationError', 'env.A-B', 'variable names must match'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node"],"env":{'
     . join(',', map { qq("V$_":"x") } 1 .. 101) . '}}',
     422, 'ValidationError', 'env', 'env: at most 100 entries'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node"],"env":{"' . ('K' x 257) . '":"x"}}',
     422, 'ValidationError', 'env', 'keys are at most 256 bytes'],
    ['{"mcp_server_id":"a","mode":"subprocess","command":["node"],"env":{"K":"' . ('v' x 32769) . '"}}',
     422, 'ValidationError', 'env.K', 'at most 32768 bytes'],
    # header values and names (request smuggling)
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","http":{"headers":{"X-A":"v\r\nX-B: 1"}}}',
     422, 'ValidationError', 'http.headers.X-A', 'must not contain CR, LF or other control characters'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","http":{"headers":{"X A":"v"}}}',
     422, 'ValidationError', 'http.headers.X A', 'a header name must be a token'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","http":{"headers":{"Content-Length":"0"}}}',
     422, 'ValidationError', 'http.headers.Content-Length', 'is set by hangar itself'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","auth":{"type":"bearer","bearer_token":"t\r\n\r\nPOST /x HTTP/1.1"}}',
     422, 'ValidationError', 'auth.bearer_token', 'must not contain CR, LF'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","auth":{"type":"api_key","api_key":"k\n"}}',
     422, 'ValidationError', 'auth.api_key', 'must not contain CR, LF'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","auth":{"type":"api_key","api_key":"k","api_key_header":"X-Key\r\nX-Other"}}',
     422, 'ValidationError', 'auth.api_key_header', 'a header name must be a token'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","auth":{"type":"basic","username":"u:x","password":"p"}}',
     422, 'ValidationError', 'auth.username', 'must not contain'],
    ['{"mcp_server_id":"a","mode":"remote","endpoint":"http://203.0.113.7/mcp","auth":{"type":"basic","username":"u","password":"p\u0000"}}',
     422, 'ValidationError', 'auth.password', 'must not contain'],
    # SSRF: the flat body of hangar-core §1.1
    map({ ['{"mcp_server_id":"a","mode":"remote","endpoint":"' . $_ . '"}',
           400, 'ssrf_blocked', undef, 'endpoint: the host'] }
        'http://169.254.169.254/latest/meta-data/',
        'http://metadata.google.internal/computeMetadata/v1/',
        'http://metadata/x', 'http://db.internal:8080/mcp',
        'https://vm.compute.internal/mcp', 'http://METADATA.GOOGLE.INTERNAL./x',
        'http://10.0.0.1/mcp', 'http://172.16.3.4/mcp', 'http://172.31.255.255/mcp',
        'http://192.168.1.1/mcp', 'http://127.0.0.1:8000/mcp', 'http://127.8.9.10/mcp',
        'http://0.0.0.0/mcp', 'http://100.64.0.1/mcp', 'http://localhost:9/mcp',
        'http://a.localhost/mcp', 'http://2130706433/mcp', 'http://0x7f.1/mcp',
        'http://user@169.254.169.254/', 'http://[::1]:8000/mcp', 'http://[::]/mcp',
        'http://[fe80::1]/mcp', 'http://[fd00::1]/mcp', 'http://[fc00::5]/mcp',
        'http://[::ffff:127.0.0.1]/mcp', 'http://[::ffff:169.254.169.254]/mcp',
        'http://[64:ff9b::a9fe:a9fe]/mcp', 'ws://127.0.0.1/mcp', 'wss://10.1.2.3/mcp'),
);

# a JSON string's characters, escapes included
my $js = '(?:[^"\\\\]|\\\\.)*';

my $blocks = '';
my $i = 0;

for my $c (@refused) {
    my ($body, $status, $error, $field, $msg) = @$c;
    $i++;
    (my $qbody = $body) =~ s/(["\\\$\@])/\\$1/g;
    $qbody =~ s/\r/\\r/g;
    $qbody =~ s/\n/\\\\n/g;
    my $details = defined $field ? qq(,"details":\\{"field":"\Q$field\E"\\}) : '';
    my $name = defined $field ? $field : 'endpoint';
    $blocks .= <<"BLOCK";
=== TEST $i: $status $error for $name
--- http_config
$http
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\\n$qbody", "GET /api/mcp_servers"]
--- error_code eval
[$status, 200]
--- response_body_like eval
[qr/^\\{"error":"$error","message":"$js$msg$js","status_code":$status$details\\}\$/, qr/^\\{"mcp_servers":\\[\\]\\}\$/]


BLOCK
}

spec_string($blocks . do { local $/; <DATA> =~ s/^=== TEST \d+:/"=== TEST " . ++$i . ":"/mger });
run_tests();

__DATA__

=== TEST 1: the default trusted hosts: localhost, 127.0.0.1, ::1 (any port)
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers", "GET /api/mcp_servers",
 "GET /api/mcp_servers", "GET /api/mcp_servers", "GET /api/nothere"]
--- more_headers eval
["Host: localhost", "Host: 127.0.0.1:8000", "Host: [::1]:8000", "Host: LOCALHOST",
 "Host: evil.example", "Host: attacker.test"]
--- error_code eval
[200, 200, 200, 200, 400, 400]
--- response_body eval
['{"mcp_servers":[]}', '{"mcp_servers":[]}', '{"mcp_servers":[]}', '{"mcp_servers":[]}',
 '{"error":"InvalidHostError","message":"Invalid host header: \"evil.example\" is not a trusted host of this API; trust it with \"hangar_trusted_hosts\" in nginx.conf or MCP_TRUSTED_HOSTS","status_code":400}',
 '{"error":"InvalidHostError","message":"Invalid host header: \"attacker.test\" is not a trusted host of this API; trust it with \"hangar_trusted_hosts\" in nginx.conf or MCP_TRUSTED_HOSTS","status_code":400}']



=== TEST 2: a DNS-rebinding write is refused before anything changes
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "GET /api/mcp_servers"]
--- more_headers eval
["Host: rebind.attacker.test:8000", ""]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/"error":"InvalidHostError"/, qr/^\{"mcp_servers":\[\]\}$/]



=== TEST 3: hangar_trusted_hosts: exact names, *.domain, case and brackets
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; hangar_trusted_hosts hangar.example.org *.corp.test [::1]; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers", "GET /api/mcp_servers",
 "GET /api/mcp_servers", "GET /api/mcp_servers", "GET /api/mcp_servers",
 "GET /api/mcp_servers"]
--- more_headers eval
["Host: hangar.example.org", "Host: Hangar.Example.ORG:443", "Host: a.corp.test",
 "Host: x.y.corp.test", "Host: [::1]", "Host: corp.test", "Host: localhost"]
--- error_code eval
[200, 200, 200, 200, 200, 400, 400]



=== TEST 4: hangar_trusted_hosts * trusts any host
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_trusted_hosts *;
--- config
    location /api/ { hangar_api; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers"]
--- more_headers eval
["Host: anything.example", "Host: 203.0.113.9"]
--- error_code eval
[200, 200]



=== TEST 5: MCP_TRUSTED_HOSTS is the default, the directive wins over it
--- env
MCP_TRUSTED_HOSTS=api.example.net, *.lab.test
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location /other/api/ { hangar_api; hangar_trusted_hosts localhost; }
--- request eval
["GET /api/mcp_servers", "GET /api/mcp_servers", "GET /api/mcp_servers",
 "GET /other/api/mcp_servers", "GET /other/api/mcp_servers"]
--- more_headers eval
["Host: api.example.net", "Host: box.lab.test", "Host: localhost",
 "Host: localhost", "Host: api.example.net"]
--- error_code eval
[200, 200, 400, 200, 400]



=== TEST 6: a bad hangar_trusted_hosts pattern fails nginx -t
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; hangar_trusted_hosts *example.com; }
--- must_die
--- error_log
"hangar_trusted_hosts" directive takes host names, "*.domain" or "*"



=== TEST 7: no Host (HTTP/1.0) stands for the address the request came to
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location /strict/api/ { hangar_api; hangar_trusted_hosts hangar.example.org; }
--- raw_request eval
["GET /api/mcp_servers HTTP/1.0\r\n\r\n", "GET /strict/api/mcp_servers HTTP/1.0\r\n\r\n"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^\{"mcp_servers":\[\]\}$/, qr/"message":"Invalid host header: \\"127.0.0.1\\" is not a trusted host/]



=== TEST 8: writes with a body must be application/json (415, nothing changes)
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "GET /api/mcp_servers"]
--- more_headers eval
["Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
 "Content-Type: multipart/form-data; boundary=x", "Content-Type: application/jsonp", ""]
--- error_code eval
[415, 415, 415, 415, 200]
--- response_body eval
['{"error":"UnsupportedMediaTypeError","message":"a request body must be JSON: Content-Type \"text/plain\" is not application/json","status_code":415}',
 '{"error":"UnsupportedMediaTypeError","message":"a request body must be JSON: Content-Type \"application/x-www-form-urlencoded\" is not application/json","status_code":415}',
 '{"error":"UnsupportedMediaTypeError","message":"a request body must be JSON: Content-Type \"multipart/form-data; boundary=x\" is not application/json","status_code":415}',
 '{"error":"UnsupportedMediaTypeError","message":"a request body must be JSON: Content-Type \"application/jsonp\" is not application/json","status_code":415}',
 '{"mcp_servers":[]}']



=== TEST 9: a body without a Content-Type is refused too, chunked or not
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- raw_request eval
["POST /api/mcp_servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
 "PUT /api/mcp_servers/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
 "DELETE /api/mcp_servers/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"]
--- error_code eval
[415, 415, 415]
--- response_body_like eval
[qr/Content-Type \\"\\" is not application\/json/, qr/UnsupportedMediaTypeError/, qr/UnsupportedMediaTypeError/]



=== TEST 10: JSON with parameters, any case; writes without a body need none
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\"]}",
 "PATCH /api/mcp_servers/a\n{\"description\":\"d\"}",
 "POST /api/mcp_servers/a/stop",
 "DELETE /api/mcp_servers/a"]
--- more_headers eval
["Content-Type: application/json; charset=utf-8", "Content-Type: Application/JSON",
 "Content-Length: 0", ""]
--- error_code eval
[201, 200, 200, 200]



=== TEST 11: a server through the API runs an allowed program, args clean
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"/usr/bin/python3\",\"-m\",\"srv\",\"--flag=a,b\"],\"args\":[\"x y\",\"50%\"],\"env\":{\"NPM_TOKEN\":\"mine\",\"_X1\":\"\"}}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"b\",\"mode\":\"subprocess\",\"command\":[\"npx\",\"-y\",\"\@modelcontextprotocol/server-everything\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"c\",\"mode\":\"remote\",\"endpoint\":\"https://mcp.example.com/mcp\",\"http\":{\"headers\":{\"X-Tenant\":\"t 1\\tx\"}},\"auth\":{\"type\":\"bearer\",\"bearer_token\":\"abc.def\"}}",
 "GET /api/mcp_servers"]
--- error_code eval
[201, 201, 201, 200]



=== TEST 12: an update is checked on what it changes
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"node\",\"s.js\"]}",
 "PATCH /api/mcp_servers/a\n{\"command\":[\"sh\",\"-c\",\"id\"]}",
 "PUT /api/mcp_servers/a\n{\"args\":[\"; id\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"r\",\"mode\":\"remote\",\"endpoint\":\"http://203.0.113.7/mcp\"}",
 "PATCH /api/mcp_servers/r\n{\"endpoint\":\"http://169.254.169.254/\"}",
 "PATCH /api/mcp_servers/r\n{\"http\":{\"headers\":{\"X\":\"a\\r\\nb\"}}}",
 "GET /api/mcp_servers/a", "GET /api/mcp_servers/r"]
--- error_code eval
[201, 422, 422, 201, 400, 422, 200, 200]
--- response_body_like eval
[qr/created/, qr/"field":"command\[0\]"/, qr/"field":"args\[0\]"/, qr/created/,
 qr/^\{"error":"ssrf_blocked","message":"endpoint: the host \\"169.254.169.254\\" is refused \(169.254.0.0\/16\)/,
 qr/"field":"http.headers.X"/, qr/"mcp_server_id":"a"/, qr/"mcp_server_id":"r"/]
--- error_log
hangar: refused: endpoint: the host "169.254.169.254"



=== TEST 13: execution.allowed_commands replaces the list; hangar.yaml servers are trusted
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution:
  allowed_commands: [perl, mytool]
mcp_servers:
  shell:
    mode: subprocess
    command: [sh, -c, "exec perl server.pl > /dev/null"]
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"perl\",\"x.pl\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"b\",\"mode\":\"subprocess\",\"command\":[\"/opt/bin/mytool\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"c\",\"mode\":\"subprocess\",\"command\":[\"python3\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"d\",\"mode\":\"docker\",\"image\":\"alpine\"}",
 "GET /api/mcp_servers/shell"]
--- error_code eval
[201, 201, 422, 422, 200]
--- response_body_like eval
[qr/created/, qr/created/, qr/allowed: perl, mytool \(an operator adds/,
 qr/"message":"mode: \\"docker\\" is not an allowed command \(containers run through it\)/,
 qr/"mcp_server_id":"shell"/]



=== TEST 14: MCP_ALLOWED_COMMANDS replaces the default; hangar.yaml wins over it
--- env
MCP_ALLOWED_COMMANDS=perl, ruby
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"ruby\",\"x.rb\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"b\",\"mode\":\"subprocess\",\"command\":[\"node\"]}"]
--- error_code eval
[201, 422]
--- response_body_like eval
[qr/created/, qr/allowed: perl, ruby \(/]



=== TEST 15: with both, the YAML list is the one
--- env
MCP_ALLOWED_COMMANDS=ruby
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: {allowed_commands: [perl], max_concurrency: 50}
mcp_servers: {}
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"subprocess\",\"command\":[\"ruby\"]}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"b\",\"mode\":\"subprocess\",\"command\":[\"perl\"]}"]
--- error_code eval
[422, 201]



=== TEST 16: execution.allowed_commands takes program names only
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution:
  allowed_commands: [perl, /usr/bin/python3]
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:2:28: execution\.allowed_commands\[1\]: a program name without a directory/



=== TEST 17: execution.remote_allow takes networks only
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution:
  remote_allow: [10.0.0.0/8, 300.1.2.3/8]
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:2:30: execution\.remote_allow\[1\]: "300\.1\.2\.3\/8" is not an address or a network/



=== TEST 18: execution must be a mapping; an unknown key in it is a warning
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution: [perl]
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:1:12: execution: must be a mapping/



=== TEST 19: execution.remote_allow opens a network to remotes of the API
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
execution:
  remote_allow: [127.0.0.1/32, 10.20.0.0/16, "fd00::/8"]
--- request eval
["POST /api/mcp_servers\n{\"mcp_server_id\":\"a\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.1:9/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"b\",\"mode\":\"remote\",\"endpoint\":\"http://localhost:9/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"c\",\"mode\":\"remote\",\"endpoint\":\"http://10.20.3.4/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"d\",\"mode\":\"remote\",\"endpoint\":\"http://[fd00::7]/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"e\",\"mode\":\"remote\",\"endpoint\":\"http://127.0.0.2/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"f\",\"mode\":\"remote\",\"endpoint\":\"http://10.21.0.1/mcp\"}",
 "POST /api/mcp_servers\n{\"mcp_server_id\":\"g\",\"mode\":\"remote\",\"endpoint\":\"http://metadata.google.internal/\"}"]
--- error_code eval
[201, 201, 201, 201, 400, 400, 400]



=== TEST 20: header values in hangar.yaml are refused by nginx -t with their path
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  api:
    mode: remote
    endpoint: http://127.0.0.1:9/mcp
    http:
      headers: {X-Tenant: "a\r\nX-Injected: 1"}
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:6:\d+: mcp_servers\.api\.http\.headers\.X-Tenant: must not contain CR, LF or other control characters/



=== TEST 21: an auth value of hangar.yaml with a LF fails nginx -t
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  api:
    mode: remote
    endpoint: http://127.0.0.1:9/mcp
    auth: {type: bearer, bearer_token: "tok\nGET /admin HTTP/1.1"}
--- must_die
--- error_log eval
qr/\[emerg\].*mcp_servers\.api\.auth\.bearer_token: must not contain CR, LF/



=== TEST 22: hangar.yaml servers may reach any address (trusted)
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
mcp_servers:
  local:
    mode: remote
    endpoint: http://127.0.0.1:9/mcp
  meta:
    mode: remote
    endpoint: http://169.254.169.254/mcp
    http: {headers: {X-Ok: "v"}}
--- request eval
["GET /api/mcp_servers/local", "GET /api/mcp_servers/meta"]
--- error_code eval
[200, 200]
