# The /api/auth/ management API: API keys, custom roles, assignments,
# principals, the permission vocabulary and check-permission; every answer
# and error; what is kept in the state file's "auth" document (never a raw
# key), across reload and restart; concurrent changes from two workers.
# The second half turns auth on: keys made through the API authenticate
# at once on both workers, stop at revocation and at expiry, and a custom
# role's permissions take effect at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use Digest::SHA ();
use POSIX ();

my $json = JSON::PP->new->canonical;
my $FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
die "libfaketime is missing ($FAKETIME): make deps installs it\n" unless -f $FAKETIME;
my $CLOCK = servroot() . '.faketime';

# the offset of nginx's wall clock, read by libfaketime at every call
sub wall_clock ($) {
    open my $fh, '>', "$CLOCK.tmp" or die "$CLOCK: $!";
    print $fh "$_[0]\n";
    close $fh;
    rename "$CLOCK.tmp", $CLOCK or die "$CLOCK: $!";
}

our $KEY;    # the X-API-Key of every request, when set

sub api ($$;$$) {
    my ($method, $uri, $body, $headers) = @_;
    my %h = (%{ $headers // {} }, $KEY ? ('X-API-Key' => $KEY) : ());
    $h{'Content-Type'} //= 'application/json' if defined $body;
    my ($st, $hd, $b) = http_request($method, $uri, $body, \%h);
    return ($st, eval { $json->decode($b) } // $b, $hd);
}

# a request answered by the given worker (fresh connections until it is)
sub on_worker ($$$;$$) {
    my ($pid, $method, $uri, $body, $headers) = @_;
    for (1 .. 200) {
        my @r = api($method, $uri, $body, $headers);
        return @r if ($r[2]{'x-worker'} // '') eq $pid;
    }
    die "worker $pid never answered $method $uri\n";
}

# the other worker of two
my @W;
sub other ($) { my $w = shift; (grep { $_ ne $w } @W)[0] }

sub state_file () {
    return Hangar::Test::slurp(servroot() . '/state/hangar-state.json');
}

sub auth_doc () { ($json->decode(state_file()) // {})->{auth} // {} }

sub err ($) { my $b = shift; ref $b ? "$b->{error}|$b->{details}{field}" : $b }

my @vars = (LD_PRELOAD => $FAKETIME, FAKETIME_TIMESTAMP_FILE => $CLOCK,
            FAKETIME_NO_CACHE => 1, FAKETIME_DONT_FAKE_MONOTONIC => 1);
my %vars = @vars;
wall_clock('+0');

my $http = "    hangar_zone hangar 4m;\n"
         . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
         . "    hangar_state \$TEST_NGINX_STATE_DIR;\n";
my $loc = "location /api/ { hangar_api; add_header X-Worker \$pid always; }\n";

my %conf = (
    workers     => 2,
    env         => join('', map { "$_=$vars{$_}\n" } sort keys %vars),
    main_config => join('', map { "env $_;\n" } sort keys %vars),
    http_config => $http,
    config      => $loc,
    timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
);

# ===== auth off: the shapes, the errors, what is kept =====================

nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\nmcp_servers: {}\n" });

# -- POST /auth/keys ---------------------------------------------------------
my ($st, $b, $h) = api(POST => '/api/auth/keys',
    '{"principal_id":"service:ci","name":"ci","expires_at":"2099-01-01T00:00:00"}');
is($st, 201, 'a key is created: 201');
like($b->{raw_key} // '', qr/^mcp_[A-Za-z0-9_-]{43}\z/, 'the raw key: mcp_ and 43 base64url characters');
like($b->{key_id} // '', qr/^[A-Za-z0-9_-]{11}\z/, 'the key id: 11 base64url characters');
is($b->{principal_id}, 'service:ci', 'principal_id');
is($b->{name}, 'ci', 'name');
like($b->{expires_at} // '', qr/^2099-01-01T00:00:00(\.0+)?\+00:00\z/, 'a naive expires_at is UTC');
is($b->{created_by}, 'system', 'created_by defaults to system while auth is off');
is($b->{warning}, 'Save this key now - it cannot be retrieved later!', 'the warning');
my %raw = ($b->{key_id} => $b->{raw_key});
my $ci = $b->{key_id};

($st, $b) = api(POST => '/api/auth/keys',
    '{"principal_id":"service:ci","name":"ci2","tenant_id":"acme","groups":["devs","devs","ops"],"created_by":"bob"}');
is($st, 201, 'a key with a tenant and groups');
is($json->encode([$b->{tenant_id}, $b->{groups}, $b->{created_by}, $b->{expires_at}]),
   '["acme",["devs","ops"],"bob",null]', 'tenant_id, groups (each once), created_by, no expiry');
$raw{$b->{key_id}} = $b->{raw_key};
my $ci2 = $b->{key_id};
isnt($ci2, $ci, 'each key has its own id');

for my $bad (
    ['{"name":"x"}', 'principal_id', 'principal_id: required'],
    ['{"principal_id":"a b","name":"x"}', 'principal_id', qr/^principal_id: must be 1-256/],
    ['{"principal_id":"' . ('a' x 257) . '","name":"x"}', 'principal_id', qr/^principal_id: must be/],
    ['{"principal_id":5,"name":"x"}', 'principal_id', 'principal_id: must be a string'],
    ['{"principal_id":"p"}', 'name', 'name: required'],
    ['{"principal_id":"p","name":""}', 'name', qr/^name: must be 1-128 bytes/],
    ['{"principal_id":"p","name":"x","expires_at":"soon"}', 'expires_at', qr/^expires_at: must be an ISO 8601 time/],
    ['{"principal_id":"p","name":"x","expires_at":"2001-01-01T00:00:00Z"}', 'expires_at', 'expires_at: must be in the future'],
    ['{"principal_id":"p","name":"x","groups":"devs"}', 'groups', qr/^groups: must be an array/],
    ['{"principal_id":"p","name":"x","groups":[1]}', 'groups', qr/^groups\[0\]: must be/],
    ['{"principal_id":"p","name":"x","tenant_id":"a\u0001b"}', 'tenant_id', qr/^tenant_id: must be/],
    ['[1]', 'body', 'request body must be a JSON object'],
    ['', 'principal_id', 'principal_id: required'],
) {
    my ($body, $field, $msg) = @$bad;
    ($st, $b) = api(POST => '/api/auth/keys', $body);
    is("$st " . err($b), "422 ValidationError|$field", "POST /auth/keys $body: 422 naming $field");
    ref $msg ? like($b->{message}, $msg, '  and says why') : is($b->{message}, $msg, '  and says why');
}
($st, $b) = api(POST => '/api/auth/keys', '{"principal_id":');
is($st, 400, 'an unparsable body: 400');

# -- GET /auth/keys ----------------------------------------------------------
($st, $b) = api(GET => '/api/auth/keys?principal_id=service%3Aci');
is($st, 200, 'the keys of a principal');
is(join(',', map { $_->{key_id} } @{ $b->{keys} }), "$ci,$ci2", 'both keys, in order');
is("$b->{total} $b->{active} $b->{principal_id}", '2 2 service:ci', 'total, active, principal_id');
is(join(',', sort keys %{ $b->{keys}[0] }),
   'created_at,expires_at,groups,key_id,last_used_at,name,revoked,revoked_at,tenant_id',
   'a key shows no hash and no raw key');
is($b->{keys}[0]{last_used_at}, undef, 'last_used_at: null, never used');
($st, $b) = api(GET => '/api/auth/keys');
is("$st $b->{total} $b->{principal_id}", '200 0 ', 'no principal_id: an empty list');

# -- DELETE /auth/keys/{key_id} ----------------------------------------------
($st, $b) = api(DELETE => "/api/auth/keys/$ci2", '{"reason":"rotated"}');
is($json->encode($b), qq({"key_id":"$ci2","reason":"rotated","revoked":true,"revoked_by":"system"}),
   'revoke: revoked:true, revoked_by defaults to system');
($st, $b) = api(DELETE => "/api/auth/keys/$ci2");
is("$st $b->{revoked}", '200 0', 'revoking it again changes nothing: revoked:false');
($st, $b) = api(DELETE => '/api/auth/keys/nope');
is("$st $b->{revoked}", '200 0', 'an unknown key: revoked:false');
($st, $b) = api(DELETE => "/api/auth/keys/$ci", '{"reason":5}');
is("$st " . err($b), '422 ValidationError|reason', 'a reason that is not a string: 422');
($st, $b) = api(GET => '/api/auth/keys?principal_id=service:ci');
is("$b->{total} $b->{active} $b->{keys}[1]{revoked}", '2 1 1', 'the list shows the revoked key');
($st, $b) = api(GET => '/api/auth/keys?principal_id=service:ci&include_revoked=FALSE');
is(join(',', map { $_->{key_id} } @{ $b->{keys} }), $ci, 'include_revoked=false leaves it out');

# -- the cap: 100 active keys per principal ----------------------------------
my $made = 0;
for my $i (1 .. 100) {
    ($st, $b) = api(POST => '/api/auth/keys', qq({"principal_id":"svc:many","name":"k$i"}));
    $made++ if $st == 201;
}
is($made, 100, '100 keys for one principal');
($st, $b) = api(POST => '/api/auth/keys', '{"principal_id":"svc:many","name":"k101"}');
is("$st " . err($b), '422 ValidationError|principal_id', 'the 101st active key: 422');
like($b->{message}, qr/has 100 active API keys/, '  and says why');
my (undef, $list) = api(GET => '/api/auth/keys?principal_id=svc:many');
api(DELETE => "/api/auth/keys/$list->{keys}[0]{key_id}");
($st) = api(POST => '/api/auth/keys', '{"principal_id":"svc:many","name":"k101"}');
is($st, 201, 'a revoked key does not count');

# -- roles -------------------------------------------------------------------
($st, $b) = api(POST => '/api/auth/roles',
    '{"role_name":"ops","description":"Operators","permissions":["mcp_servers:read","tool:invoke:math:add","mcp_servers:read:*"]}');
is($st, 201, 'a custom role: 201');
is($json->encode($b), '{"created":true,"created_by":"system","description":"Operators","permissions_count":2,"role_name":"ops"}',
   'its answer: permissions kept once each');
for my $bad (
    ['{"role_name":"ops"}', 409, 'RoleAlreadyExistsError', 'Role already exists: ops'],
    ['{"role_name":"admin"}', 403, 'CannotModifyBuiltinRoleError', 'Cannot modify built-in role: admin'],
    ['{"role_name":"viewer","permissions":[]}', 403, 'CannotModifyBuiltinRoleError', 'Cannot modify built-in role: viewer'],
    ['{"role_name":"bad name"}', 422, 'ValidationError', qr/^role_name: must be 1-64 letters/],
    ['{"role_name":"all"}', 422, 'ValidationError', qr/reserved/],
    ['{}', 422, 'ValidationError', 'role_name: required'],
    ['{"role_name":"x","permissions":["read"]}', 422, 'ValidationError', qr/^permissions\[0\]: must be "resource:action\[:id\]"/],
    ['{"role_name":"x","permissions":["a::b"]}', 422, 'ValidationError', qr/^permissions\[0\]/],
    ['{"role_name":"x","permissions":"a:b"}', 422, 'ValidationError', qr/^permissions: must be an array of at most 100/],
    ['{"role_name":"x","permissions":[' . join(',', map { qq("r:a$_") } 1 .. 101) . ']}', 422, 'ValidationError', qr/at most 100/],
    ['{"role_name":"x","description":7}', 422, 'ValidationError', 'description: must be a string'],
) {
    my ($body, $code, $class, $msg) = @$bad;
    ($st, $b) = api(POST => '/api/auth/roles', $body);
    is("$st $b->{error}", "$code $class", 'POST /auth/roles ' . substr($body, 0, 60) . ": $code");
    ref $msg ? like($b->{message}, $msg, '  and says why') : is($b->{message}, $msg, '  and says why');
}
($st, $b) = api(POST => '/api/auth/roles', '{"role_name":"x","permissions":[' . join(',', map { qq("r:a$_") } 1 .. 100) . ']}');
is("$st $b->{permissions_count}", '201 100', '100 permissions fit');

($st, $b) = api(GET => '/api/auth/roles');
is("$st $b->{count}", "200 6", 'GET /auth/roles: the six built-in roles');
is(join(',', map { $_->{name} } @{ $b->{roles} }), 'admin,provider-admin,developer,viewer,auditor,service-account',
   '  by name');
($st, $b) = api(GET => '/api/auth/roles/all');
is("$b->{total} $b->{builtin_count} $b->{custom_count}", '8 6 2', 'GET /auth/roles/all: built-in and custom');
my ($ops) = grep { $_->{name} eq 'ops' } @{ $b->{roles} };
is($json->encode($ops), '{"description":"Operators","is_builtin":false,"name":"ops","permissions":["mcp_servers:read:*","tool:invoke:math:add"],"permissions_count":2}',
   '  a custom role in full, its permissions in three parts');
my ($admin) = grep { $_->{name} eq 'admin' } @{ $b->{roles} };
ok($admin->{is_builtin} && grep({ $_ eq '*:*:*' } @{ $admin->{permissions} }), '  admin is built in and has *:*:*');
($st, $b) = api(GET => '/api/auth/roles/all?include_builtin=false');
is(join(',', map { $_->{name} } @{ $b->{roles} }), 'ops,x', '  include_builtin=false: only the custom ones');

($st, $b) = api(GET => '/api/auth/roles/ops');
is($json->encode($b), '{"found":true,"role":{"description":"Operators","name":"ops","permissions":["mcp_servers:read:*","tool:invoke:math:add"],"permissions_count":2}}',
   'GET /auth/roles/ops');
($st, $b) = api(GET => '/api/auth/roles/developer');
is("$st $b->{role}{permissions_count}", '200 14', 'GET a built-in role');
($st, $b) = api(GET => '/api/auth/roles/nope');
is($json->encode($b), '{"error":"RoleNotFoundError","message":"Role not found: nope","status_code":404}', 'an unknown role: 404');

($st, $b) = api(PATCH => '/api/auth/roles/ops', '{"description":"Ops"}');
is($json->encode($b), '{"description":"Ops","permissions_count":2,"role_name":"ops","updated":true,"updated_by":"system"}',
   'PATCH without permissions keeps them');
($st, $b) = api(PATCH => '/api/auth/roles/x', '{"permissions":["tool:list"]}');
is("$st $b->{permissions_count}", '200 1', 'PATCH with permissions replaces them');
(undef, $b) = api(GET => '/api/auth/roles/x');
is($json->encode($b->{role}{permissions}), '["tool:list:*"]', '  and they are kept');
($st, $b) = api(PATCH => '/api/auth/roles/nope', '{}');
is("$st $b->{error}", '404 RoleNotFoundError', 'PATCH an unknown role: 404');
($st, $b) = api(PATCH => '/api/auth/roles/admin', '{}');
is("$st $b->{error}", '403 CannotModifyBuiltinRoleError', 'PATCH a built-in role: 403');
($st, $b) = api(PATCH => '/api/auth/roles/x', '{"permissions":[":"]}');
is("$st " . err($b), '422 ValidationError|permissions', 'PATCH with a bad permission: 422');

# -- assignments -------------------------------------------------------------
($st, $b) = api(POST => '/api/auth/roles/assign', '{"principal_id":"alice","role_name":"ops"}');
is($json->encode($b), '{"assigned":true,"assigned_by":"system","principal_id":"alice","role_name":"ops","scope":"global"}',
   'assign: scope global by default');
($st, $b) = api(POST => '/api/auth/roles/assign', '{"principal_id":"alice","role_name":"ops"}');
is("$st $b->{assigned}", '200 1', 'assigning again is idempotent');
api(POST => '/api/auth/roles/assign', '{"principal_id":"alice","role_name":"viewer","scope":"tenant:acme"}');
api(POST => '/api/auth/roles/assign', '{"principal_id":"group:devs","role_name":"x","assigned_by":"carol"}');
is(scalar @{ auth_doc()->{assignments} }, 3, 'three assignments kept');
for my $bad (
    ['{"principal_id":"alice","role_name":"nope"}', 'role_name', 'role_name: no role named "nope"'],
    ['{"principal_id":"alice","role_name":"ops","scope":"*"}', 'scope', 'scope: must be "global" or "tenant:<id>"'],
    ['{"principal_id":"alice","role_name":"ops","scope":"tenant:"}', 'scope', 'scope: must be "global" or "tenant:<id>"'],
    ['{"role_name":"ops"}', 'principal_id', 'principal_id: required'],
    ['{"principal_id":"alice"}', 'role_name', 'role_name: required'],
    ['{"principal_id":"al ice","role_name":"ops"}', 'principal_id', qr/^principal_id: must be/],
) {
    my ($body, $field, $msg) = @$bad;
    ($st, $b) = api(POST => '/api/auth/roles/assign', $body);
    is("$st " . err($b), "422 ValidationError|$field", "assign $body: 422");
    ref $msg ? like($b->{message}, $msg, '  and says why') : is($b->{message}, $msg, '  and says why');
}

($st, $b) = api(GET => '/api/auth/principals');
is($json->encode($b), '{"principals":[{"principal_id":"alice","roles":["ops","viewer"]},{"principal_id":"group:devs","roles":["x"]}],"total":2}',
   'GET /auth/principals');
($st, $b) = api(GET => '/api/auth/principals/roles?principal_id=alice');
is(join(',', map { $_->{name} } @{ $b->{roles} }) . " $b->{count} $b->{scope}", 'ops,viewer 2 *',
   'GET /auth/principals/roles: every scope');
is($json->encode($b->{roles}[0]), '{"description":"Ops","name":"ops","permissions":["mcp_servers:read:*","tool:invoke:math:add"]}',
   '  each role with its permissions');
($st, $b) = api(GET => '/api/auth/principals/roles?principal_id=alice&scope=tenant%3Aacme');
is(join(',', map { $_->{name} } @{ $b->{roles} }), 'viewer', '  one scope');
($st, $b) = api(GET => '/api/auth/principals/roles?principal_id=alice&scope=bad');
is("$st " . err($b), '422 ValidationError|scope', '  a bad scope: 422');
($st, $b) = api(GET => '/api/auth/principals/roles');
is("$st " . err($b), '422 ValidationError|principal_id', '  no principal_id: 422');

($st, $b) = api(DELETE => '/api/auth/roles/revoke', '{"principal_id":"alice","role_name":"viewer","scope":"tenant:acme"}');
is($json->encode($b), '{"principal_id":"alice","revoked":true,"revoked_by":"system","role_name":"viewer","scope":"tenant:acme"}',
   'revoke an assignment');
($st, $b) = api(DELETE => '/api/auth/roles/revoke', '{"principal_id":"alice","role_name":"viewer","scope":"tenant:acme"}');
is("$st $b->{revoked}", '200 0', 'again: revoked:false');
($st, $b) = api(DELETE => '/api/auth/roles/revoke', '{"principal_id":"alice"}');
is("$st " . err($b), '422 ValidationError|role_name', 'revoke without role_name: 422');

# -- GET /auth/permissions: the route table's permissions and the others -----
my $src = Hangar::Test::slurp("$FindBin::Bin/../src/http/ngx_http_hangar_api.c");
my %table = map { $_ => 1 } grep { /:/ } $src =~ /\{\s*[A-Z_|]+,\s*"[^"]*",\s*"([^"]*)"/g;
($st, $b) = api(GET => '/api/auth/permissions');
my %vocab = map { my $t = $_; map { ("$t->{resource_type}:$_" => 1) } @{ $t->{actions} } } @{ $b->{permissions} };
is(join(',', grep { !$vocab{$_} } sort keys %table), '', 'every permission of the route table is listed');
is(join(',', grep { !$vocab{$_} } qw(tool:invoke tool:list approval:read approval:resolve policy:read policy:write
                                     metrics:read audit:read admin:*)), '', 'and those checked elsewhere');
ok(!$vocab{'provider:read'}, 'not the legacy vocabulary');

# -- check-permission: validation --------------------------------------------
for my $bad (
    ['{"permission":"a:b"}', 'principal_id'],
    ['{"principal_id":"alice"}', 'permission'],
    ['{"principal_id":"alice","permission":"nocolon"}', 'permission'],
    ['{"principal_id":"alice","permission":"a:b","groups":"g"}', 'groups'],
) {
    ($st, $b) = api(POST => '/api/auth/check-permission', $bad->[0]);
    is("$st " . err($b), "422 ValidationError|$bad->[1]", "check-permission $bad->[0]: 422");
}
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"alice","action":"invoke","resource_type":"tool","resource_id":"math:add"}');
is(join(' ', map { $b->{$_} } qw(principal_id action resource_type resource_id)), 'alice invoke tool math:add',
   'check-permission, the second form');

# -- the role's deletion takes its assignments -------------------------------
($st, $b) = api(DELETE => '/api/auth/roles/admin');
is("$st $b->{error}", '403 CannotModifyBuiltinRoleError', 'DELETE a built-in role: 403');
is($json->encode($b->{details}), '{"action":"","principal_id":"","resource":"","role_name":"admin"}', '  with its details');
($st, $b) = api(DELETE => '/api/auth/roles/x');
is("$st $b", '204 ', 'DELETE a custom role: 204');
($st, $b) = api(DELETE => '/api/auth/roles/x');
is("$st $b->{error}", '404 RoleNotFoundError', 'again: 404');
(undef, $b) = api(GET => '/api/auth/principals');
is(join(',', map { $_->{principal_id} } @{ $b->{principals} }), 'alice', 'its assignments are gone');

# -- concurrent creations from both workers: none is lost --------------------
my @kids;
for my $k (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ok = 0;
        for my $i (1 .. 10) {
            my ($s) = http_request(POST => '/api/auth/keys', qq({"principal_id":"svc:race$k","name":"r$i"}),
                                   { 'Content-Type' => 'application/json' });
            $ok++ if $s == 201;
        }
        POSIX::_exit($ok == 10 ? 0 : 1);
    }
    push @kids, $pid;
}
my $failed = 0;
for (@kids) { waitpid $_, 0; $failed++ if $? }
is($failed, 0, '40 keys created at once by 4 clients: every one 201');
my $n = grep { $_->{principal_id} =~ /^svc:race/ } @{ auth_doc()->{keys} };
is($n, 40, 'and all 40 are kept: no lost update');
my %workers = map { $_ => 1 }
    Hangar::Test::slurp(servroot() . '/logs/error.log') =~ /\[info\] (\d+)#\d+: .*hangar: ApiKeyCreated \S+ \{"key_id":"[^"]+","principal_id":"svc:race/g;
is(scalar keys %workers, 2, 'both workers created some of them');

# -- the state file: hashes, never a raw key; events in the log --------------
my $file = state_file();
for my $id (sort keys %raw) {
    my $sha = Digest::SHA::sha256_hex($raw{$id});
    ok(index($file, $sha) >= 0, "the state file has the SHA-256 of key $id");
    ok(index($file, $raw{$id}) < 0, '  and never the raw key');
}
my ($k1) = grep { $_->{key_id} eq $ci } @{ auth_doc()->{keys} };
is(join(',', sort keys %$k1), 'created_at,created_by,expires_at,groups,key_id,key_sha256,name,principal_id,reason,revoked,revoked_at,revoked_by,tenant_id',
   'a key entry has the fields the auth core reads');
my $log = Hangar::Test::slurp(servroot() . '/logs/error.log');
like($log, qr/\[info\].*hangar: ApiKeyCreated \Q$ci\E .* by "system"/, 'ApiKeyCreated is logged with the acting principal');
like($log, qr/hangar: ApiKeyRevoked \Q$ci2\E /, 'ApiKeyRevoked is logged');
like($log, qr/hangar: CustomRoleDeleted x /, 'CustomRoleDeleted is logged');
ok(!grep({ index($log, $_) >= 0 } values %raw), 'no raw key in the log');

# -- reload and restart keep everything --------------------------------------
my $before = $json->encode(auth_doc());
my (undef, $keys_before) = api(GET => '/api/auth/keys?principal_id=service:ci');
nginx_reload();
my (undef, $keys_after) = api(GET => '/api/auth/keys?principal_id=service:ci');
is($json->encode($keys_after), $json->encode($keys_before), 'the keys after a reload');
(undef, $b) = api(GET => '/api/auth/roles/ops');
is($b->{role}{description}, 'Ops', 'a custom role after a reload');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind("auth api, stop 1") if Hangar::Test::valgrind_on();
no_alerts();
nginx_start({ %conf, keep_servroot => 1 });
(undef, $keys_after) = api(GET => '/api/auth/keys?principal_id=service:ci');
is($json->encode($keys_after), $json->encode($keys_before), 'the keys after a restart');
(undef, $b) = api(GET => '/api/auth/principals');
is($json->encode($b->{principals}), '[{"principal_id":"alice","roles":["ops"]}]', 'the assignments after a restart');
is($json->encode(auth_doc()), $before, 'the auth document is unchanged');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind("auth api, stop 2") if Hangar::Test::valgrind_on();
no_alerts();

# ===== auth on: keys made here authenticate, roles take effect at once ====

my $ADMIN = 'mcp_bootstrap_admin_key_from_the_env_0123';
my $yaml = <<"YAML";
auth:
  enabled: true
  rate_limit: {max_attempts: 1000}    # refused keys on purpose: no lockout
  api_keys:
    - {name: bootstrap, principal_id: admin, key: "\${HANGAR_ADMIN_KEY}"}
  role_assignments:
    - {principal: admin, role: admin}
mcp_servers: {}
YAML
my %on = (%conf, env => $conf{env} . "HANGAR_ADMIN_KEY=$ADMIN\n",
          user_files => ">>> conf/hangar.yaml\n$yaml");
nginx_start(\%on);
@W = Hangar::Test::worker_pids(master_pid());
is(scalar @W, 2, "two workers: @W");

($st, $b) = api(GET => '/api/auth/keys?principal_id=admin');
is("$st $b->{error}", '401 MissingCredentialsError', 'auth on: /api/auth/ without a key is 401');
$KEY = $ADMIN;
($st, $b) = api(GET => '/api/auth/keys?principal_id=admin');
is("$st $b->{total}", '200 0', 'the key declared in hangar.yaml is never shown');

($st, $b, $h) = api(POST => '/api/auth/keys', '{"principal_id":"service:ci","name":"ci"}');
is("$st $b->{created_by}", '201 admin', 'created; created_by is the authenticated principal');
my ($ci_id, $ci_key) = @$b{qw(key_id raw_key)};
my $wa = $h->{'x-worker'};
my $wb = other($wa);

my %as_ci = ('X-API-Key' => $ci_key);
{
    local $KEY;
    ($st, $b) = on_worker($wb, GET => '/api/system/me', undef, \%as_ci);
    is("$st $b->{principal}{id}", '200 service:ci', 'the new key authenticates at once on the other worker');
    ($st, $b) = on_worker($wb, GET => '/api/mcp_servers', undef, \%as_ci);
    is($st, 403, 'a principal with no role: 403 on /api/mcp_servers');
    ($st, $b) = on_worker($wa, GET => '/api/auth/keys?principal_id=service:ci', undef, \%as_ci);
    is($st, 403, 'and 403 on /api/auth/ (admin:* needed)');
}
($st, $b) = api(GET => '/api/auth/keys?principal_id=service:ci');
like($b->{keys}[0]{last_used_at} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)\z/, 'last_used_at is set once the key is used');

# a custom role takes effect at once, on both workers
api(POST => '/api/auth/roles', '{"role_name":"reader","permissions":["mcp_servers:read"]}');
($st, $b) = api(POST => '/api/auth/roles/assign', '{"principal_id":"service:ci","role_name":"reader"}');
is("$st $b->{assigned_by}", '200 admin', 'assigned_by is the authenticated principal');
{
    local $KEY;
    for my $w ($wa, $wb) {
        ($st) = on_worker($w, GET => '/api/mcp_servers', undef, \%as_ci);
        is($st, 200, "the custom role grants mcp_servers:read at once on worker $w");
        ($st) = on_worker($w, GET => '/api/tools', undef, \%as_ci);
        is($st, 403, "  and nothing else on worker $w");
    }
}
api(PATCH => '/api/auth/roles/reader', '{"permissions":["tool:list"]}');
{
    local $KEY;
    for my $w ($wa, $wb) {
        ($st) = on_worker($w, GET => '/api/mcp_servers', undef, \%as_ci);
        is($st, 403, "a changed role no longer grants mcp_servers:read on worker $w");
        ($st) = on_worker($w, GET => '/api/tools', undef, \%as_ci);
        is($st, 200, "  and grants tool:list on worker $w");
    }
}

# check-permission asks the same RBAC: groups and tenant scopes
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"service:ci","permission":"tool:list"}');
is($json->encode([$b->{allowed}, $b->{granted_by_role}]), '[true,"reader"]', 'check-permission: allowed, by the custom role');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"service:ci","permission":"mcp_servers:read"}');
is($json->encode([$b->{allowed}, $b->{granted_by_role}]), '[false,null]', 'check-permission: refused');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"admin","action":"write","resource_type":"mcp_servers"}');
is($json->encode([$b->{allowed}, $b->{granted_by_role}]), '[true,"admin"]', 'an assignment from hangar.yaml counts');
api(POST => '/api/auth/roles/assign', '{"principal_id":"group:devs","role_name":"reader"}');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"carol","permission":"tool:list","groups":["devs"]}');
is($b->{allowed}, 1, 'a role assigned to group:devs applies to a member');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"carol","permission":"tool:list"}');
is($b->{allowed}, 0, '  and not to a non-member');
api(POST => '/api/auth/roles/assign', '{"principal_id":"dave","role_name":"developer","scope":"tenant:acme"}');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"dave","permission":"mcp_servers:write","tenant_id":"acme"}');
is($b->{allowed}, 1, 'a tenant-scoped role applies with that tenant');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"dave","permission":"mcp_servers:write"}');
is($b->{allowed}, 0, '  and not without it');
($st, $b) = api(POST => '/api/auth/check-permission', '{"principal_id":"anonymous","permission":"tool:list","groups":["devs"]}');
is($b->{allowed}, 0, 'anonymous is refused, as authorization refuses it');

($st, $b) = api(GET => '/api/auth/principals');
is($json->encode($b->{principals}[0]), '{"principal_id":"admin","roles":["admin"]}',
   'GET /auth/principals: the assignments of hangar.yaml first');
is(join(',', map { $_->{principal_id} } @{ $b->{principals} }), 'admin,service:ci,group:devs,dave', '  then those made here');
($st, $b) = api(GET => '/api/auth/principals/roles?principal_id=dave&scope=tenant:acme');
is(join(',', map { $_->{name} } @{ $b->{roles} }), 'developer', 'GET /auth/principals/roles at a tenant scope');

# a key's groups (POST /auth/keys accepts them) work as a token's would
($st, $b) = api(POST => '/api/auth/keys', '{"principal_id":"erin","name":"e","groups":["devs"]}');
{
    local $KEY = $b->{raw_key};
    ($st) = api(GET => '/api/tools');
    is($st, 200, 'a key made with groups gets the roles of its groups');
}

# revocation: made on one worker, refused on both
($st, $b, $h) = api(DELETE => "/api/auth/keys/$ci_id", '{"reason":"leaked"}');
is("$st $b->{revoked} $b->{revoked_by}", '200 1 admin', 'revoked on one worker; revoked_by is the authenticated principal');
{
    local $KEY;
    for my $w (other($h->{'x-worker'}), $h->{'x-worker'}) {
        ($st, $b) = on_worker($w, GET => '/api/tools', undef, \%as_ci);
        is("$st $b->{message}", '401 API key has been revoked', "the revoked key is refused at once on worker $w");
    }
}

# expiry, on the wall clock
my @t = gmtime(time + 3600);
my $exp = POSIX::strftime('%Y-%m-%dT%H:%M:%S+00:00', @t);
($st, $b) = api(POST => '/api/auth/keys', qq({"principal_id":"erin","name":"soon","expires_at":"$exp"}));
is($st, 201, 'a key that expires in an hour');
my $soon = $b->{raw_key};
{
    local $KEY = $soon;
    ($st) = api(GET => '/api/system/me');
    is($st, 200, '  works now');
}
wall_clock('+7200');
{
    local $KEY;
    for my $w ($wa, $wb) {
        ($st, $b) = on_worker($w, GET => '/api/system/me', undef, { 'X-API-Key' => $soon });
        is("$st $b->{message}", '401 API key has expired', "  and is refused two hours later on worker $w");
    }
}
(undef, $b) = api(GET => '/api/auth/keys?principal_id=erin');
is("$b->{total} $b->{active}", '2 1', 'an expired key is not active');
wall_clock('+0');

# a key made through the API survives a restart
($st, $b) = api(POST => '/api/auth/keys', '{"principal_id":"service:ci","name":"after"}');
my $after = $b->{raw_key};
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind("auth api, stop 3") if Hangar::Test::valgrind_on();
no_alerts();
nginx_start({ %on, keep_servroot => 1 });
{
    local $KEY = $after;
    ($st) = api(GET => '/api/tools');
    is($st, 200, 'after a restart the key still authenticates, with its role');
}
{
    local $KEY = $ci_key;
    ($st, $b) = api(GET => '/api/tools');
    is("$st $b->{message}", '401 API key has been revoked', 'and the revoked one is still revoked');
}
$log = Hangar::Test::slurp(servroot() . '/logs/error.log');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind("auth api, stop 4") if Hangar::Test::valgrind_on();
no_alerts();
$file = state_file();
ok(index($file, $_) < 0, 'the state file has no raw key') for ($ci_key, $soon, $after);

# ===== a full zone: 507, and nothing half-kept ============================

$KEY = undef;
nginx_start({ %conf, workers => 1, http_config => $http =~ s/hangar 4m/tiny 64k/r,
              user_files => ">>> conf/hangar.yaml\nmcp_servers: {}\n" });
my ($kept, $full) = (0, undef);
for my $i (1 .. 400) {
    ($st, $b) = api(POST => '/api/auth/keys', qq({"principal_id":"svc:fill$i","name":"${\ ('n' x 100)}"}));
    if ($st == 201) { $kept++; next }
    $full = [$i, $st, $b];
    last;
}
ok($full, "the zone filled up after $kept keys");
is("$full->[1] $full->[2]{error}", '507 RegistryFullError', 'a full zone: 507 RegistryFullError');
is($full->[2]{message}, 'the hangar zone "tiny" is full; nothing was changed', '  naming the zone');
is(scalar(grep { $_->{principal_id} =~ /^svc:fill/ } @{ auth_doc()->{keys} }), $kept,
   'the state file has every accepted key and not the refused one');
(undef, $b) = api(GET => "/api/auth/keys?principal_id=svc:fill$full->[0]");
is($b->{total}, 0, 'the refused key does not exist');
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind("auth api, full zone") if Hangar::Test::valgrind_on();
no_alerts(qr/hangar zone "tiny" is full/);

no_orphans();
unlink $CLOCK;
Test::More::done_testing();
