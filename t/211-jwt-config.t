# auth.oidc of hangar.yaml: every key checked by nginx -t (even with OIDC off),
# errors with file, line, column and path; jwks_file read and validated at
# configuration time; resource_uri in the RFC 9728 document.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;

run_tests();

__DATA__
=== TEST 1: an unknown key is refused, with its path and position
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_uri: https://idp.example/jwks
    audiense: typo
--- must_die
--- error_log eval
qr/\[emerg\].*hangar_config: \S+conf\/hangar\.yaml:8:15: auth\.oidc\.audiense: unknown key/



=== TEST 2: keys are checked even when OIDC is off
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: false
    clock_skew_leeway: 60
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.clock_skew_leeway: unknown key/



=== TEST 3: seconds must be a number
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    max_token_lifetime_seconds: "3600"
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:7:33: auth\.oidc\.max_token_lifetime_seconds: must be a number of seconds/



=== TEST 4: a negative leeway is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    clock_skew_leeway_seconds: -5
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.clock_skew_leeway_seconds: must be a number of seconds/



=== TEST 5: a flag must be a boolean
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    require_tenant: "yes"
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.require_tenant: must be true or false/



=== TEST 6: an issuers[] entry is checked with its index
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    audience: hangar
    issuers:
      - issuer: https://a.example
      - issuer: https://b.example
        audience: 5
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:9:19: auth\.oidc\.issuers\[1\]\.audience: must be a non-empty string/



=== TEST 7: issuers[] cannot nest
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    audience: hangar
    issuers:
      - issuer: https://a.example
        issuers: []
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.issuers\[0\]\.issuers: unknown key/



=== TEST 8: the same issuer twice is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    audience: hangar
    issuers:
      - issuer: https://a.example
      - issuer: https://a.example
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.issuers\[1\]\.issuer: "https:\/\/a\.example" is given twice/



=== TEST 9: an enabled OIDC needs an issuer
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    audience: hangar
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.issuer: is required/



=== TEST 10: and an audience (or resource_uri)
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.audience: is required \(or resource_uri\)/



=== TEST 11: an issuer that is not a URL needs jwks_uri or jwks_file
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: my-idp
    audience: hangar
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.issuer: is not an http\(s\) URL, so its keys cannot be discovered/



=== TEST 12: jwks_uri must be http(s)
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_uri: file:///etc/jwks.json
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.jwks_uri: must be an http:\/\/ or https:\/\/ URL/



=== TEST 13: jwks_file and jwks_uri exclude each other
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_uri: https://idp.example/jwks
    jwks_file: jwks.json
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.jwks_uri: jwks_file and jwks_uri exclude each other/



=== TEST 14: a missing jwks_file is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_file: no-such.json
--- must_die
--- error_log eval
qr/\[emerg\].*hangar\.yaml:7:16: auth\.oidc\.jwks_file: \S+conf\/no-such\.json: cannot open/



=== TEST 15: a jwks_file without a usable key is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_file: jwks.json
>>> conf/jwks.json
{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.jwks_file: \S+: the key set has no RS256 or ES256 signing key/



=== TEST 16: a broken key in a jwks_file is refused
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_file: jwks.json
>>> conf/jwks.json
{"keys":[{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.jwks_file: \S+: key 0 of the set: an invalid P-256 key/



=== TEST 17: strict_tenant_audience needs tenant_audiences
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_file: jwks.json
    strict_tenant_audience: true
>>> conf/jwks.json
{"keys":[{"crv":"P-256","kid":"c1","kty":"EC","use":"sig","x":"cE2TjlCRht2P0EQzaennt4k-KWg7ZdZEWZNmjRcv-24","y":"v0dZg35y0jW7NvQfU_EK587KLrH6uN0NN-SH7vz1dQo"}]}
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.oidc\.tenant_audiences: is required with strict_tenant_audience/



=== TEST 18: the environment sets the default lifetime, and must be a number
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    issuer: https://idp.example
    audience: hangar
    jwks_file: jwks.json
>>> conf/jwks.json
{"keys":[{"crv":"P-256","kid":"c1","kty":"EC","use":"sig","x":"cE2TjlCRht2P0EQzaennt4k-KWg7ZdZEWZNmjRcv-24","y":"v0dZg35y0jW7NvQfU_EK587KLrH6uN0NN-SH7vz1dQo"}]}
--- main_config
env MCP_JWT_MAX_TOKEN_LIFETIME;
--- env
MCP_JWT_MAX_TOKEN_LIFETIME=an-hour
--- must_die
--- error_log eval
qr/\[emerg\].*MCP_JWT_MAX_TOKEN_LIFETIME "an-hour" is not a number of seconds/



=== TEST 19: a valid configuration: resource_uri is the resource of the RFC 9728 document
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: true
    resource_uri: https://hangar.example/mcp
    issuers:
      - issuer: https://a.example
        jwks_file: jwks.json
      - issuer: https://b.example
        enabled: false
      - issuer: https://c.example
        jwks_uri: https://c.example/keys
>>> conf/jwks.json
{"keys":[{"crv":"P-256","kid":"c1","kty":"EC","use":"sig","x":"cE2TjlCRht2P0EQzaennt4k-KWg7ZdZEWZNmjRcv-24","y":"v0dZg35y0jW7NvQfU_EK587KLrH6uN0NN-SH7vz1dQo"}]}
--- request
GET /.well-known/oauth-protected-resource
--- error_code: 200
--- response_body
{"resource":"https://hangar.example/mcp","authorization_servers":["https://a.example","https://c.example"]}
--- no_error_log
[emerg]
[alert]



=== TEST 20: OIDC off: no issuer to name
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
  oidc:
    enabled: false
    issuer: https://a.example
--- request
GET /.well-known/oauth-protected-resource
--- error_code: 404
--- response_body
{"error":"not_found","message":"No OIDC issuer configured"}
--- no_error_log
[emerg]
[alert]



=== TEST 21: the document answers GET and HEAD only
--- http_config
    hangar_zone hangar 1m;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
    hangar_state $TEST_NGINX_STATE_DIR;
--- config
    location /api/ { hangar_api; }
    location = /.well-known/oauth-protected-resource { hangar_protected_resource; }
--- user_files
>>> conf/hangar.yaml
auth:
  enabled: true
--- request
POST /.well-known/oauth-protected-resource
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- no_error_log
[alert]
