# Durable changes made at the same time over 2 workers never lose each
# other: 1,000 pairs of PATCHes of different fields of one server, 1,000
# pairs of suspends and 1,000 pairs of withdrawals, each pair sent on two
# connections at once.  Every change answered 2xx is in memory and in the
# state file, and after a restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);

my $PAIRS = $ENV{HANGAR_PAIRS} || 1000;
my $PROCS = 4;
my $LIMIT = 240;        # seconds for each burst, a bound and not a figure

my $http = <<'CONF';
    hangar_zone hangar 4m;
    hangar_state $TEST_NGINX_STATE_DIR;
    hangar_config $TEST_NGINX_SERVROOT/conf/hangar.yaml;
CONF

nginx_start({
    workers     => 2,
    timeout     => 60,
    http_config => $http,
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\nexecution: {remote_allow: [127.0.0.1/32]}\n",
});

sub raw_request {
    my ($method, $uri, $body) = @_;
    $body //= '';
    return "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Content-Type: application/json\r\n"
         . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
}

# both requests are written before either answer is read
sub send_pair {
    my @reqs = @_;
    my @socks;
    for my $raw (@reqs) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => port(), Timeout => 30)
            or return ();
        push @socks, [$s, $raw];
    }
    for (@socks) {
        my ($s, $raw) = @$_;
        while (length $raw) {
            my $n = syswrite($s, $raw) or last;
            substr($raw, 0, $n, '');
        }
    }
    my @status;
    for (@socks) {
        my ($s) = @$_;
        my $buf = '';
        my $sel = IO::Select->new($s);
        while ($sel->can_read(30)) {
            my $n = sysread($s, $buf, 65536, length $buf);
            last unless $n;
        }
        push @status, $buf =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
        close $s;
    }
    return @status;
}

# Runs $PAIRS pairs in $PROCS processes; $make->($k) gives the two requests
# of pair k, $check->($k) (optional) says whether nothing of it was lost.
# Returns (pairs answered 2xx twice, pairs that lost a change, errors).
sub burst {
    my ($name, $make, $check) = @_;
    my $dir = servroot() . "/burst-$name";
    mkdir $dir;
    my @kids;
    for my $c (0 .. $PROCS - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my ($ok, $lost, $err) = (0, 0, 0);
            my $deadline = time + $LIMIT;
            for (my $k = $c; $k < $PAIRS && time < $deadline; $k += $PROCS) {
                my @st = send_pair($make->($k));
                if (@st != 2 || grep { $_ < 200 || $_ > 299 } @st) {
                    $err++;
                    next;
                }
                $ok++;
                $lost++ if $check && !$check->($k);
            }
            open my $fh, '>', "$dir/$c" or POSIX::_exit(1);
            print {$fh} "$ok $lost $err\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid($_, 0) for @kids;
    my ($ok, $lost, $err) = (0, 0, 0);
    for my $c (0 .. $PROCS - 1) {
        open my $fh, '<', "$dir/$c" or next;
        my @f = split ' ', scalar <$fh>;
        $ok += $f[0]; $lost += $f[1]; $err += $f[2];
    }
    return ($ok, $lost, $err);
}

sub state_doc {
    my $text = do {
        local (@ARGV, $/) = (servroot() . '/state/hangar-state.json');
        <>;
    };
    return JSON::PP->new->decode($text);
}

require JSON::PP;
require POSIX;

# -- PATCH pairs: description and the predefined tools of one server ------
for my $c (0 .. $PROCS - 1) {
    my ($st) = http_request(POST => '/api/mcp_servers',
        qq({"mcp_server_id":"p$c","mode":"remote","endpoint":"http://127.0.0.1:1/mcp"}));
    is($st, 201, "server p$c created");
}

my ($ok, $lost, $err) = burst('patch', sub {
    my $k = shift;
    my $id = 'p' . ($k % $PROCS);
    return (raw_request(PATCH => "/api/mcp_servers/$id",
                        qq({"description":"d$k"})),
            raw_request(PATCH => "/api/mcp_servers/$id",
                        qq({"tools":[{"name":"t$k","inputSchema":{"type":"object"}}]})));
}, sub {
    my $k = shift;
    my $id = 'p' . ($k % $PROCS);
    my ($st, undef, $body) = http_request(GET => "/api/mcp_servers/$id");
    return $st == 200 && $body =~ /"description":"d$k"/
           && $body =~ /"name":"t$k"/;
});
diag("PATCH pairs: $ok answered, $lost lost one change, $err failed");
is($err, 0, 'every PATCH of every pair answered 2xx');
is($ok, $PAIRS, "all $PAIRS PATCH pairs ran");
is($lost, 0, 'no PATCH pair lost a change');

my $doc = state_doc();
my $last = 0;
for my $c (0 .. $PROCS - 1) {
    my $k = $c + $PROCS * int(($PAIRS - 1 - $c) / $PROCS);
    my $s = $doc->{mcp_servers}{"p$c"};
    $last++ if ($s->{description} // '') eq "d$k"
               && ($s->{tools}[0]{name} // '') eq "t$k";
}
is($last, $PROCS, 'the state file has both last changes of every server');

# -- suspend pairs: two sessions suspended at once --------------------------
($ok, $lost, $err) = burst('suspend', sub {
    my $k = shift;
    return (raw_request(POST => "/api/sessions/a$k/suspend", '{}'),
            raw_request(POST => "/api/sessions/b$k/suspend", '{}'));
});
$doc = state_doc();
my %susp = map { $_ => 1 } @{ $doc->{suspended} || [] };
my $missing = grep { !$susp{"a$_"} || !$susp{"b$_"} } 0 .. $PAIRS - 1;
diag("suspend pairs: $ok answered, $err failed, $missing lost one");
is($err, 0, 'every suspend answered 2xx');
is($missing, 0, 'no suspend was lost');

# -- withdrawal pairs: two tools withdrawn at once --------------------------
($ok, $lost, $err) = burst('withdraw', sub {
    my $k = shift;
    return (raw_request(POST => "/api/admin/tools/srv/a$k/withdraw", '{}'),
            raw_request(POST => "/api/admin/tools/srv/b$k/withdraw", '{}'));
});
$doc = state_doc();
my %wd = map { $_->{tool} => 1 } @{ $doc->{withdrawn} || [] };
$missing = grep { !$wd{"a$_"} || !$wd{"b$_"} } 0 .. $PAIRS - 1;
diag("withdrawal pairs: $ok answered, $err failed, $missing lost one");
is($err, 0, 'every withdrawal answered 2xx');
is($missing, 0, 'no withdrawal was lost');

# the state file is written off the event loop, by nginx's thread pool
my @threads = map {
    my $st = do { local (@ARGV, $/) = ("/proc/$_/status"); <> } // '';
    $st =~ /^Threads:\s+(\d+)/m ? $1 : 0;
} Hangar::Test::worker_pids(master_pid());
ok(@threads == 2 && !grep({ $_ < 2 } @threads),
   "each worker has a thread pool (threads: @threads)");

no_alerts();
is(nginx_stop(), '', 'nginx stopped');

Test::More::done_testing();
