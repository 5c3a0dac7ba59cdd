# /metrics: the counters of a scripted session over 2 workers, counted
# once (in the zone), with exact values; the exposition passes
# promtool check metrics; the tools of a server past hangar_metrics_tools
# are counted as "other".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my ($PROMTOOL) = grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH} // '';

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'promtool missing (make deps installs prometheus)')
    unless $PROMTOOL;

my $json = JSON::PP->new->canonical;

sub mcp ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if defined $sid;
    return http_request(POST => '/mcp', $body, \%h);
}

sub session () {
    my ($st, $h) = mcp('{"jsonrpc":"2.0","id":1,"method":"initialize",'
                     . '"params":{"protocolVersion":"2025-06-18"}}');
    die "initialize: $st" unless $st == 200;
    return $h->{'mcp-session-id'};
}

my %workers;

sub call ($$$) {
    my ($sid, $tool, $args) = @_;
    my ($st, $h, $b) = mcp($json->encode({ jsonrpc => '2.0', id => 7,
        method => 'tools/call',
        params => { name => $tool, arguments => $args } }), $sid);
    return ($st, $b, $h->{'x-worker'} // '');
}

sub metrics () {
    return http_request(GET => '/metrics');
}

sub sample ($$) {
    my ($text, $name) = @_;
    return $text =~ /^\Q$name\E (\S+)$/m ? $1 : undef;
}

sub promtool ($) {
    my $text = shift;
    my $file = servroot() . '/metrics.txt';
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
    my $out = `$PROMTOOL check metrics < $file 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx ($) {
    my $extra = shift;
    nginx_start({
        workers     => 2,
        timeout     => 60,      # the first requests under valgrind
        http_config => "    hangar_zone hangar 1m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n$extra",
        config      => "add_header X-Worker \$pid always;\n"
                     . "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; }\n"
                     . "location = /metrics { hangar_metrics; }\n"
                     . "location = /metrics-gzip { hangar_metrics; gzip on;"
                     . " gzip_types text/plain; }\n",
        user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                     . "  math:\n    command: [perl, $SERVER]\n"
                     . "    tools: {deny_list: [\"crash\"]}\n",
    });
}

# -- a scripted session: exact counts ------------------------------------
start_nginx('');

my ($st, $h, $text) = metrics();
is($st, 200, 'GET /metrics before anything happened');
like($h->{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'the Prometheus content type');
{
    my (undef, $gh) = http_request(GET => '/metrics-gzip', undef,
                                   { 'Accept-Encoding' => 'gzip' });
    is($gh->{'content-encoding'} // '', 'gzip',
       'gzip_types text/plain compresses /metrics (the type is matched '
       . 'without its parameters)');
}
my ($rc, $out) = promtool($text);
is($rc, 0, 'promtool check metrics passes on a fresh zone') or diag($out);
for my $f (qw(mcp_hangar_tool_calls mcp_hangar_tool_call_duration_seconds
              mcp_hangar_tool_call_errors mcp_hangar_mcp_server_starts
              mcp_hangar_mcp_server_stops mcp_hangar_health_checks
              mcp_hangar_messages_sent mcp_hangar_http_requests
              mcp_hangar_rate_limit_hits mcp_hangar_batch_calls
              mcp_hangar_gc_cycles mcp_hangar_errors)) {
    my $n = $f =~ /_seconds$/ ? $f : "${f}_total";
    like($text, qr/^# HELP \Q$n\E .+\n# TYPE \Q$n\E (counter|histogram)$/m,
         "HELP and TYPE of $f, without samples yet");
}

($st) = http_request(POST => '/api/mcp_servers/math/start');
is($st, 200, 'math started through the API');

my $sid = session();
# at least 6 calls of add, and until both workers served one
my %want = (add => 0, fail => 0, error => 0);
my $adds = 0;
while ($adds < 6 || (keys %workers < 2 && $adds < 200)) {
    $adds++;
    my ($s, $rb, $w) = call($sid, 'add', { a => $adds, b => 1 });
    $workers{$w}++;
    $want{add}++ if $s == 200 && $rb =~ /"text":"@{[ $adds + 1 ]}"/;
}
is(scalar keys %workers, 2, "the calls were served by both workers ($adds calls of add)");
for my $i (1 .. 3) {
    my ($s, $rb) = call($sid, 'fail', { message => "no $i" });
    $want{fail}++ if $s == 200 && $rb =~ /"isError":true/;
}
my ($s, $rb) = call($sid, 'error', { code => -32000, message => 'bad' });
$want{error}++ if $s == 200;
is_deeply(\%want, { add => $adds, fail => 3, error => 1 }, 'every call answered');

($st) = http_request(POST => '/api/mcp_servers/math/stop');
is($st, 200, 'math stopped through the API');

($st, $h, $text) = metrics();
is($st, 200, 'GET /metrics after the session');

my %exact = (
    'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="add"}' => "$adds.0",
    'mcp_hangar_tool_calls_total{mcp_server="math",status="error",tool="add"}' => '0.0',
    'mcp_hangar_tool_calls_total{mcp_server="math",status="error",tool="fail"}' => '3.0',
    'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="fail"}' => '0.0',
    'mcp_hangar_tool_calls_total{mcp_server="math",status="error",tool="error"}' => '1.0',
    'mcp_hangar_tool_call_errors_total{error_type="tool_error",mcp_server="math",tool="fail"}' => '3.0',
    'mcp_hangar_tool_call_errors_total{error_type="JsonRpcError",mcp_server="math",tool="error"}' => '1.0',
    'mcp_hangar_tool_call_duration_seconds_count{mcp_server="math",tool="add"}' => "$adds.0",
    'mcp_hangar_tool_call_duration_seconds_bucket{le="+Inf",mcp_server="math",tool="add"}' => "$adds.0",
    'mcp_hangar_mcp_server_starts_total{mcp_server="math",result="success"}' => '1.0',
    'mcp_hangar_mcp_server_starts_total{mcp_server="math",result="failure"}' => '0.0',
    'mcp_hangar_mcp_server_stops_total{mcp_server="math",reason="user_request"}' => '1.0',
    'mcp_hangar_mcp_server_cold_start_seconds_count{mcp_server="math",mode="subprocess"}' => '1.0',
    'mcp_hangar_messages_sent_total{mcp_server="math",method="tools/call"}' => ($adds + 4) . '.0',
    'mcp_hangar_messages_sent_total{mcp_server="math",method="initialize"}' => '1.0',
    'mcp_hangar_messages_received_total{mcp_server="math",type="error"}' => '1.0',
    'mcp_hangar_mcp_server_up{mcp_server="math"}' => '0.0',
    'mcp_hangar_mcp_server_info{mcp_server="math",mode="subprocess"}' => '1.0',
    'mcp_hangar_rate_limit_hits_total{result="rejected"}' => '0.0',
);
for my $name (sort keys %exact) {
    is(sample($text, $name), $exact{$name}, $name);
}
ok(!defined sample($text, 'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="other"}'),
   'no "other" series under the cap');

# buckets are cumulative and end with the count
my @cum = $text =~ /^mcp_hangar_tool_call_duration_seconds_bucket\{le="[^"]+",mcp_server="math",tool="add"\} (\S+)$/mg;
is(scalar @cum, 15, '14 latency buckets and +Inf');
is_deeply([sort { $a <=> $b } @cum], \@cum, 'the buckets are cumulative');
my ($sum) = sample($text, 'mcp_hangar_tool_call_duration_seconds_sum{mcp_server="math",tool="add"}');
ok(defined $sum && $sum >= 0, 'a _sum for the histogram');

($rc, $out) = promtool($text);
is($rc, 0, 'promtool check metrics passes after the session') or diag($out);

# the same numbers from either worker (counted once, in the zone)
my %seen;
for (1 .. 100) {
    last if keys %seen == 2;
    my (undef, $h2, $t2) = metrics();
    $seen{ $h2->{'x-worker'} } = sample($t2,
        'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="add"}');
}
is(scalar keys %seen, 2, 'both workers answered /metrics');
is_deeply([values %seen], [("$adds.0") x scalar keys %seen], 'both show the same count');

# /api/system carries the same totals
($st, undef, my $body) = http_request(GET => "/api/system");
my $sys = eval { $json->decode($body) } // {};
is($sys->{system}{metrics}{tool_calls}, $adds + 4, '/api/system: tool calls');
is($sys->{system}{metrics}{tool_call_errors}, 4, '/api/system: failed tool calls');
is($sys->{system}{metrics}{starts}, 1, '/api/system: starts');
is($sys->{system}{metrics}{stops}, 1, '/api/system: stops');
ok(defined $sys->{system}{uptime_seconds} && $sys->{system}{version},
   '/api/system: uptime and version');

is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('metrics session') if Hangar::Test::valgrind_on();

# -- the cardinality cap: 2 distinct tools, then "other" -----------------
start_nginx("    hangar_metrics_tools 2;\n");

($st) = http_request(POST => '/api/mcp_servers/math/start');
is($st, 200, 'cap: math started');
$sid = session();
call($sid, 'add', { a => 1, b => 2 });
call($sid, 'echo', { text => 'x' });
call($sid, 'pid', {});
call($sid, 'fail', { message => 'm' });
call($sid, 'echo', { text => 'y' });

(undef, undef, $text) = metrics();
is(sample($text, 'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="add"}'),
   '1.0', 'cap: the first tool has its series');
is(sample($text, 'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="echo"}'),
   '2.0', 'cap: the second tool has its series');
is(sample($text, 'mcp_hangar_tool_calls_total{mcp_server="math",status="success",tool="other"}'),
   '1.0', 'cap: the third tool counts in "other"');
is(sample($text, 'mcp_hangar_tool_calls_total{mcp_server="math",status="error",tool="other"}'),
   '1.0', 'cap: and so does the fourth');
ok($text !~ /tool="(pid|fail)"/, 'cap: no series for the tools past it');
($rc, $out) = promtool($text);
is($rc, 0, 'promtool check metrics passes with the cap') or diag($out);

is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('metrics cap') if Hangar::Test::valgrind_on();

# -- the text outgrows its first buffer (sized for the fleet): servers
# removed keep their counters but leave the fleet; every scrape whole ----
start_nginx('');
{
    my ($bad, $last) = (0, '');
    for my $i (1 .. 90) {
        my ($cst) = http_request(POST => '/api/mcp_servers',
            qq({"mcp_server_id":"gone$i","mode":"subprocess","command":["node"]}));
        my ($dst) = http_request(DELETE => "/api/mcp_servers/gone$i");
        next unless $cst == 201 && $dst =~ /^20/;
        next if $i < 40;
        my ($mst, undef, $mtext) = metrics();
        $bad++ if $mst != 200 || $mtext !~ /mcp_server="gone$i"/;
        $last = $mtext if $mst == 200;
    }
    is($bad, 0, 'every scrape past the first buffer is whole (50 sizes)');
    ok(length($last) > 20000, 'the last one is long (' . length($last)
       . ' bytes)');
    my ($prc, $pout) = promtool($last);
    is($prc, 0, 'and passes promtool') or diag($pout);
}
is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('metrics long') if Hangar::Test::valgrind_on();

no_alerts();
no_orphans();
Test::More::done_testing();
