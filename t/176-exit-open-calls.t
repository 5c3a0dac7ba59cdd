# A worker that exits (nginx -s reload, nginx -s quit) with background
# calls in flight closes them: a health check that a remote server never
# answers does not keep the old worker alive and leaves no socket open
# (nginx aborts the exit with "open socket #N left in connection"
# otherwise; the same close covers a call in a TLS handshake).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

my $json = JSON::PP->new->canonical;
my $marks = servroot() . '-marks';
require File::Path;
File::Path::make_path($marks);
unlink glob("$marks/*");

# the remote: answers the MCP handshake and tools/list; a ping is read,
# marked in $marks and never answered.  One process per connection.
my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                               Listen => 64, ReuseAddr => 1) or die "listen: $!\n";
my $rport = $ls->sockport;

sub answer ($$) {
    my ($c, $body) = @_;
    print {$c} "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

my $spid = fork // die "fork: $!\n";
if (!$spid) {
    setpgrp(0, 0);
    $SIG{CHLD} = 'IGNORE';
    alarm 300;
    while (1) {
        my $c = $ls->accept or next;
        my $k = fork;
        if (defined $k && $k == 0) {
            while (1) {
                my ($head, $len) = ('', 0);
                while (defined(my $l = <$c>)) {
                    last if $l eq "\r\n";
                    $head .= $l;
                    $len = $1 if $l =~ /^content-length:\s*(\d+)/i;
                }
                POSIX::_exit(0) if $head eq '';
                if ($head =~ /^GET /) {
                    open my $f, '>>', "$marks/get"; print {$f} "GET\n"; close $f;
                    print {$c} "HTTP/1.1 405 Method Not Allowed\r\n"
                        . "Content-Length: 0\r\n\r\n";
                    next;
                }
                my $body = '';
                read($c, $body, $len) if $len;
                my $m = eval { $json->decode($body) } // {};
                my $method = $m->{method} // '';
                if (!defined $m->{id}) {
                    print {$c} "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                } elsif ($method eq 'initialize') {
                    answer($c, $json->encode({ jsonrpc => '2.0', id => $m->{id},
                        result => { protocolVersion => '2025-06-18',
                                    capabilities => { tools => {} },
                                    serverInfo => { name => 'still', version => '1' } } }));
                } elsif ($method eq 'tools/list') {
                    answer($c, $json->encode({ jsonrpc => '2.0', id => $m->{id},
                        result => { tools => [ { name => 'noop',
                            inputSchema => { type => 'object' } } ] } }));
                } else {
                    open my $f, '>', "$marks/$method.$$"; close $f;
                    sleep 600;    # never answered
                }
            }
        }
        close $c;
    }
}
close $ls;

END { local $?; if ($spid) { kill 'KILL', -$spid; waitpid $spid, 0 } }

sub wait_for ($$) {
    my ($cond, $secs) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

my $yaml = "mcp_servers:\n"
         . "  still:\n    mode: remote\n    endpoint: http://127.0.0.1:$rport/mcp\n"
         . "    health_check_interval_s: 5\n    http: {read_timeout: 120}\n";

nginx_start({
    workers     => 2,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n",
    user_files  => ">>> conf/hangar.yaml\n$yaml",
});

my ($st) = http_request(POST => '/api/mcp_servers/still/start');
is($st, 200, 'the remote starts');

ok(wait_for(sub { scalar glob("$marks/ping.*") }, 30),
   'a health check (ping) is in flight, never to be answered');

my $master = master_pid();
my @old = Hangar::Test::worker_pids($master);
nginx_reload();
ok(wait_for(sub { !grep { kill 0, $_ } @old }, 30),
   'reload: the old workers exit with the check in flight');

my $log = Hangar::Test::slurp(servroot() . '/logs/error.log');
unlike($log, qr/open socket #\d+ left in connection/,
       'reload: no socket left open by the old workers');

# once more in the new workers, then quit
unlink glob("$marks/ping.*");
ok(wait_for(sub { scalar glob("$marks/ping.*") }, 45),
   'a check cut by the reload is replaced in a new worker');

# the remote answers its GET stream with 405 (it offers none): the stream
# rests, it is not asked again and again
my $gets = () = Hangar::Test::slurp("$marks/get") =~ /GET/g;
ok($gets >= 1 && $gets <= 4,
   "a GET stream refused with 405 is not asked for again at once ($gets GETs)");

is(nginx_stop(), '', 'quit: nginx exits with the check in flight');
$log = Hangar::Test::slurp(servroot() . '/logs/error.log');
unlike($log, qr/open socket #\d+ left in connection/,
       'quit: no socket left open');
Hangar::Test::check_valgrind('exit') if Hangar::Test::valgrind_on();
no_alerts();

Test::More::done_testing();
