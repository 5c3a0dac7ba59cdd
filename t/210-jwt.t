# Bearer JWT / OIDC (hangar-security.md §1.4): RS256 and ES256 tokens made
# with openssl, the JWK sets served by a small IdP on 127.0.0.1 (discovery,
# per-worker cache, a refetch on an unknown kid at most once per 30 s, a
# fetch that fails, requests that wait for one fetch), a local jwks_file,
# every 401 message of §1.4 in its order, the principal of a good token in
# GET /api/system/me, WWW-Authenticate, the RFC 9728 document, and the
# official SDK client through the front door with a bearer token.  Two
# workers; nginx runs under libfaketime so that the test can move its wall
# clock past the 30 s between two fetches instead of waiting.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use Hangar::Jwt ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
my $SERVER = "$REPO/t/servers/hangar-test-server";

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
die "libfaketime is missing ($FAKETIME): make deps installs it\n" unless -f $FAKETIME;
die "node or the SDK is missing: make test-deps\n" unless $NODE && -d $SDK;

my $json = JSON::PP->new->canonical;
my $CLOCK = servroot() . '.faketime';     # beside the servroot, which is wiped
my $DIR = servroot() . '.keys';
my $IDP = "$DIR/idp";
system('rm', '-rf', $DIR);
mkdir $DIR or die "$DIR: $!";
mkdir $IDP or die "$IDP: $!";

# ---- the clock of nginx, and tokens made for it -------------------------

my $OFFSET = 0;

sub wall_clock ($) {
    $OFFSET = shift;
    open my $fh, '>', "$CLOCK.tmp" or die "$CLOCK: $!";
    print $fh sprintf("%+d\n", $OFFSET);
    close $fh;
    rename "$CLOCK.tmp", $CLOCK or die "$CLOCK: $!";
}

sub now () { int(time) + $OFFSET }

wall_clock(0);

# ---- keys, the IdP --------------------------------------------------------

my %K = map { $_->[1] => Hangar::Jwt::key($_->[0], $DIR, $_->[1]) }
        ['rsa', 'r1'], ['ec', 'e1'], ['rsa', 'r2'], ['rsa', 'evil'],
        ['ec', 's1'], ['rsa', 'b1'], ['ec', 'w1'];

sub put ($$) {
    my ($name, $content) = @_;
    open my $fh, '>', "$IDP/$name.tmp" or die "$IDP/$name: $!";
    print {$fh} $content;
    close $fh;
    rename "$IDP/$name.tmp", "$IDP/$name" or die "$IDP/$name: $!";
}

my $idp_pid = fork // die "fork: $!";
if ($idp_pid == 0) {
    exec($^X, "$REPO/t/servers/hangar-idp", $IDP, "$DIR/port") or POSIX::_exit(127);
}
END { kill 'TERM', $idp_pid if $idp_pid; waitpid $idp_pid, 0 if $idp_pid }

for (1 .. 100) { last if -s "$DIR/port"; sleep 0.05 }
my $IDP_PORT = Hangar::Test::slurp("$DIR/port") or die "the IdP did not start\n";
my $ISS = "http://127.0.0.1:$IDP_PORT";         # discovery
my $ISS2 = 'https://second.example';            # jwks_file, tenants
my $ISS3 = 'https://broken.example';            # jwks_uri that fails
my $ISS4 = 'https://slow.example';              # jwks_uri that is slow
my $ISS5 = 'https://pass.example';              # first used by the pass-through

put('.well-known_openid-configuration',
    $json->encode({ issuer => $ISS, jwks_uri => "$ISS/jwks.json" }));
put('jwks.json', Hangar::Jwt::jwks(@K{qw(r1 e1)}));
put('broken.json', Hangar::Jwt::jwks($K{b1}));
put('broken.json.status', '500');
put('slow.json', Hangar::Jwt::jwks($K{w1}));
put('slow.json.delay', '1');
put('pass.json', Hangar::Jwt::jwks($K{w1}));
put('pass.json.delay', '0.5');

open my $fh, '>', "$DIR/second.jwks" or die;
print {$fh} Hangar::Jwt::jwks($K{s1});
close $fh;

# how many times the IdP was asked for a path
sub asked ($) {
    my $path = shift;
    return scalar grep { $_ eq $path } split /\n/, Hangar::Test::slurp("$IDP/requests");
}

# ---- nginx ------------------------------------------------------------------

my $YAML = <<"EOF";
mcp_servers:
  math:
    command: [perl, $SERVER, --name, math]
auth:
  enabled: true
  rate_limit: {max_attempts: 1000}    # refused tokens on purpose: no lockout
  oidc:
    enabled: true
    audience: hangar
    issuers:
      - issuer: "$ISS"
      - issuer: "$ISS2"
        jwks_file: $DIR/second.jwks
        groups_claim: roles
        tenant_claim: org
        require_tenant: true
        strict_tenant_audience: true
        tenant_audiences: {acme: aud-acme, beta: aud-beta}
        max_token_lifetime_seconds: 0
      - issuer: "$ISS3"
        jwks_uri: "$ISS/broken.json"
      - issuer: "$ISS4"
        jwks_uri: "$ISS/slow.json"
      - issuer: "$ISS5"
        jwks_uri: "$ISS/pass.json"
  role_assignments:
    - {principal: alice, role: admin}
    - {principal: erin, role: admin}
EOF

my @vars = (LD_PRELOAD => $FAKETIME, FAKETIME_TIMESTAMP_FILE => $CLOCK,
            FAKETIME_NO_CACHE => 1, FAKETIME_DONT_FAKE_MONOTONIC => 1);
my %vars = @vars;

my $LOCATIONS = "location /api/ { hangar_api; }\n"
              . "location = /mcp { hangar_mcp; }\n"
              . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n"
              . "location = /.well-known/oauth-protected-resource "
              . "{ hangar_protected_resource; "
              . "hangar_trusted_hosts localhost hangar.example; }\n";

nginx_start({
    workers     => 2,
    timeout     => Hangar::Test::valgrind_on() ? 60 : 10,
    env         => join('', map { "$_=$vars{$_}\n" } sort keys %vars),
    main_config => join('', map { "env $_;\n" } sort keys %vars),
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => $LOCATIONS,
    user_files  => ">>> conf/hangar.yaml\n$YAML",
});

# ---- helpers ------------------------------------------------------------------

sub claims (%) {
    my %over = @_;
    my %c = (iss => $ISS, sub => 'alice', aud => 'hangar', iat => now() - 10,
             exp => now() + 600, groups => ['dev', 'ops'],
             email => 'alice@example.com', tenant_id => 'acme', sid => 'sess-1');
    @c{keys %over} = values %over;
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return \%c;
}

sub token ($;$$) { Hangar::Jwt::token($K{ $_[0] }, $_[1] // claims(), $_[2]) }

# GET /api/system/me with a bearer token: (status, headers, decoded body)
sub me ($) {
    my ($st, $h, $b) = http_request(GET => '/api/system/me', undef,
                                    { Authorization => "Bearer $_[0]" });
    return ($st // 0, $h, eval { $json->decode($b // '') } // { raw => $b });
}

sub refused ($$;$) {
    my ($token, $message, $name) = @_;
    my ($st, $h, $b) = me($token);
    is($st, 401, "$name: 401");
    is($b->{message}, $message, "$name: \"$message\"")
        or diag($json->encode($b)) if defined $message;
    return $b;
}

sub accepted ($$) {
    my ($token, $name) = @_;
    my ($st, $h, $b) = me($token);
    is($st, 200, "$name: accepted") or diag($json->encode($b));
    return $b;
}

# n requests at once; their statuses
sub parallel ($$) {
    my ($n, $token) = @_;
    my @socks = map {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port())
            or die "connect: $!";
        print {$s} "GET /api/system/me HTTP/1.1\r\nHost: localhost\r\n"
                 . "Authorization: Bearer $token\r\nConnection: close\r\n\r\n";
        $s;
    } 1 .. $n;
    my @status;
    for my $s (@socks) {
        my $buf = '';
        my $sel = IO::Select->new($s);
        my $deadline = time + 20;
        while (time < $deadline && $sel->can_read($deadline - time)) {
            sysread($s, $buf, 65536, length $buf) or last;
        }
        push @status, $buf =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
    }
    return @status;
}

# ---- a good token -----------------------------------------------------------

my $b = accepted(token('r1'), 'RS256 token of the discovered issuer');
my $p = $b->{principal} // {};
is($p->{id}, 'alice', 'the principal is the subject');
is($p->{type}, 'user', 'of type user');
is_deeply([sort @{ $p->{groups} // [] }], ['dev', 'ops'], 'groups from the groups claim');
is($p->{tenant_id}, 'acme', 'tenant from tenant_id');
is($json->encode($b) =~ /alice\@example\.com/ ? 1 : 0, 1, 'the email is reported');
is($json->encode($b) =~ /\Q$ISS\E/ ? 1 : 0, 1, 'the issuer is reported');
ok(asked('/.well-known/openid-configuration') >= 1 && asked('/jwks.json') >= 1,
   'the key set was found through discovery');

accepted(token('e1'), 'ES256 token');
accepted(token('r1', claims(groups => 'solo')), 'a string groups claim');
accepted(token('r1', claims(aud => ['other', 'hangar'])), 'aud as a list');
accepted(token('r1', claims(exp => now() - 30)), 'expired 30 s ago: inside the 60 s leeway');
accepted(token('e1', undef, { kid => undef }), 'no kid: the one EC key of the set');

# ---- every message of §1.4, in order ---------------------------------------

{
    my ($st, $h, $body) = http_request(GET => '/api/system/me', undef,
                                       { Authorization => 'Bearer ' });
    is($st, 401, 'an empty bearer token: 401');
    like($body // '', qr/Empty Bearer token/, 'Empty Bearer token');
}

refused('not-a-jwt', 'Invalid JWT token', 'one part');
refused('a.b.c', 'Invalid JWT token', 'three parts that are not base64url JSON');
refused(token('r1') . '.x', 'Invalid JWT token', 'four parts');
my $pad = token('r1');
$pad =~ s/\.([^.]*)\z/.$1=/;
refused($pad, 'Invalid JWT token', 'padding is not base64url');

my $u = refused(token('r1', claims(iss => 'https://evil.example')),
                'Untrusted JWT issuer', 'an unknown issuer');
unlike($json->encode($u), qr/127\.0\.0\.1|second\.example/, 'the trusted issuers are not told');
refused(token('r1', claims(iss => undef)), 'Untrusted JWT issuer', 'no iss');
refused(token('r1', claims(iss => ['x'])), 'Untrusted JWT issuer', 'iss not a string');

my $none = Hangar::Jwt::b64u('{"alg":"none","typ":"JWT"}') . '.'
         . Hangar::Jwt::b64u($json->encode(claims())) . '.';
my $n = refused($none, undef, 'alg none');
like($n->{message} // '', qr/^JWT signing key resolution failed: .*"none"/, 'alg none: key resolution failed');
$n = refused(token('r1', undef, { alg => 'HS256' }), undef, 'HS256');
like($n->{message} // '', qr/^JWT signing key resolution failed: .*"HS256"/, 'HS256: key resolution failed');

my $t = token('r1');
$t =~ s/\.([^.])([^.]*)\z/'.' . ($1 eq 'A' ? 'B' : 'A') . $2/e;
refused($t, 'Invalid JWT token: Signature verification failed', 'a changed signature');
refused(token('evil', undef, { kid => 'r1' }),
        'Invalid JWT token: Signature verification failed', 'signed by another key under kid r1');
refused(token('r1', undef, { kid => 'e1' }),
        'JWT signing key resolution failed: the signing key does not fit the token\'s algorithm',
        'an RS256 token naming the EC key');

refused(token('r1', claims(exp => now() - 120)), 'JWT token has expired', 'expired');
refused(token('r1', claims(nbf => now() + 600)),
        'Invalid JWT token: The token is not yet valid (nbf)', 'nbf in the future');
refused(token('r1', claims(iat => now() + 600, exp => now() + 900)),
        'Invalid JWT token: The token is not yet valid (iat)', 'iat in the future');
refused(token('r1', claims(exp => 'soon')),
        'Invalid JWT token: Expiration Time claim (exp) must be an integer.', 'exp not a number');
refused(token('r1', claims(aud => 'someone-else')), 'Invalid JWT audience', 'another audience');
refused(token('r1', claims(aud => ['a', 'b'])), 'Invalid JWT audience', 'a list without ours');
refused(token('r1', claims(aud => undef)),
        'Invalid JWT token: Token is missing the "aud" claim', 'no aud');

my $l = refused(token('r1', claims(iat => now() - 10, exp => now() + 7190)),
                'Token lifetime 7200s exceeds the maximum allowed 3600s', 'lifetime over 3600 s');
is_deeply($l->{details} && { map { $_ => $l->{details}{$_} } qw(actual_lifetime max_lifetime) },
          { actual_lifetime => 7200, max_lifetime => 3600 }, 'the lifetime details')
    or diag($json->encode($l));
refused(token('r1', claims(iat => undef)),
        "JWT token missing required 'iat' claim for lifetime validation", 'no iat');
refused(token('r1', claims(exp => undef)),
        "JWT token missing required 'exp' claim for lifetime validation", 'no exp');
refused(token('r1', claims(sub => undef)), 'Missing sub claim in JWT', 'no sub');
refused(token('r1', claims(sub => '')), 'Missing sub claim in JWT', 'an empty sub');

# the second issuer: a local key file, its own claims, tenants
my %c2 = (iss => $ISS2, aud => 'aud-acme', org => 'acme', roles => ['x'],
          tenant_id => undef, groups => undef, iat => undef, exp => now() + 60);
$b = accepted(token('s1', claims(%c2, sub => 'erin')), 'the second issuer, its own key file');
is_deeply($b->{principal}{groups}, ['x'], 'groups from its groups_claim');
is($b->{principal}{tenant_id}, 'acme', 'tenant from its tenant_claim');
refused(token('s1', claims(%c2, org => undef)), 'Missing required tenant claim', 'require_tenant');
refused(token('s1', claims(%c2, org => '  ')), 'Missing required tenant claim', 'a blank tenant');
refused(token('s1', claims(%c2, org => 'gamma')), 'No audience mapping for tenant',
        'an unmapped tenant');
refused(token('s1', claims(%c2, aud => 'aud-beta')),
        'Token audience does not match tenant resource', 'the audience of another tenant');
refused(token('s1', claims(%c2, aud => 'hangar')), 'Invalid JWT audience',
        'no tenant audience at all');
refused(token('r1', claims(%c2), { kid => 's1' }),
        'JWT signing key resolution failed: the signing key does not fit the token\'s algorithm',
        'the first issuer\'s RSA key under the second\'s EC kid');
refused(token('evil', claims(%c2), { kid => 'nope' }),
        'JWT signing key resolution failed: Unable to find a signing key that matches: "nope"',
        'an unknown kid of a key file');

# ---- WWW-Authenticate, the RFC 9728 document ---------------------------------

{
    my ($st, $h) = me('not-a-jwt');
    is($h->{'www-authenticate'},
       'Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource", ApiKey',
       'WWW-Authenticate names the resource metadata');

    ($st, $h, my $body) = http_request(GET => '/.well-known/oauth-protected-resource');
    is($st, 200, 'the protected resource document, without credentials');
    is_deeply(eval { $json->decode($body) },
              { resource => 'http://localhost',
                authorization_servers => [$ISS, $ISS2, $ISS3, $ISS4, $ISS5] },
              'resource and authorization servers') or diag($body);

    ($st, $h, $body) = http_request(GET => '/.well-known/oauth-protected-resource', undef,
                                    { 'X-Forwarded-Proto' => 'https', Host => 'hangar.example:8443' });
    like($body // '', qr/"resource":"https:\/\/hangar\.example:8443"/, 'scheme from X-Forwarded-Proto');

    ($st, $h, $body) = http_request(GET => '/.well-known/oauth-protected-resource', undef,
                                    { Host => 'evil.example' });
    like($body // '', qr/"resource":"http:\/\/localhost"/,
         'a Host that is not trusted is not echoed: the first trusted name stands for it');
}

# ---- key sets: unknown kid, rotation, failure, waiting ------------------------

{
    my $before = asked('/jwks.json');
    my $bogus = token('evil', undef, { kid => 'nope' });
    refused($bogus, 'JWT signing key resolution failed: Unable to find a signing key that matches: "nope"',
            'an unknown kid, within 30 s of the last fetch');
    is(asked('/jwks.json'), $before, 'no fetch within 30 s of the last one');

    wall_clock(40);
    refused(token('evil', undef, { kid => 'nope' }),
            'JWT signing key resolution failed: Unable to find a signing key that matches: "nope"',
            'an unknown kid, 40 s later');
    my $after = asked('/jwks.json');
    ok($after > $before, 'an unknown kid fetched the key set again');
    my @st = map { (me(token('evil', undef, { kid => "bogus$_" })))[0] } 1 .. 20;
    is_deeply(\@st, [(401) x 20], 'a flood of bogus kids is refused');
    ok(asked('/jwks.json') - $before <= 2, 'and fetches at most once per worker')
        or diag(asked('/jwks.json') - $before);

    # rotation: the IdP publishes r2; a token signed with it gets through
    put('jwks.json', Hangar::Jwt::jwks(@K{qw(r1 e1 r2)}));
    wall_clock(80);
    accepted(token('r2'), 'a key published later: found by a refetch on its kid');
    accepted(token('r2'), 'and again');
    accepted(token('r1'), 'the old key still works');
}

{
    my $m = refused(token('b1', claims(iss => $ISS3)), undef, 'a key set that answers 500');
    is($m->{message}, 'JWT signing key resolution failed: cannot fetch the key set: HTTP 500',
       'the fetch failure is the message');
    my $asked = asked('/broken.json');
    refused(token('b1', claims(iss => $ISS3)), $m->{message}, 'refused again, within 30 s');
    ok(asked('/broken.json') - $asked <= 1, 'without asking again (but the other worker)');

    unlink "$IDP/broken.json.status";
    wall_clock(120);
    accepted(token('b1', claims(iss => $ISS3)), 'the IdP is back: 30 s later the set is fetched');
}

{
    # the IdP takes 1 s to answer: requests pile up behind one fetch per worker
    my @st = parallel(8, token('w1', claims(iss => $ISS4)));
    is_deeply(\@st, [(200) x 8], 'eight requests waiting for one fetch are all woken');
    ok(asked('/slow.json') <= 2, 'the slow set was fetched once per worker at most')
        or diag(asked('/slow.json'));
}

# ---- the official SDK client through the front door ----------------------------

{
    # started once, so that its tools are in the catalog
    my %auth = (Authorization => 'Bearer ' . token('r1'), 'Content-Type' => 'application/json');
    my ($st) = http_request(POST => '/api/mcp_servers/math/start', '{}', \%auth);
    is($st, 200, 'an admin\'s bearer token starts a server');

    local $ENV{SDK_DIR} = $SDK;
    local $ENV{SDK_HEADERS} = $json->encode({ Authorization => 'Bearer ' . token('r1') });
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my $calls = $json->encode([{ name => 'add', arguments => { a => 2, b => 3 } }]);
    my @out = map { eval { $json->decode($_) } // { raw => $_ } }
              `$NODE $REPO/t/servers/sdk-client.mjs $url '$calls' 2>&1`;
    my ($tools) = grep { $_->{tools} } @out;
    ok($tools && grep({ /add/ } @{ $tools->{tools} }), 'the SDK lists the tools with a bearer token')
        or diag($json->encode(\@out));
    my ($call) = grep { ($_->{call} // '') eq 'add' } @out;
    is($call && $call->{result}{content}[0]{text}, '5', 'and calls one');

    local $ENV{SDK_HEADERS} = $json->encode({ Authorization => 'Bearer ' . token('evil', undef, { kid => 'r1' }) });
    @out = `$NODE $REPO/t/servers/sdk-client.mjs $url '[]' 2>&1`;
    unlike(join('', @out), qr/"tools"/, 'a bad token gets no tools');
}

# the pass-through waits for a key set too (its first token of that issuer)
{
    my $init = $json->encode({ jsonrpc => '2.0', id => 1, method => 'initialize',
                               params => { protocolVersion => '2025-06-18', capabilities => {},
                                           clientInfo => { name => 't', version => '0' } } });
    my %h = ('Content-Type' => 'application/json',
             Accept => 'application/json, text/event-stream',
             Authorization => 'Bearer ' . token('w1', claims(iss => $ISS5, sub => 'alice')));
    my ($st, $hd, $body) = http_request(POST => '/mcp/math', $init, \%h);
    is($st, 200, 'the pass-through with a bearer token whose key set is fetched first');
    like($body // '', qr/"protocolVersion"/, 'and the server answers initialize');
    $h{Authorization} = 'Bearer ' . token('w1', claims(iss => $ISS5, sub => 'alice', aud => 'x'));
    ($st, $hd, $body) = http_request(POST => '/mcp/math', $init, \%h);
    is($st, 401, 'a bad token is refused by the pass-through');
    like($hd->{'www-authenticate'} // '', qr/resource_metadata=/, 'with the challenge');
}

wall_clock(0);
is(nginx_stop(), '', 'nginx stopped');
no_alerts();
kill 'TERM', $idp_pid;
waitpid $idp_pid, 0;
$idp_pid = 0;
no_orphans();
Hangar::Test::check_valgrind('with OIDC') if Hangar::Test::valgrind_on();

# ---- without OIDC: the document is a 404, the challenge has no metadata ------------

nginx_start({
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => $LOCATIONS,
    user_files  => ">>> conf/hangar.yaml\nauth:\n  enabled: true\n",
});
{
    my ($st, $h, $body) = http_request(GET => '/.well-known/oauth-protected-resource');
    is($st, 404, 'no issuer: 404');
    is_deeply(eval { $json->decode($body) },
              { error => 'not_found', message => 'No OIDC issuer configured' }, 'the 404 body');
    ($st, $h) = me(token('r1'));
    is($st, 401, 'a bearer token without OIDC: 401');
    is($h->{'www-authenticate'}, 'Bearer, ApiKey', 'WWW-Authenticate without metadata');
}
is(nginx_stop(), '', 'nginx stopped');
no_alerts();
Hangar::Test::check_valgrind('without OIDC') if Hangar::Test::valgrind_on();

unlink $CLOCK;
system('rm', '-rf', $DIR);
Test::More::done_testing();
