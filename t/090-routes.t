# The route table in src/http/ngx_http_hangar_api.c: every route carries the
# permission hangar-core.md §1.11 gives it, and the README documents it; its
# handler is defined in the file the route's path names; every .c of
# src/http has its own header, which declares only that file's functions.
use strict;
use warnings;
use FindBin;
use Test::More;

my $src = do { local (@ARGV, $/) = ("$FindBin::Bin/../src/http/ngx_http_hangar_api.c"); <> };
my ($table) = $src =~ /ngx_http_hangar_route_t\s+ngx_http_hangar_routes\[\]\s*=\s*\{(.*?)\n\};/s;
ok($table, 'route table found');

my @routes;
while ($table =~ /\{\s*([A-Z_|]+),\s*"([^"]*)",\s*"([^"]*)",\s*(\w+),/g) {
    my ($methods, $pattern, $perm, $handler) = ($1, $2, $3, $4);
    push @routes, [$_, $pattern, $perm, $handler]
        for map { s/^NGX_HTTP_//r } split /\|/, $methods;
}
ok(@routes >= 7, scalar(@routes) . ' method/route pairs');

# hangar-core.md §1.11
my %want = (
    'GET /mcp_servers'                 => 'mcp_servers:read',
    'POST /mcp_servers'                => 'mcp_servers:write',
    'GET /mcp_servers/{id}'            => 'mcp_servers:read',
    'PUT /mcp_servers/{id}'            => 'mcp_servers:write',
    'PATCH /mcp_servers/{id}'          => 'mcp_servers:write',
    'DELETE /mcp_servers/{id}'         => 'mcp_servers:write',
    'POST /mcp_servers/{id}/start'     => 'mcp_servers:lifecycle',
    'POST /mcp_servers/{id}/stop'      => 'mcp_servers:lifecycle',
    'POST /mcp_servers/{id}/block'     => 'mcp_servers:lifecycle',
    'GET /mcp_servers/{id}/tools'      => 'mcp_servers:read',
    'GET /mcp_servers/{id}/health'     => 'mcp_servers:read',
    'GET /mcp_servers/{id}/logs'       => 'mcp_servers:read',
    'GET /mcp_servers/{id}/tools/history' => 'mcp_servers:read',
    'POST /sessions/{id}/suspend'      => 'mcp_servers:lifecycle',
    'DELETE /sessions/{id}/suspend'    => 'mcp_servers:lifecycle',
    'GET /tools'                       => 'tool:list',
    'GET /system'                      => 'authenticated',
    'GET /system/me'                   => 'authenticated',
    'GET /config'                      => 'config:read',
    'POST /config/reload'              => 'config:reload',
    'POST /config/export'              => 'config:read',
    'POST /config/backup'              => 'config:update',
    'GET /config/diff'                 => 'config:read',
    'POST /admin/tools/{server}/{tool}/withdraw' => 'mcp_servers:lifecycle',
    'POST /admin/tools/{server}/{tool}/restore'  => 'mcp_servers:lifecycle',
    'GET /auth/policies/{scope}/{target_id}'     => 'policy:read',
    'POST /auth/policies/{scope}/{target_id}'    => 'policy:write',
    'DELETE /auth/policies/{scope}/{target_id}'  => 'policy:write',
    'POST /agent/policy'                         => 'policy:write',
    # hangar-core.md §1.4
    'GET /groups'                      => 'group:read',
    'POST /groups'                     => 'group:create',
    'GET /groups/{id}'                 => 'group:read',
    'PUT /groups/{id}'                 => 'group:update',
    'DELETE /groups/{id}'              => 'group:delete',
    'POST /groups/{id}/rebalance'      => 'group:update',
    'POST /groups/{id}/members'        => 'group:update',
    'DELETE /groups/{id}/members/{member_id}' => 'group:update',
    'GET /ws/events'                             => 'audit:read',   # core §1.10
    # hangar-security.md §3.3 and §5.6
    'GET /discovery/sources'                     => 'discovery:read',
    'POST /discovery/sources'                    => 'discovery:approve',
    'POST /discovery/sources/{id}/scan'          => 'discovery:trigger',
    'PUT /discovery/sources/{id}/enable'         => 'discovery:approve',
    'PUT /discovery/sources/{id}'                => 'discovery:approve',
    'DELETE /discovery/sources/{id}'             => 'discovery:approve',
    'GET /discovery/pending'                     => 'discovery:read',
    'GET /discovery/quarantined'                 => 'discovery:read',
    'POST /discovery/approve/{id}'               => 'discovery:approve',
    'POST /discovery/reject/{id}'                => 'discovery:approve',
    # hangar-security.md §4.3, at both prefixes (spec/README.md rule 1)
    (map { ("GET $_" => 'approval:read', "GET $_/{id}" => 'approval:read',
            "POST $_/{id}/resolve" => 'approval:resolve') }
         '/enterprise/approvals', '/approvals'),
    # hangar-security.md §3.3: every /auth/ route is admin:*
    map({ ($_ => 'admin:*') }
        'POST /auth/keys', 'GET /auth/keys', 'DELETE /auth/keys/{key_id}',
        'GET /auth/roles', 'POST /auth/roles', 'GET /auth/roles/all',
        'POST /auth/roles/assign', 'DELETE /auth/roles/revoke',
        'GET /auth/roles/{role_name}', 'DELETE /auth/roles/{role_name}',
        'PATCH /auth/roles/{role_name}', 'GET /auth/principals',
        'GET /auth/principals/roles', 'GET /auth/permissions',
        'POST /auth/check-permission'),
);

my $readme = do { local (@ARGV, $/) = ("$FindBin::Bin/../README.md"); <> } // '';
my %seen;
for my $r (@routes) {
    my ($m, $p, $perm, $h) = @$r;
    my $key = "$m $p";
    my $wkey = $m eq 'HEAD' ? "GET $p" : $key;    # HEAD is a GET
    ok(!$seen{$key}++, "$key appears once");
    like($perm, qr/^(authenticated|[a-z_]+:[a-z_*]+)$/, "$key has a permission ($perm)");
    ok(exists $want{$wkey}, "$key is a route of the contract");
    is($perm, $want{$wkey}, "$key needs $want{$wkey}") if exists $want{$wkey};
    like($src, qr/\n$h\(ngx_http_hangar_req_t \*hr\)|\b$h\b/, "$key handler $h exists");
    (my $doc = $p) =~ s/\{(\w+)\}/{$1}/g;
    ok($readme =~ /\Q$m\E[^\n]*\Q\/api$doc\E/, "$key is in the README") unless $m eq 'HEAD';
}

# the file a route's handler lives in, from the route's path
sub route_file {
    my ($p) = @_;
    return 'ngx_http_hangar_api_servers.c'    if $p =~ m{^/mcp_servers(/\{id\})?$};
    return 'ngx_http_hangar_api_server_ops.c' if $p =~ m{^/mcp_servers/\{id\}/};
    return 'ngx_http_hangar_api_policy.c'     if $p =~ m{^/(auth/policies|agent/policy)\b};
    return 'ngx_http_hangar_api_approvals.c'  if $p =~ m{^(/enterprise)?/approvals};
    return 'ngx_http_hangar_ws.c'             if $p =~ m{^/ws/};
    return "ngx_http_hangar_api_auth_$1.c"    if $p =~ m{^/auth/(keys|roles)\b};
    return "ngx_http_hangar_api_$1.c"         if $p =~ m{^/(\w+)};
    return '';
}

my $dir = "$FindBin::Bin/../src/http";
sub slurp { local (@ARGV, $/) = @_; return -e $ARGV[0] ? <> : '' }

for my $r (@routes) {
    my ($m, $p, $perm, $h) = @$r;
    next if $m eq 'HEAD';
    my $file = route_file($p);
    like(slurp("$dir/$file"), qr/\n$h\(ngx_http_hangar_req_t \*hr\)\n\{/,
         "$m $p: $h is defined in $file");
}

# each .c has its own header declaring only its own functions
my @c = glob("$dir/*.c");
ok(@c >= 10, scalar(@c) . ' files in src/http');

for my $c (@c) {
    (my $h = $c) =~ s/\.c$/.h/;
    (my $name = $c) =~ s{.*/}{};
    ok(-e $h, "$name has its own header");
    my $csrc = slurp($c);
    my $hsrc = slurp($h);
    (my $hname = $h) =~ s{.*/}{};
    like($csrc, qr/#include "\Q$hname\E"/, "$name includes its header");
    while ($hsrc =~ /^(?:[a-z][\w ]*?[ *])\**(ngx_http_hangar_\w+)\(/mg) {
        my $f = $1;
        like($csrc, qr/\n\**$f\(/, "$f, declared in its header, is ${name}'s");
    }
}

# the old convention is gone: a helper that answers returns the answer's code
for my $c (@c) {
    (my $name = $c) =~ s{.*/}{};
    unlike(slurp($c), qr/ngx_http_hangar_answered|hr->rc\b/,
           "$name: no answered-means-declined convention");
}

done_testing();
