# Out of the box (issue 9, item 7): the MCP Inspector's CLI
# (@modelcontextprotocol/inspector-cli, in t/.cache/npm) against the front
# door /mcp and the pass-through /mcp/<server> of an nginx set up as
# conf/nginx.conf sets up `make run` (its locations, taken from the file)
# with the default fleet of conf/hangar.yaml.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use Cwd ();
use JSON::PP ();

my $REPO = Cwd::abs_path("$FindBin::Bin/..");
my $NPM = "$REPO/t/.cache/npm";
my $CLI = "$NPM/node_modules/\@modelcontextprotocol/inspector-cli/build/index.js";
my $json = JSON::PP->new;

ok(-f $CLI, 'the Inspector CLI is installed (make test-deps)') or BAIL_OUT('no Inspector CLI');

# the locations of `make run`, as conf/nginx.conf has them
my $conf = do { local (@ARGV, $/) = ("$REPO/conf/nginx.conf"); <> };
my ($server) = $conf =~ /^\s*server \{\n(.*?)^    \}\n/ms;
$server =~ s/^\s*listen [^\n]*\n//m;
like($server, qr{location = /mcp\s+\{ hangar_mcp; \}}, 'conf/nginx.conf serves the front door at /mcp');
like($server, qr{location ~ \^/mcp/\(\?<server>\[\^/\]\+\)\$ \{ hangar_pass \$server; \}},
     'and the pass-through at /mcp/<server>');
my ($zone) = $conf =~ /^\s*(hangar_zone [^\n]*)$/m;

nginx_start({
    workers     => 2,
    timeout     => 60,
    env         => "HANGAR_HOME=$REPO\n",
    http_config => "    $zone\n    hangar_config $REPO/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => $server,
});

my $base = 'http://127.0.0.1:' . port();

# its cwd bug (mcp-peers.md §5): it must run from a direct subdirectory of
# the npm project
sub inspector (@) {
    my @args = @_;
    my $cmd = join ' ', map { quotemeta } 'node', $CLI, @args;
    my $out = qx{cd \Q$NPM/node_modules\E && timeout 60 $cmd 2>&1};
    my $doc = eval { $json->decode($out) };
    diag($out) unless $doc;
    return $doc || {};
}

my $list = inspector("$base/mcp", '--transport', 'http', '--method', 'tools/list');
my @names = map { $_->{name} } @{ $list->{tools} || [] };
my %has = map { $_ => 1 } @names;
ok(@names >= 10, scalar(@names) . ' tools of the default fleet through /mcp');
ok($has{echo} && $has{add} && $has{env}, 'demo\'s echo, add and env among them');
ok(!grep({ /__/ } @names), 'one server: the names are its own (auto naming)');

my $call = inspector("$base/mcp", '--transport', 'http', '--method', 'tools/call',
                     '--tool-name', 'echo', '--tool-arg', 'text=hello');
is($call->{content}[0]{text}, 'hello', 'tools/call echo through /mcp');

$call = inspector("$base/mcp", '--transport', 'http', '--method', 'tools/call',
                  '--tool-name', 'env', '--tool-arg', 'name=DEMO_GREETING');
is($call->{content}[0]{text}, 'hello', 'the server has conf/hangar.yaml\'s environment');

$call = inspector("$base/mcp/demo", '--transport', 'http', '--method', 'tools/call',
                  '--tool-name', 'add', '--tool-arg', 'a=2', 'b=3');
is($call->{content}[0]{text}, '5', 'tools/call add through the pass-through /mcp/demo');

$list = inspector("$base/mcp/demo", '--transport', 'http', '--method', 'tools/list');
is(scalar @{ $list->{tools} || [] }, scalar @names, 'the pass-through lists the same tools');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('inspector') if Hangar::Test::valgrind_on();
Test::More::done_testing();
