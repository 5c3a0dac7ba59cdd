# hangar.yaml "discovery:": what nginx -t refuses, and the API without it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__

=== TEST 1: an unknown source type fails nginx -t with its path
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
discovery:
  enabled: true
  sources:
    - type: entrypoint
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+hangar\.yaml:4:13: discovery\.sources\[0\]\.type: must be one of filesystem/



=== TEST 2: an unknown mode fails nginx -t
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
discovery:
  enabled: true
  sources:
    - type: filesystem
      mode: sometimes
--- must_die
--- error_log eval
qr/\[emerg\].*discovery\.sources\[0\]\.mode: must be one of additive/



=== TEST 3: a source without a type, and two of one type, fail nginx -t
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
discovery:
  enabled: true
  sources:
    - type: filesystem
    - type: filesystem
      path: /tmp
--- must_die
--- error_log eval
qr/\[emerg\].*discovery\.sources\[1\]: a second source of type filesystem/



=== TEST 4: wrong types in the block fail nginx -t
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
discovery:
  enabled: true
  refresh_interval_s: soon
--- must_die
--- error_log eval
qr/\[emerg\].*discovery\.refresh_interval_s: /



=== TEST 5: without a discovery block every endpoint answers 404 DiscoveryNotConfigured
--- http_config
    hangar_zone hangar 1m;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- request eval
[
"GET /api/discovery/sources",
"POST /api/discovery/sources\n{\"source_type\":\"filesystem\",\"mode\":\"additive\"}",
"PUT /api/discovery/sources/x\n{\"mode\":\"additive\"}",
"DELETE /api/discovery/sources/x",
"POST /api/discovery/sources/x/scan",
"PUT /api/discovery/sources/x/enable\n{\"enabled\":true}",
"GET /api/discovery/pending",
"GET /api/discovery/quarantined",
"POST /api/discovery/approve/x",
"POST /api/discovery/reject/x",
]
--- error_code eval
[404, 404, 404, 404, 404, 404, 404, 404, 404, 404]
--- response_body_like eval
[("DiscoveryNotConfigured") x 10]



=== TEST 6: a block with enabled false is the same as none
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
--- user_files
>>> conf/hangar.yaml
discovery:
  enabled: false
  sources:
    - type: filesystem
--- request
GET /api/discovery/pending
--- error_code: 404
--- response_body_like: DiscoveryNotConfigured
