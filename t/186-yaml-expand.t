# ${VAR} interpolation in hangar.yaml is bounded: references to a big
# variable cannot make gigabytes inside "nginx -t"; the error names the
# file, line and column.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: 20,000 references to a 100 KB variable are refused
--- env eval
"HANGAR_TEST_BIG=" . ("x" x 100000) . "\n"
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files eval
">>> conf/hangar.yaml\nmcp_servers:\n  math:\n    command: [perl]\n"
. "    description: \"" . ('${HANGAR_TEST_BIG}' x 20000) . "\"\n"
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+\/conf\/hangar\.yaml:4:18: \$\{VAR\} interpolation makes more than 1048576 bytes of values/



=== TEST 2: the bound is on the whole file: 60 values of 20 KB
--- env eval
"HANGAR_TEST_BIG=" . ("x" x 20000) . "\n"
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files eval
">>> conf/hangar.yaml\nmcp_servers:\n"
. CORE::join('', map { "  s$_:\n    command: [perl]\n    env: {BIG: \"\${HANGAR_TEST_BIG}\"}\n" } 1 .. 60)
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+\/conf\/hangar\.yaml:\d+:\d+: \$\{VAR\} interpolation makes more than 1048576 bytes of values/



=== TEST 3: values within the bound are interpolated
--- env eval
"HANGAR_TEST_BIG=" . ("x" x 4000) . "\n"
--- http_config
    hangar_zone hangar 4m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files eval
">>> conf/hangar.yaml\nmcp_servers:\n"
. CORE::join('', map { "  s$_:\n    command: [perl]\n    description: \"\${HANGAR_TEST_BIG}\"\n" } 1 .. 10)
--- request
GET /api/mcp_servers/s10
--- response_body_like: "description":"x{4000}"
