# The front door's lists of prompts and resources when servers misbehave:
# one that answers an error and one that never answers are left out, with
# a line in the log each, and the list of the others is answered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";

my $json = JSON::PP->new->canonical;

sub rpc ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $body, \%h);
    return ($st, $hd, eval { $json->decode($b) } // $b);
}

nginx_start({
    workers     => 2,
    timeout     => 40,      # a list waits 10 s for a server that hangs
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\nlocation = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  fine:\n    command: [perl, $SERVER, --name, fine, "
                 . "--prompts, p-fine, --resources, 'f://one']\n"
                 . "  failing:\n    command: [perl, $SERVER, --name, failing, "
                 . "--prompts, p-failing, --resources, 'x://one', --offers, fail]\n"
                 . "  hanging:\n    command: [perl, $SERVER, --name, hanging, "
                 . "--prompts, p-hanging, --resources, 'y://one', --offers, hang]\n",
});

for my $id (qw(fine failing hanging)) {
    my ($st) = http_request(POST => "/api/mcp_servers/$id/start");
    is($st, 200, "$id started");
}

my ($st, $h, $doc) = rpc('{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                         . '{"protocolVersion":"2025-11-25","capabilities":{},'
                         . '"clientInfo":{"name":"t","version":"0"}}}');
my $sid = $h->{'mcp-session-id'};
ok($sid, 'a session');

($st, undef, $doc) = rpc('{"jsonrpc":"2.0","id":2,"method":"prompts/list"}', $sid);
is($st, 200, 'prompts/list answered');
is_deeply([ map { $_->{name} } @{ $doc->{result}{prompts} || [] } ], ['p-fine'],
          'with the prompts of the server that answered') or diag($json->encode($doc));

($st, undef, $doc) = rpc('{"jsonrpc":"2.0","id":3,"method":"resources/list"}', $sid);
is_deeply([ map { $_->{uri} } @{ $doc->{result}{resources} || [] } ], ['hangar://fine/f://one'],
          'resources/list too') or diag($json->encode($doc));

my $log = slurp_log();
like($log, qr/"failing" left out of prompts\/list: it answered "Internal error: list failure/,
     'the failing server is named in the log, with its error');
like($log, qr/"hanging" left out of prompts\/list: it timed out/,
     'the hanging one too');

# the other methods still reach the server that answers
($st, undef, $doc) = rpc('{"jsonrpc":"2.0","id":4,"method":"resources/read",'
                         . '"params":{"uri":"hangar://fine/f://one"}}', $sid);
is($doc->{result}{contents}[0]{text}, 'resource f://one of fine', 'a read of the fine one')
    or diag($json->encode($doc));

# the hanging server's calls end with it
http_request(POST => '/api/mcp_servers/hanging/stop');

is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('relay faults') if Hangar::Test::valgrind_on();
no_orphans();
no_alerts();
Test::More::done_testing();


sub slurp_log {
    open(my $fh, '<', Hangar::Test::servroot() . '/logs/error.log') or return '';
    local $/;
    return <$fh>;
}
