# A server declared in hangar.yaml and changed through the API: the API's
# changes overlay only the fields they changed.  Later edits of
# hangar.yaml to other fields apply on reload and restart; a field changed
# on both sides keeps the API's value, with a warning naming the server
# and the field.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $json = JSON::PP->new;

sub yaml ($) {
    my $text = shift;
    open my $fh, '>', servroot() . '/conf/hangar.yaml' or die;
    print {$fh} $text;
    close $fh;
}

sub server ($) {
    my (undef, undef, $b) = http_request(GET => "/api/mcp_servers/$_[0]");
    return eval { $json->decode($b) } // {};
}

sub tools ($) { join ',', map { $_->{name} } @{ server($_[0])->{tools} || [] } }

sub state_doc () {
    open my $fh, '<', servroot() . '/state/hangar-state.json' or return {};
    local $/;
    return eval { $json->decode(scalar <$fh>) } // {};
}

my $tools_a = '[{name: a, inputSchema: {type: object}}]';
my $tools_b = '[{name: b, inputSchema: {type: object}}]';

my %conf = (
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
);

nginx_start({ %conf, user_files => ">>> conf/hangar.yaml\nmcp_servers:\n"
    . "  s1: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: yaml-0, tools: $tools_a}\n"
    . "  s2: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: two-0}\n" });

my ($st) = http_request(PATCH => '/api/mcp_servers/s1', '{"description":"api-1"}');
is($st, 200, 'description of s1 patched through the API');
is(server('s1')->{description}, 'api-1', 'the API value is served');
is_deeply(state_doc()->{overlay}, { s1 => { description => 'yaml-0' } },
          'the state file keeps the changed field with its YAML value');

# hangar.yaml changes another field of s1: it applies; the API's field stays
yaml("mcp_servers:\n"
   . "  s1: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: yaml-0, tools: $tools_b}\n"
   . "  s2: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: two-1}\n");
nginx_reload();
is(tools('s1'), 'b', 'a later YAML edit of another field applies on reload');
is(server('s1')->{description}, 'api-1', 'the field the API changed keeps its value');
is(server('s2')->{description}, 'two-1', 'a server the API never changed follows the YAML');
unlike(slurp_log(), qr/was changed both/, 'no warning: only one side changed each field');

# both sides change the description: the API's value is kept, with a warning
yaml("mcp_servers:\n"
   . "  s1: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: yaml-2, tools: $tools_b}\n"
   . "  s2: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: two-1}\n");
nginx_reload();
is(server('s1')->{description}, 'api-1', 'a field changed on both sides keeps the API value');
like(slurp_log(), qr/\[warn\].*hangar: "s1": "description" was changed both in hangar\.yaml and through the API; the API's value is kept/,
     'a warning names the server and the field');

# and the same after a full restart, and after another API change
($st) = http_request(PATCH => '/api/mcp_servers/s1', '{"idle_ttl_s":30}');
is($st, 200, 'another field patched');
is_deeply(state_doc()->{overlay}{s1}, { description => 'yaml-0', idle_ttl_s => 300 },
          'the overlay keeps the first YAML value of each changed field (300: the default)');
is(nginx_stop(), '', 'nginx stopped');
yaml("mcp_servers:\n"
   . "  s1: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: yaml-2, tools: $tools_a}\n"
   . "  s2: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp', description: two-1}\n");
nginx_start({ %conf, keep_servroot => 1 });
is(tools('s1'), 'a', 'a YAML edit applies after a restart too');
is(server('s1')->{description}, 'api-1', 'and the API value stays');
no_alerts();
is(nginx_stop(), '', 'nginx stopped');

sub slurp_log {
    open my $fh, '<', servroot() . '/logs/error.log' or return '';
    local $/;
    return scalar <$fh>;
}

Test::More::done_testing();
