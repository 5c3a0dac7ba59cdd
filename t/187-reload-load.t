# Fault test: 20 reloads under load.  While REST readers, a REST writer
# and two front-door clients calling a tool on a running stdio server run
# without pause, nginx is reloaded 20 times (each reload adds or removes a
# server).  Not one request may fail, no write may be lost, and the stdio
# server keeps running across all reloads.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $REPO = "$FindBin::Bin/..";
my $SERVER = "$REPO/t/servers/hangar-test-server";
my $RELOADS = 20;
my $json = JSON::PP->new->canonical;

sub slurp ($) {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh>;
}

sub spit ($$) {
    my ($path, $text) = @_;
    open my $fh, '>', "$path.tmp" or die "$path: $!";
    print {$fh} $text;
    close $fh;
    rename "$path.tmp", $path or die "$path: $!";
}

sub ids () {
    my ($st, undef, $body) = http_request(GET => '/api/mcp_servers');
    return $st == 200 ? { map { $_ => 1 } $body =~ /"mcp_server_id":"([^"]+)"/g }
                      : undef;
}

sub mcp ($$) {
    my ($sid, $body) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $h, $b) = http_request(POST => '/mcp', $body, \%h);
    return ($st, $h, eval { $json->decode($b) }, $b);
}

sub fleet ($) {
    my $k = shift;
    return "execution: {remote_allow: [127.0.0.1/32]}\n"
         . "mcp_servers:\n"
         . "  math:\n    command: [perl, $SERVER, --name, math]\n"
         . "    idle_ttl_s: 3600\n"
         . ($k % 2 ? "  extra$k: {mode: remote, endpoint: 'http://127.0.0.1:1/mcp'}\n"
                   : '');
}

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 4m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; }\n",
    user_files  => ">>> conf/hangar.yaml\n" . fleet(0),
});

my $root = servroot();
my ($st, undef, $raw) = http_request(POST => '/api/mcp_servers/math/start');
is($st, 200, 'math started') or diag($raw);
my $doc;
my (undef, $h) = mcp(undef, '{"jsonrpc":"2.0","id":1,"method":"initialize",'
    . '"params":{"protocolVersion":"2025-06-18","capabilities":{},'
    . '"clientInfo":{"name":"t","version":"1"}}}');
my $sid = $h->{'mcp-session-id'};
ok($sid, 'a front-door session');
(undef, undef, $doc) = mcp($sid, '{"jsonrpc":"2.0","id":2,"method":"tools/call",'
    . '"params":{"name":"add","arguments":{"a":1,"b":2}}}');
is($doc->{result}{content}[0]{text}, '3', 'tools/call through the front door');
my (undef, undef, $m) = http_request(GET => '/api/mcp_servers/math');
my ($bridge) = $m =~ /"bridge_pid":(\d+)/;
ok($bridge, "math's bridge: $bridge");

my $stop = "$root/stop-load";
unlink $stop;

# each load process writes "ok fail" and what it must find at the end
sub load (&$) {
    my ($body, $name) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my ($ok, $fail, @notes) = (0, 0);
    my $i = 0;
    until (-e $stop) {
        my ($good, $note) = $body->(++$i);
        if ($good) { $ok++ } else { $fail++; push @notes, $note if @notes < 5 }
    }
    spit("$root/load.$name", join "\n", $ok, $fail, @notes);
    POSIX::_exit(0);
}

my @kids;
push @kids, load {
    my ($st, undef, $b) = http_request(GET => $_[0] % 2 ? '/api/mcp_servers'
                                                         : '/api/mcp_servers/math');
    return (($st // 0) == 200, "GET: " . ($st // 'none') . ' ' . ($b // ''));
} 'reader';

push @kids, load {
    my $i = shift;
    my $id = "w$i";
    my ($st, undef, $b) = http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"$id","mode":"remote","endpoint":"http://127.0.0.1:1/mcp"}));
    return (0, "POST $id: " . ($st // 'none') . ' ' . ($b // '')) unless ($st // 0) == 201;
    if ($i % 3 == 0) {
        ($st, undef, $b) = http_request(DELETE => "/api/mcp_servers/$id");
        return (($st // 0) =~ /^2/, "DELETE $id: " . ($st // 'none') . ' ' . ($b // ''));
    }
    ($st, undef, $b) = http_request(PATCH => "/api/mcp_servers/$id",
                                    qq({"description":"d$i"}));
    return (($st // 0) == 200, "PATCH $id: " . ($st // 'none') . ' ' . ($b // ''));
} 'writer';

for my $c (1 .. 2) {
    push @kids, load {
        my $i = shift;
        my ($st, undef, $d, $b) = mcp($sid, qq({"jsonrpc":"2.0","id":$i,)
            . qq("method":"tools/call","params":{"name":"add",)
            . qq("arguments":{"a":$i,"b":$c}}}));
        my $text = ref $d ? $d->{result}{content}[0]{text} // '' : '';
        return (($st // 0) == 200 && $text eq $i + $c && !$d->{result}{isError},
                "tools/call $i: " . ($st // 'none') . ' ' . ($b // ''));
    } "caller$c";
}

sleep 0.5;
my $reloads = 0;
for my $k (1 .. $RELOADS) {
    spit("$root/conf/hangar.yaml", fleet($k));
    eval { nginx_reload(); $reloads++; 1 } or diag("reload $k: $@");
}
sleep 0.5;
spit($stop, '');
waitpid $_, 0 for @kids;

is($reloads, $RELOADS, "$RELOADS reloads done");
my %res;
for my $name (qw(reader writer caller1 caller2)) {
    my ($ok, $fail, @notes) = split /\n/, slurp("$root/load.$name");
    $res{$name} = [$ok // 0, $fail // -1];
    ok(($ok // 0) > 0, "$name: requests made ($ok)");
    is($fail, 0, "$name: no request failed") or diag(join "\n", @notes);
}
diag(sprintf "%d reloads; REST reads %d, REST writes %d, tools/call %d; failed: %d",
             $reloads, $res{reader}[0], $res{writer}[0],
             $res{caller1}[0] + $res{caller2}[0],
             $res{reader}[1] + $res{writer}[1] + $res{caller1}[1]
             + $res{caller2}[1]);

# every server the writer created and kept is there, with its change
my $ids = ids();
my @lost = grep { !$ids->{"w$_"} } grep { $_ % 3 } 1 .. $res{writer}[0] + $res{writer}[1];
my @back = grep { $ids->{"w$_"} } grep { $_ % 3 == 0 } 1 .. $res{writer}[0];
is(scalar @lost, 0, 'no server created through the API was lost')
    or diag("lost: @lost[0 .. ($#lost > 9 ? 9 : $#lost)]");
is(scalar @back, 0, 'no server deleted through the API came back')
    or diag("back: @back");
ok($ids->{math} && !grep({ /^extra/ } keys %$ids),
   'the fleet of the last reload is in place');

(undef, undef, $m) = http_request(GET => '/api/mcp_servers/math');
my ($bridge2) = $m =~ /"bridge_pid":(\d+)/;
is($bridge2, $bridge, 'math ran on the same bridge through every reload');

is(nginx_stop(), '', 'nginx stopped');
no_orphans();
no_alerts();
Hangar::Test::check_valgrind('reloads under load')
    if Hangar::Test::valgrind_on();
Test::More::done_testing();
