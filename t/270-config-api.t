# /api/config (hangar-core.md §1.5, §4.4, §4.5): the effective
# configuration with secrets masked at any depth; a reload through the API
# that adds, changes and removes servers while a call runs on an unchanged
# one (the call completes); a bad file changes nothing and says file, line
# and column; export loads back unchanged; backups rotate (5 kept) in the
# state directory; the diff of disk against memory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";

my $json = JSON::PP->new->canonical;

sub api ($$;$) {
    my ($method, $path, $body) = @_;
    my ($st, $h, $b) = http_request($method, "/api$path", $body);
    return ($st, eval { $json->decode($b) } // $b, $h);
}

sub yaml_file () { servroot() . '/conf/hangar.yaml' }

sub write_yaml ($) {
    open my $fh, '>', yaml_file() or die yaml_file() . ": $!";
    print $fh shift;
    close $fh;
}

sub error_log () {
    local (@ARGV, $/) = (servroot() . '/logs/error.log');
    return <> // '';
}

sub wait_for ($$) {
    my ($what, $cond) = @_;
    for (1 .. 200) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

my $first = <<"YAML";
mcp_servers:
  a:
    command: [perl, $SERVER, --verbose]
  b:
    command: [perl, $SERVER]
    env: {API_TOKEN: tok-123, PLAIN: visible, NESTED_PASSWORD: pw}
  c:
    command: [perl, $SERVER]
  r:
    mode: remote
    endpoint: "http://127.0.0.1:1/mcp"
    auth: {type: bearer, bearer_token: s3cret}
    http: {headers: {Authorization: "Bearer s3cret", X-Trace: plain}}
YAML

nginx_start({
    workers     => 2,
    timeout     => 60,      # the first requests under valgrind
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n$first",
});

# -- GET /api/config: effective, masked at any depth -----------------------
my ($st, $doc) = api(GET => '/config');
is($st, 200, 'GET /api/config');
my $s = $doc->{config}{mcp_servers} // {};
is_deeply([sort keys %$s], [qw(a b c r)], 'the declared servers');
is($s->{b}{env}{API_TOKEN}, '[REDACTED]', 'an env secret is masked');
is($s->{b}{env}{NESTED_PASSWORD}, '[REDACTED]', 'and another');
is($s->{b}{env}{PLAIN}, 'visible', 'a plain env value is shown');
is($s->{r}{http}{headers}{Authorization}, '[REDACTED]', 'an auth header is masked');
is($s->{r}{http}{headers}{'X-Trace'}, 'plain', 'another header is shown');
is($s->{r}{auth}{bearer_token}, '[REDACTED]', 'a bearer token is masked');
is($s->{r}{auth}{type}, 'bearer', 'its type is shown');
(undef, undef, my $raw) = http_request(GET => '/api/config');
unlike($raw, qr/tok-123|s3cret|"pw"/, 'no secret anywhere in the answer');
($st) = api(GET => '/config/');
is($st, 200, 'GET /api/config/ (trailing slash)');

# an API change is part of the effective configuration
($st, $doc) = api(POST => '/mcp_servers',
            qq({"mcp_server_id":"d","mode":"subprocess","command":["node","/nonexistent/d.js"]}));
is($st, 201, 'd created through the API') or diag($json->encode(ref $doc ? $doc : [$doc]));
($st, $doc) = api(GET => '/config');
ok($doc->{config}{mcp_servers}{d}, 'the API-made server is in the effective configuration');

# -- diff: disk against memory ----------------------------------------------
($st, $doc) = api(GET => '/config/diff');
is($st, 200, 'GET /api/config/diff');
ok($doc->{has_diff}, 'has_diff: the API added a server');
like($doc->{diff}, qr/\A--- on-disk\n\+\+\+ in-memory\n\@\@ -\d+(,\d+)? \+\d+(,\d+)? \@\@\n/,
     'a unified diff with both headers');
like($doc->{diff}, qr/^\+  d:$/m, 'the added server is a + line');
ok(!$doc->{on_disk}{mcp_servers}{d} && $doc->{in_memory}{mcp_servers}{d}, 'both sides');
is($doc->{on_disk}{mcp_servers}{b}{env}{API_TOKEN}, '[REDACTED]', 'the disk side is masked');
unlike($doc->{diff}, qr/tok-123|s3cret/, 'and so is the diff');

# -- export round trip: export -> file -> reload -> export -----------------
($st, $doc) = api(POST => '/config/export');
is($st, 200, 'POST /api/config/export');
my $y1 = $doc->{yaml} // '';
like($y1, qr/^mcp_servers:\n/m, 'YAML, block style');
like($y1, qr/tok-123/, 'export carries the real values (it must load back)');
write_yaml($y1);
($st, $doc) = api(POST => '/config/reload');
is($st, 200, 'the exported file reloads') or diag($json->encode(ref $doc ? $doc : [$doc]));
is_deeply([@{ $doc->{result}{mcp_servers_added} // [] },
           @{ $doc->{result}{mcp_servers_removed} // [] },
           @{ $doc->{result}{mcp_servers_updated} // [] }], [],
          'nothing added, removed or updated by loading the export');
($st, $doc) = api(POST => '/config/export');
is($doc->{yaml}, $y1, 'export -> load -> export is identical');
($st, $doc) = api(GET => '/config/diff');
ok(!$doc->{has_diff} && $doc->{diff} eq '', 'no diff once the file is the export');

# -- a reload that adds, changes and removes, while a call runs on a -------
write_yaml($first);
api(POST => '/config/reload');
for my $id (qw(a b c)) {
    ($st) = api(POST => "/mcp_servers/$id/start");
    is($st, 200, "$id started");
}
(undef, $doc) = api(GET => '/mcp_servers/c');

my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port())
    or die "connect: $!";
my $init = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}';
my (undef, $ih) = http_request(POST => '/mcp', $init,
    { 'Content-Type' => 'application/json', Accept => 'application/json, text/event-stream' });
my $sid = $ih->{'mcp-session-id'};
my $call = '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a__sleep","arguments":{"ms":1500}}}';
print $sock "POST /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
          . "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
          . "Mcp-Session-Id: $sid\r\nContent-Length: " . length($call) . "\r\n\r\n$call";
ok(wait_for('the call reached a', sub {
    my (undef, $l) = api(GET => '/mcp_servers/a/logs?lines=200');
    return JSON::PP->new->encode($l) =~ /tools\/call/;
}), 'the call to a is running');

write_yaml(<<"YAML");
mcp_servers:
  a:
    command: [perl, $SERVER, --verbose]
  b:
    command: [perl, $SERVER]
    env: {API_TOKEN: tok-456, PLAIN: visible, NESTED_PASSWORD: pw}
  e:
    command: [perl, $SERVER]
  r:
    mode: remote
    endpoint: "http://127.0.0.1:1/mcp"
    auth: {type: bearer, bearer_token: s3cret}
    http: {headers: {Authorization: "Bearer s3cret", X-Trace: plain}}
YAML

($st, $doc) = api(POST => '/config/reload', '{"graceful":true}');
is($st, 200, 'POST /api/config/reload');
my $r = $doc->{result} // {};
is($doc->{status}, 'reloaded', 'status reloaded');
ok($r->{success}, 'success');
like($r->{config_path}, qr{conf/hangar\.yaml$}, 'config_path');
is_deeply($r->{mcp_servers_added}, ['e'], 'added: e');
is_deeply($r->{mcp_servers_removed}, ['c'], 'removed: c');
is_deeply($r->{mcp_servers_updated}, ['b'], 'updated: b');
is_deeply([sort @{ $r->{mcp_servers_unchanged} // [] }], [qw(a d r)], 'unchanged: a, d (API) and r');
ok(defined $r->{duration_ms} && $r->{duration_ms} >= 0, 'duration_ms');

# the call on the unchanged server completes
my ($buf, $sel) = ('', IO::Select->new($sock));
while ($sel->can_read(10)) {
    my $n = sysread($sock, $buf, 65536, length $buf);
    last unless $n;
}
like($buf, qr/^HTTP\/1\.1 200/, 'the running call answered 200');
like($buf, qr/slept 1500/, 'the call on the unchanged server completed');

(undef, $doc) = api(GET => '/mcp_servers/a');
is($doc->{state}, 'ready', 'a kept running');
($st) = api(GET => '/mcp_servers/c');
is($st, 404, 'c is gone');
(undef, $doc) = api(GET => '/mcp_servers/b');
isnt($doc->{state}, 'ready', 'b was stopped to restart with its new spec');
($st, $doc) = api(GET => '/mcp_servers/e');
is($doc->{state}, 'cold', 'e is new and cold');
like(error_log(), qr/hangar: configuration "[^"]+hangar\.yaml" reloaded \(api\): added \[e\], removed \[c\], updated \[b\], unchanged 3/,
     'one log line says what the reload changed');

# -- a failed reload changes nothing ---------------------------------------
write_yaml("mcp_servers:\n  a:\n    command: [perl\n  b: {}\n");
($st, $doc) = api(POST => '/config/reload');
is($st, 500, 'a bad file: 500');
is($doc->{error}, 'ConfigurationError', 'ConfigurationError');
like($doc->{message}, qr/hangar\.yaml:\d+:\d+: /, 'the message has file, line and column');
(undef, $doc) = api(GET => '/mcp_servers');
my @ids = sort map { $_->{mcp_server_id} } @{ ref $doc eq 'ARRAY' ? $doc : $doc->{mcp_servers} // [] };
is_deeply(\@ids, [qw(a b d e r)], 'the fleet is as it was');
(undef, $doc) = api(GET => '/mcp_servers/a');
is($doc->{state}, 'ready', 'a still runs');

write_yaml("mcp_servers:\n  a:\n    command: [perl, $SERVER]\n    idle_ttl_s: -4\n");
($st, $doc) = api(POST => '/config/reload');
is($st, 500, 'an invalid value: 500');
like($doc->{message}, qr/hangar\.yaml:\d+:\d+: .*idle_ttl_s/, 'it names the file, place and field');
(undef, $doc) = api(GET => '/mcp_servers/e');
is($doc->{state}, 'cold', 'e is still there');

($st, $doc) = api(POST => '/config/reload', '{"config_path":"/etc/passwd"}');
is($st, 422, 'config_path is refused');
is($doc->{error}, 'ValidationError', 'ValidationError');

# -- backups rotate in the state directory ---------------------------------
my $state = servroot() . '/state';
my $path;
for my $i (1 .. 7) {
    ($st, $doc) = api(POST => '/config/backup', $i == 1 ? '{"config_path":"/tmp/elsewhere.yaml"}' : undef);
    is($st, 200, "backup $i");
    $path = $doc->{path};
}
is($path, "$state/hangar.yaml.bak1", 'the newest backup is bak1 in the state directory');
ok(!-e '/tmp/elsewhere.yaml.bak1', 'a caller\'s config_path is ignored');
ok(-f "$state/hangar.yaml.bak$_", "bak$_ kept") for 1 .. 5;
ok(!-e "$state/hangar.yaml.bak6", 'no sixth backup');
my $bak = do { local (@ARGV, $/) = ("$state/hangar.yaml.bak1"); <> };
like($bak, qr/^__snapshot__:\n  group_count: 0\n  mcp_server_count: 5\n  timestamp: "\d{4}-\d\d-\d\dT/m,
     'the backup carries its snapshot block');
like($bak, qr/^mcp_servers:\n/m, 'and the configuration');

mkdir "$state/hangar.yaml.bak.tmp" or die $!;
($st, $doc) = api(POST => '/config/backup');
is($st, 503, 'a backup that cannot be written: 503');
is($doc->{error}, 'ConfigurationUnavailableError', 'ConfigurationUnavailableError');
rmdir "$state/hangar.yaml.bak.tmp";

# -- nginx -s reload logs its line too --------------------------------------
write_yaml("mcp_servers:\n  a:\n    command: [perl, $SERVER, --verbose]\n");
nginx_reload();
ok(wait_for('the reload line', sub { error_log() =~ /reloaded \(nginx\): added \[\], removed \[(?:[ber] ?){3}\], updated \[\], unchanged 2/ }),
   'nginx -s reload logs one line with what changed');

is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('config api') if Hangar::Test::valgrind_on();
no_alerts();
no_orphans();
Test::More::done_testing();
