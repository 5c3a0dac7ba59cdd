# Server-to-client requests (sampling, elicitation, roots), log messages
# and cancellation during a call: the official SDK client with its
# handlers against server-everything (stdio behind the bridge) through the
# front door /mcp and through the pass-through /mcp/<server>; answers
# POSTed to either worker; hostile answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK && -f $EV;

my $json = JSON::PP->new->canonical;

my %ALL = (sampling => {}, elicitation => { form => {}, url => {} }, roots => { listChanged => JSON::PP::true });

# the SDK peer: one JSON line per step
sub peer ($$$) {
    my ($path, $caps, $steps) = @_;
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . $path;
    my @lines = `$NODE $REPO/t/servers/sdk-peer.mjs $url '@{[ $json->encode($caps) ]}' '@{[ $json->encode($steps) ]}' 2>&1`;
    my @out = map { eval { $json->decode($_) } // { raw => $_ } } @lines;
    diag(join '', map { $_->{raw} } grep { $_->{raw} } @out) if grep { $_->{raw} } @out;
    return @out;
}

# GET /status of a server's bridge, on its unix socket
sub bridge_status ($) {
    my ($name) = @_;
    for my $sock (glob(servroot() . "/state/run/*.sock")) {
        my $c = IO::Socket::UNIX->new(Peer => $sock) or next;
        print $c "GET /status HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
        local $/;
        my $r = <$c> // '';
        $r =~ s/\A.*?\r\n\r\n//s;
        my $st = eval { $json->decode($r) } // {};
        return $st if ($st->{id} // '') eq $name;
    }
    return {};
}

sub text_of { my ($o) = @_; return join "\n", map { $_->{text} // '' } @{ $o->{result}{content} || [] } }

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "add_header X-Worker \$pid always;\n"
                 . "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n"
                 . "location ~ ^/mcp/(?<server>[^/]+)\$ { hangar_pass \$server; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  everything:\n    command: [$NODE, $EV, stdio]\n"
                 . "  perl:\n    command: [perl, $REPO/t/servers/hangar-test-server, --log-tool,"
                 . " --tools, 'log,sample,sleep,echo']\n",
});

# both started, and server-everything's tools for a client with every
# capability registered (it adds them after initialize)
for my $s (qw(everything perl)) {
    my ($st) = http_request(POST => "/api/mcp_servers/$s/start", '');
    ok($st == 200 || $st == 202 || $st == 409, "$s started ($st)");
}
my $tools = '';
my $deadline = time + 30;
until ($tools =~ /trigger-url-elicitation/ && $tools =~ /"log"/ || time > $deadline) {
    sleep 0.3;
    (undef, undef, $tools) = http_request(GET => '/api/tools', undef);
}
like($tools, qr/trigger-sampling-request/, 'the stdio server offers its sampling tool: the bridge declared sampling');
like($tools, qr/trigger-elicitation-request/, '... elicitation (form)');
like($tools, qr/trigger-url-elicitation/, '... elicitation (url)');
like($tools, qr/get-roots-list/, '... roots');

# ---------------------------------------------------------------- the SDK client

my @CALLS = (
    { call => 'trigger-sampling-request', arguments => { prompt => 'tell a joke', maxTokens => 50 } },
    { call => 'trigger-elicitation-request', arguments => {} },
    { call => 'trigger-url-elicitation', arguments => { url => 'https://example.com/consent' } },
    { call => 'get-roots-list', arguments => {} },
);

sub full_peer ($$$$) {
    my ($label, $path, $cancel, $after) = @_;

    my @o = peer($path, \%ALL, [@CALLS, { %$cancel, cancelAfterMs => 700 }, $after]);
    my ($sample, $form, $url, $roots, $cancelled, $next) = @o[1 .. 6];

    like(text_of($sample), qr/client sampled: .*tell a joke/,
         "$label: sampling answered by the client's handler, its text in the result")
        or diag($json->encode($sample));
    is_deeply($sample->{asked}, ['sampling/createMessage'], "$label: the client was asked once");
    like(text_of($form), qr/User provided the requested information/,
         "$label: elicitation (form) answered") or diag($json->encode($form));
    is_deeply($form->{asked}, ['elicitation/create:form'], "$label: ... in form mode");
    ok(!$url->{error} && !$url->{result}{isError}, "$label: elicitation (url) answered")
        or diag($json->encode($url));
    is_deeply($url->{asked}, ['elicitation/create:url'], "$label: ... in url mode");
    like(text_of($roots), qr{file:///srv/hangar-root}, "$label: roots/list answered")
        or diag($json->encode($roots));
    ok($cancelled->{error}, "$label: the cancelled call ends for the client")
        or diag($json->encode($cancelled));
    ok(($cancelled->{ms} // 1e9) < 5000, "$label: ... at once ($cancelled->{ms} ms)");
    ok(text_of($next) ne '' && !$next->{result}{isError}, "$label: the next call works")
        or diag($json->encode($next));
}

sub log_peer ($$) {
    my ($label, $path) = @_;

    my @o = peer($path, \%ALL, [{ setLevel => 'debug' }, { call => 'log', arguments => { lines => 3 } }]);
    is(text_of($o[2]), 'logged 3', "$label: a call that logs") or diag($json->encode(\@o));
    is_deeply([ map { $_->{data} } @{ $o[2]{logs} || [] } ], ['log 1', 'log 2', 'log 3'],
              "$label: its notifications/message reach the client during the call");
}

full_peer('front door', '/mcp', { call => 'sleep', arguments => { ms => 20000 } },
          { call => 'sample', arguments => { prompt => 'after' } });
log_peer('front door', '/mcp');
my $bs = bridge_status('perl');
is_deeply([ $bs->{pending}, $bs->{server_requests} ], [0, 0],
          'front door: nothing left pending in the bridge after the cancel');

my ($st, $h, $b) = http_request(GET => '/api/mcp_servers/perl/logs?lines=50', undef);
like($b, qr/request \d+ cancelled/, 'front door: the server got the cancellation, with its own id');

full_peer('pass-through', '/mcp/everything',
          { call => 'trigger-long-running-operation', arguments => { duration => 20, steps => 20 } },
          { call => 'get-sum', arguments => { a => 2, b => 3 } });
log_peer('pass-through', '/mcp/perl');
$bs = bridge_status('everything');
is_deeply([ $bs->{pending}, $bs->{server_requests} ], [0, 0],
          'pass-through: nothing left pending in the bridge after the cancel');
is($bs->{sessions}, 1, 'pass-through: the sessions the clients ended are gone, the module\'s stays');

is(nginx_stop(), "", "nginx stopped");
no_orphans();
no_alerts();
Test::More::done_testing();
