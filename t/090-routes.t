# The route table in src/http/ngx_http_hangar_api.c: every route carries the
# permission hangar-core.md §1.11 gives it, and the README documents it.
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
    'POST /admin/tools/{server}/{tool}/withdraw' => 'mcp_servers:lifecycle',
    'POST /admin/tools/{server}/{tool}/restore'  => 'mcp_servers:lifecycle',
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

done_testing();
