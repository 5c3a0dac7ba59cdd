# Authentication and RBAC: loopback-only while auth is off, API keys
# declared in hangar.yaml (by value from the environment and by SHA-256),
# every /api/ route against every built-in role, the principal from an
# nginx variable (auth_basic), bearer API keys, and nginx -t on every key
# of the auth: section.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Digest::SHA qw(sha256_hex);
use MIME::Base64 ();

my $REPO = "$FindBin::Bin/..";
my $json = JSON::PP->new->canonical;

sub api {
    my ($method, $uri, $body, $h) = @_;
    $h = { %{ $h || {} } };
    $h->{'Content-Type'} //= 'application/json' if defined $body;
    my ($st, $hd, $b) = http_request($method, $uri, $body, $h);
    return ($st, eval { $json->decode($b // '') }, $hd, $b);
}

sub error_log () { Hangar::Test::slurp(servroot() . '/logs/error.log') // '' }

my %key = map { $_ => "mcp_test_${_}_" . ('k' x 24) }
    qw(admin provider-admin developer viewer auditor service-account tenant);
my $admin_env = 'mcp_from_the_environment_0123456789';

# ---- auth off: loopback only ----------------------------------------------

my $realip = "    set_real_ip_from 127.0.0.1;\n    real_ip_header X-Real-IP;\n";
my $http_base = "    hangar_zone hangar 1m;\n"
              . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
              . "    hangar_state \$TEST_NGINX_STATE_DIR;\n" . $realip;
my $locations = "location /api/ { hangar_api; }\n"
              . "location = /mcp { hangar_mcp; }\n"
              . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n"
              . "location /health/ { hangar_health; }\n"
              . "location = /metrics { hangar_metrics; }\n";

nginx_start({
    workers     => 2,
    http_config => $http_base,
    config      => $locations,
    user_files  => ">>> conf/hangar.yaml\nmcp_servers: {}\n",
});

my ($st, $doc, $h) = api(GET => '/api/mcp_servers');
is($st, 200, 'auth off: a loopback client reaches /api/');
($st, $doc) = api(GET => '/api/system/me');
is_deeply($doc, { authenticated => JSON::PP::false, principal => undef },
          'auth off: /api/system/me says not authenticated');

my $remote = { 'X-Real-IP' => '192.0.2.10' };
($st, $doc) = api(GET => '/api/mcp_servers', undef, $remote);
is($st, 403, 'auth off: a remote client (realip) gets 403 on /api/');
is($doc->{error}, 'LoopbackOnlyError', '... with the envelope');
like($doc->{message}, qr/auth\.enabled: true.*hangar_unsafe_no_auth on/s,
     '... that says how to enable auth or open hangar');
is($doc->{status_code}, 403, '... and its status');
($st) = api(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}', $remote);
is($st, 403, 'auth off: a remote client gets 403 on /mcp');
($st) = api(POST => '/mcp/any', '{}', $remote);
is($st, 403, 'auth off: a remote client gets 403 on the pass-through');
($st) = api(GET => '/health/live', undef, $remote);
is($st, 200, 'auth off: /health/ stays open to remote clients');
($st) = api(GET => '/metrics', undef, $remote);
is($st, 200, 'auth off: /metrics stays open to remote clients');
($st) = api(GET => '/api/mcp_servers', undef, { 'X-Real-IP' => '127.0.0.9' });
is($st, 200, 'auth off: any 127/8 address is loopback');
($st) = api(GET => '/api/mcp_servers', undef, { 'X-Real-IP' => '::1' });
is($st, 200, 'auth off: ::1 is loopback');
($st) = api(GET => '/api/mcp_servers', undef, { 'X-Real-IP' => '::ffff:10.1.2.3' });
is($st, 403, 'auth off: a v4-mapped private address is not');
like(error_log(), qr/a client from 192\.0\.2\.10 was refused: auth is off/,
     'the refusal is logged with the address');

# the explicit switch opens it, and nginx -t warns
nginx_start({
    http_config => $http_base . "    hangar_unsafe_no_auth on;\n",
    config      => $locations,
    user_files  => ">>> conf/hangar.yaml\nmcp_servers: {}\n",
});
($st) = api(GET => '/api/mcp_servers', undef, $remote);
is($st, 200, 'hangar_unsafe_no_auth on: a remote client is served');
my $t = qx{$ENV{NGINX_BIN} -p @{[servroot()]}/ -c conf/nginx.conf -t 2>&1}
    if $ENV{NGINX_BIN};
$t = qx{/usr/sbin/nginx -p @{[servroot()]}/ -c @{[servroot()]}/conf/nginx.conf -t 2>&1}
    unless $ENV{NGINX_BIN};
like($t, qr/\[warn\].*"hangar_unsafe_no_auth" is on and auth is off/,
     'nginx -t warns when hangar_unsafe_no_auth is on with auth off');

# ---- auth on -----------------------------------------------------------------

my $keys_yaml = join '', map {
    "    - {name: $_-key, principal_id: \"svc:$_\", key: \"$key{$_}\"}\n"
} grep { $_ ne 'admin' && $_ ne 'tenant' } sort keys %key;
my $assign_yaml = join '', map {
    "    - {principal: \"svc:$_\", role: $_}\n"
} grep { $_ ne 'admin' && $_ ne 'tenant' } sort keys %key;

my $yaml = <<"YAML";
auth:
  enabled: true
  api_keys:
    - {name: bootstrap, principal_id: admin, key: "\${HANGAR_ADMIN_KEY}"}
    - {name: hashed, principal_id: "user:hashed", key_sha256: "@{[sha256_hex($key{admin})]}"}
    - {name: tenant-key, principal_id: "user:t", key: "$key{tenant}", tenant_id: acme, groups: [ops]}
$keys_yaml  role_assignments:
    - {principal: admin, role: admin}
    - {principal: "user:hashed", role: admin}
    - {principal: "user:t", role: viewer, scope: "tenant:acme"}
    - {principal: "group:ops", role: developer, scope: "tenant:other"}
    - {principal: "web:alice", role: viewer}
$assign_yaml
mcp_servers: {}
YAML

my $htpasswd = qx{openssl passwd -apr1 secret}; chomp $htpasswd;
nginx_start({
    workers     => 2,
    http_config => $http_base,
    env         => "HANGAR_ADMIN_KEY=$admin_env\n",
    config      => $locations
                 . "location /web/api/ { auth_basic hangar; "
                 . "auth_basic_user_file \$TEST_NGINX_SERVROOT/conf/htpasswd; "
                 . "hangar_auth_principal web:\$remote_user; hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml>>> conf/htpasswd\nalice:$htpasswd\n",
});

($st, $doc, $h) = api(GET => '/api/mcp_servers');
is($st, 401, 'auth on: no credential is 401');
is($doc->{error}, 'MissingCredentialsError', '... MissingCredentialsError');
is($doc->{message}, 'Authentication required', '... with its message');
is_deeply($doc->{details}, { auth_method => 'none' }, '... and details');
is($h->{'www-authenticate'}, 'Bearer, ApiKey', '... and WWW-Authenticate');
($st) = api(GET => '/api/mcp_servers', undef, { 'X-Real-IP' => '192.0.2.10' });
is($st, 401, 'auth on: remote clients are no longer refused for being remote');
($st) = api(GET => '/health/ready');
ok($st == 200 || $st == 503, 'auth on: /health/ready needs no credential');
($st) = api(GET => '/metrics');
is($st, 200, 'auth on: /metrics needs no credential');

# every message of hangar-security.md §1.3
my @bad = (
    [''                          => 'API key header is empty'],
    ['mcp_' . ('x' x 253)        => 'API key exceeds maximum length'],
    ['abc_notakey'               => "Invalid API key format: must start with 'mcp_'"],
    ['mcp_unknown_key_000000000' => 'Invalid API key'],
);
for my $b (@bad) {
    ($st, $doc) = api(GET => '/api/mcp_servers', undef, { 'X-API-Key' => $b->[0] });
    is("$st $doc->{error}: $doc->{message}", "401 AuthenticationError: $b->[1]",
       "key '" . substr($b->[0], 0, 12) . "...': $b->[1]");
}
is_deeply($doc->{details}, { auth_method => 'api_key' }, 'the details name the method');

($st, $doc) = api(GET => '/api/system/me', undef, { 'X-API-Key' => $admin_env });
is($st, 200, 'the bootstrap key from the environment authenticates');
is_deeply($doc, { authenticated => JSON::PP::true,
                  principal => { id => 'admin', type => 'service_account',
                                 tenant_id => undef, groups => [],
                                 auth_method => 'api_key',
                                 key_name => 'bootstrap' } },
          '/api/system/me reports the principal');
($st, $doc) = api(GET => '/api/system/me', undef, { 'x-api-KEY' => $key{admin} });
is($doc->{principal}{id}, 'user:hashed', 'a key declared by its SHA-256 authenticates (header name in any case)');
($st, $doc) = api(GET => '/api/system/me', undef, { Authorization => "Bearer $key{tenant}" });
is_deeply([$doc->{principal}{id}, $doc->{principal}{tenant_id}, $doc->{principal}{groups}],
          ['user:t', 'acme', ['ops']], 'an API key as a bearer token; its tenant and groups');
($st, $doc) = api(GET => '/api/mcp_servers', undef, { Authorization => 'Bearer eyJhbGciOi.x.y' });
is("$st $doc->{error}", '401 AuthenticationError', 'a JWT with no OIDC issuer configured is refused');
($st, $doc) = api(GET => '/api/mcp_servers', undef, { Authorization => 'Bearer ' });
is($doc->{message}, 'Empty Bearer token', 'an empty bearer token: its message');

# tenant scope: viewer at tenant:acme applies to the acme key only
($st) = api(GET => '/api/mcp_servers', undef, { 'X-API-Key' => $key{tenant} });
is($st, 200, 'a tenant-scoped assignment applies to a caller with that tenant');
($st) = api(POST => '/api/mcp_servers', '{}', { 'X-API-Key' => $key{tenant} });
is($st, 403, '... with the powers of its role only (viewer cannot write)');

# the principal from an nginx variable (auth_basic)
($st, $doc) = api(GET => '/web/api/system/me', undef,
                  { Authorization => 'Basic ' . MIME::Base64::encode_base64('alice:secret', '') });
is($doc->{principal}{id}, 'web:alice', 'hangar_auth_principal: the principal from $remote_user');
is($doc->{principal}{auth_method}, 'variable', '... by the variable method');
($st) = api(GET => '/web/api/mcp_servers', undef,
            { Authorization => 'Basic ' . MIME::Base64::encode_base64('alice:secret', '') });
is($st, 200, '... with the role assigned to it');
($st) = api(GET => '/web/api/mcp_servers', undef,
            { Authorization => 'Basic ' . MIME::Base64::encode_base64('alice:wrong', '') });
is($st, 401, 'auth_basic still guards its location');

# ---- every route x every built-in role --------------------------------------

my %perms = (
    admin => ['*:*'],
    'provider-admin' => [qw(mcp_servers:read policy:read policy:write tool:invoke
        tool:list metrics:read group:create group:read group:update group:delete
        group:list discovery:read discovery:trigger discovery:approve
        approval:read approval:resolve)],
    developer => [qw(mcp_servers:read mcp_servers:write mcp_servers:lifecycle
        tool:invoke tool:list group:read group:list discovery:read)],
    viewer => [qw(mcp_servers:read tool:list metrics:read group:read group:list
        discovery:read)],
    auditor => [qw(audit:read metrics:read group:list discovery:read approval:read)],
    'service-account' => [qw(tool:invoke tool:list)],
);

sub grants {
    my ($role, $perm) = @_;
    return 1 if $perm eq 'authenticated';
    my ($rt, $ac) = split /:/, $perm;
    for (@{ $perms{$role} }) {
        my ($grt, $gac) = split /:/;
        return 1 if ($grt eq '*' || $grt eq $rt) && ($gac eq '*' || $gac eq $ac);
    }
    return 0;
}

# the route tables, from the sources: every route has a permission
my @routes;
for my $f (glob "$REPO/src/http/*.c") {
    my $src = Hangar::Test::slurp($f);
    while ($src =~ /\{\s*((?:NGX_HTTP_[A-Z]+\|?)+),\s*"(\/[^"]*)",\s*("[^"]*"|NULL),/g) {
        my ($m, $pat, $perm) = ($1, $2, $3);
        push @routes, [$m, $pat, $perm, $f =~ s{.*/}{}r];
    }
}
ok(@routes >= 19, scalar(@routes) . ' routes found in the route tables');
for my $r (@routes) {
    like($r->[2], qr/^"(authenticated|[a-z_*]+:[a-z_*]+)"$/,
         "$r->[0] $r->[1] has a permission ($r->[2])");
}

my $checked = 0;
for my $r (@routes) {
    my ($methods, $pat, $perm) = @$r;
    $perm =~ s/"//g;
    (my $path = "/api$pat") =~ s/\{[^}]+\}/x/g;
    for my $m (map { s/NGX_HTTP_//r } split /\|/, $methods) {
        next if $m eq 'HEAD';
        my $body = $m =~ /^(POST|PUT|PATCH)$/ ? '{}' : undef;
        ($st) = api($m => $path, $body);
        is($st, 401, "$m $path without a credential: 401");
        for my $role (sort keys %perms) {
            my $k = $role eq 'admin' ? $admin_env : $key{$role};
            ($st, $doc) = api($m => $path, $body, { 'X-API-Key' => $k });
            if (grants($role, $perm)) {
                ok($st != 401 && $st != 403, "$m $path as $role: allowed ($st)");
            } else {
                is("$st " . ($doc->{error} // ''), '403 AccessDeniedError',
                   "$m $path as $role: 403");
            }
            $checked++;
        }
    }
}
ok($checked >= 120, "$checked route x role checks");

# an unknown route: 403 for an authenticated caller (permissions first)
($st, $doc) = api(GET => '/api/no/such/route', undef, { 'X-API-Key' => $admin_env });
is($st, 403, 'an unknown route, even for an admin: 403 (no route, no permission)');
($st, $doc) = api(GET => '/api/no/such/route', undef, { 'X-API-Key' => $key{viewer} });
is("$st $doc->{error}", '403 AccessDeniedError', 'an unknown route for a viewer: 403, fail closed');
like($doc->{message}, qr/route has no permission mapping/, '... says why');
($st, $doc) = api(POST => '/api/mcp_servers', '{}', { 'X-API-Key' => $key{viewer} });
is($doc->{message}, 'Access denied: svc:viewer cannot write on mcp_servers:* (no_matching_permission)',
   'the denial names the principal, the action and the resource');
is_deeply($doc->{details}, { principal_id => 'svc:viewer', action => 'write',
                             resource => 'mcp_servers:*', reason => 'no_matching_permission' },
          '... with details');
($st) = api(OPTIONS => '/api/mcp_servers', undef, { Origin => 'http://localhost:5173',
            'Access-Control-Request-Method' => 'POST' });
is($st, 204, 'a CORS preflight needs no credential');

# the front door and the pass-through need a principal too
($st, $doc) = api(POST => '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}');
is($st, 401, '/mcp without a credential: 401');
($st) = api(POST => '/mcp/nothing', '{}');
is($st, 401, 'the pass-through without a credential: 401');
($st) = api(POST => '/mcp/nothing', '{}', { 'X-API-Key' => $key{viewer} });
is($st, 404, 'the pass-through with a key goes on (an unknown server: 404)');

# every decision is logged at info with the principal, never the key
my $log = error_log();
like($log, qr/AuthorizationDenied: principal "svc:viewer"/, 'denials are logged with the principal');
like($log, qr/AuthenticationFailed: principal "-" from 127\.0\.0\.1: api_key: Invalid API key/,
     'failures are logged with the reason');
# (nginx's own debug lines echo request headers; hangar's lines never do)
my $ours = join "\n", grep { !/\[debug\]/ } split /\n/, $log;
unlike($ours, qr/\Q$admin_env\E|\Q$key{viewer}\E/, 'no key appears in the log');

# ---- nginx -t on the auth: section ----------------------------------------------

sub conf_test {
    my ($auth) = @_;
    Hangar::Test::write_file(servroot() . '/conf/hangar.yaml', "$auth\nmcp_servers: {}\n");
    my $bin = $ENV{NGINX_BIN} || '/usr/sbin/nginx';
    return scalar qx{$bin -p @{[servroot()]}/ -c @{[servroot()]}/conf/nginx.conf -t 2>&1};
}

my @conf = (
    ["auth: {enabled: true, opa: {enabled: true}}", qr/auth\.opa\.enabled: OPA authorization is not supported/],
    ["auth: {enabled: true, opa: {enabled: false, url: 'http://x'}}", qr/test is successful/],
    ["auth: {enabled: yes please}", qr/auth\.enabled: expected true or false/],
    ["auth: {enabled: true, tokens: 1}", qr/auth\.tokens: unknown key/],
    ["auth: {api_key: {header: X-Key}}", qr/auth\.api_key\.header: unknown key/],
    ["auth: {api_key: {header_name: 'X Key'}}", qr/is not a header name/],
    ["auth: {storage: {driver: postgresql}}", qr/auth\.storage\.driver: "postgresql" is not supported/],
    ["auth: {storage: {driver: sqlite, path: data/auth.db}}", qr/test is successful/],
    ["auth: {api_keys: [{name: a, principal_id: p, key: mcp_short}]}", qr/auth\.api_keys\[0\]\.key: "mcp_" and at least 16/],
    ["auth: {api_keys: [{name: a, principal_id: p, key: \"\${NOT_SET_ANYWHERE:-}\"}]}", qr/is the environment variable it names set/],
    ["auth: {api_keys: [{name: a, principal_id: p, key_sha256: abc}]}", qr/key_sha256: 64 hexadecimal digits/],
    ["auth: {api_keys: [{name: a, principal_id: 'bad id', key: mcp_0123456789abcdef0}]}", qr/principal_id: 1 to 256/],
    ["auth: {api_keys: [{name: a, principal_id: p, key: mcp_0123456789abcdef0, key_sha256: '@{[ '0' x 64 ]}'}]}", qr/exactly one of/],
    ["auth: {api_keys: [{name: a, principal_id: p, key: mcp_0123456789abcdef0, role: admin}]}", qr/api_keys\[0\]\.role: unknown key/],
    ["auth: {api_keys: [{name: a, principal_id: p, key: mcp_0123456789abcdef0}, {name: a, principal_id: q, key: mcp_0123456789abcdef1}]}", qr/the same key or name/],
    ["auth: {role_assignments: [{principal: p, role: superuser}]}", qr/role_assignments\[0\]\.role: no role "superuser"/],
    ["auth: {role_assignments: [{principal: p, role: admin, scope: '*'}]}", qr/scope: "global" or "tenant:<id>"/],
    ["auth: {role_assignments: [{principal: p, role: admin, scpoe: global}]}", qr/scpoe: unknown key/],
);
for my $c (@conf) {
    like(conf_test($c->[0]), $c->[1], "nginx -t: $c->[0]");
}

Test::More::done_testing();
