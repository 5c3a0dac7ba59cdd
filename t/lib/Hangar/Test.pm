package Hangar::Test;

# Data-driven nginx tests in the style of Test::Nginx::Socket, on Debian's
# Test::Base (Test::Nginx is not packaged).  A .t file starts with
#     use FindBin; use lib "$FindBin::Bin/lib"; use Hangar::Test;
# and ends with run_tests(); __DATA__ holds the blocks.
# Sections: main_config http_config config env user_files workers timeout
#   request raw_request request_body more_headers error_code response_body
#   response_body_like response_headers error_log no_error_log must_die
#   keep_servroot no_user_root skip state_file_like state_file_unlike,
#   and Test::Base's ONLY/SKIP/LAST.
# Pseudo requests in a request eval array: RELOAD RESTART KILL9 "SLEEP n".
# Environment: HANGAR_MODULE (path or "none"), NGINX_BIN,
#   HANGAR_TEST_VALGRIND=1, TEST_NGINX_* (substituted like the built-in
#   $TEST_NGINX_PORT _SERVROOT _HTML_DIR _STATE_DIR _REPO).
#
# Spiffy's -Base source filter turns "sub name {" into a method starting
# with "my $self = shift;".  So every sub has a prototype, which the filter
# leaves alone ("()" is dropped), and comes before its first use.

use Test::Base -Base;

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Scalar::Util ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(run_tests nginx_start nginx_stop nginx_reload http_request
                 master_pid servroot port spec_string no_alerts no_orphans);

# Resolved at load time, before a test could chdir: t/lib/Hangar/../../..
my $REPO = Cwd::abs_path(File::Spec->catdir(
    File::Basename::dirname(File::Spec->rel2abs(__FILE__)), ('..') x 3));

my %Nginx;   # current instance: root port pid child status env timeout workers
my %Vars;    # $TEST_NGINX_* substitutions of the current block
my %Has_debug;  # nginx binary => built --with-debug

sub nginx_bin ()    { $ENV{NGINX_BIN} || '/usr/sbin/nginx' }
sub valgrind_on ()  { ($ENV{HANGAR_TEST_VALGRIND} // '') eq '1' }
sub startup_secs () { valgrind_on() ? 60 : 10 }
sub master_pid ()   { $Nginx{pid} }
sub port ()         { $Nginx{port} }

sub module_path () {
    my $m = $ENV{HANGAR_MODULE} || "$REPO/build/ngx_http_hangar_module.so";
    return $m eq 'none' ? $m : File::Spec->rel2abs($m);
}

# One servroot per .t file, so "prove -j" can run files side by side.
sub servroot () {
    (my $name = File::Basename::basename($0)) =~ s/\.t\z//;
    return $Nginx{root} // "$REPO/t/servroot-$name";
}

sub slurp ($) {
    open my $fh, '<', shift or return '';
    local $/;
    return scalar(<$fh>) // '';     # a /proc file of a process that just left
}

sub write_file ($$) {
    my ($path, $content) = @_;
    File::Path::make_path(File::Basename::dirname($path));
    open my $fh, '>', $path or die "cannot write $path: $!\n";
    print {$fh} $content;
    close $fh or die "cannot write $path: $!\n";
}

# ---- sections: of a Test::Base block, or of a hashref (hand-written) ----

sub section ($$) {
    my ($b, $name) = @_;
    return Scalar::Util::blessed($b) ? scalar $b->$name : $b->{$name};
}

sub has_section ($$) { exists $_[0]{ $_[1] } }

# A plain section's final newline is layout, not data; eval'd text is kept.
sub plain_text ($$) {
    my ($b, $name) = @_;
    my $v = section($b, $name);
    my $filters = Scalar::Util::blessed($b)
        ? ($b->_section_map->{$name} || {})->{filters} // '' : '';
    chomp $v if defined $v && !ref $v && $filters !~ /\beval\b/;
    return $v;
}

# Expectation for real request $i: an eval'd arrayref is indexed, anything
# else applies to every request.
sub per_request ($$$) {
    my ($b, $name, $i) = @_;
    my $v = plain_text($b, $name);
    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}

sub set_vars () {
    my $root = $Nginx{root};
    %Vars = map { $_ => $ENV{$_} } grep { /^TEST_NGINX_/ } keys %ENV;
    @Vars{qw(TEST_NGINX_PORT TEST_NGINX_SERVROOT TEST_NGINX_HTML_DIR
             TEST_NGINX_STATE_DIR TEST_NGINX_REPO)}
        = ($Nginx{port}, $root, "$root/html", "$root/state", $REPO);
    $ENV{$_} = $Vars{$_} for keys %Vars;    # for eval sections and nginx
}

sub expand ($) {
    my $text = shift;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(?:\{(TEST_NGINX_\w+)\}|(TEST_NGINX_\w+))}
              { my $n = $1 // $2; exists $Vars{$n} ? $Vars{$n} : $& }ge;
    return $text;
}

# ---- servroot, nginx.conf, user files, env --------------------------------

sub free_port () {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1)
        or die "cannot bind a free port: $!\n";
    return $s->sockport;
}

# A kept servroot keeps everything but logs/, on which the previous block
# has already been judged.
sub prepare_servroot ($) {
    my $keep = shift;
    my $root = $Nginx{root};
    File::Path::remove_tree($keep ? "$root/logs" : $root);
    File::Path::make_path(map { "$root/$_" } qw(conf logs html tmp state));
}

sub log_level () {
    my $bin = nginx_bin();
    $Has_debug{$bin} //= (qx{\Q$bin\E -V 2>&1} =~ /--with-debug/) ? 1 : 0;
    return $Has_debug{$bin} ? 'debug' : 'info';
}

sub nginx_conf ($) {
    my $b = shift;
    my ($root, $port) = @Nginx{qw(root port)};
    my $mod = module_path();
    my $load = $mod eq 'none' ? '' : "load_module $mod;\n";
    my $user = $> == 0 && !has_section($b, 'no_user_root') ? "user root;\n" : '';
    my $daemon = valgrind_on() ? 'off' : 'on';
    my $level = log_level();
    my ($main, $http, $config) =
        map { expand(section($b, $_) // '') } qw(main_config http_config config);
    my $temp = join "\n    ", map { "${_}_temp_path $root/tmp/$_;" }
                             qw(client_body proxy fastcgi uwsgi scgi);
    return <<"CONF";
${load}${user}daemon $daemon;
master_process on;
worker_processes $Nginx{workers};
pid $root/logs/nginx.pid;
error_log $root/logs/error.log $level;
$main
events { worker_connections 1024; }
http {
    access_log $root/logs/access.log;
    $temp
    default_type application/octet-stream;
$http
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
$config
    }
}
CONF
}

# ">>> relative/path" lines split the text into files under servroot; an
# eval'd section may give [[path, content], ...] instead.
sub write_user_files ($) {
    my $spec = shift // return;
    my @files = ref $spec eq 'ARRAY' ? @$spec
        : map { [split /\n/, $_, 2] } grep { /\S/ } split /^>>>[ \t]*/m, $spec;
    for my $f (@files) {
        (my $path = expand($f->[0])) =~ s/\s+\z//;
        write_file("$Nginx{root}/$path", expand($f->[1] // ''));
    }
}

sub block_env ($) {
    my %env;
    for my $line (grep { /\S/ && !/^\s*#/ } split /\n/, $_[0] // '') {
        my ($k, $v) = $line =~ /^\s*(\w+)=(.*)$/
            or die "bad env line '$line' (want NAME=value)\n";
        $env{$k} = expand($v);
    }
    return \%env;
}

# ---- processes ------------------------------------------------------------

sub proc_state ($) {
    my $stat = slurp("/proc/$_[0]/stat");
    return $stat =~ /.*\) (\S) (\d+)/s ? ($1, $2) : ();   # state, ppid
}

# Gone or a zombie: a daemon's zombie lingers until a slow PID 1 reaps it,
# so kill -0 is not enough (build-notes §3).  Our own child (valgrind mode)
# is reaped here, which records its exit status.
sub gone ($) {
    my $pid = shift;
    $Nginx{status} = $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
    my ($state) = proc_state($pid);
    return !defined $state || $state eq 'Z' || $state eq 'X';
}

sub wait_gone ($$) {
    my ($pids, $secs) = @_;
    my $deadline = time + $secs;
    while (grep { !gone($_) } @$pids) {
        return 0 if time > $deadline;
        sleep 0.02;
    }
    return 1;
}

# Children of the master running the master's own executable: workers and
# cache processes.  Programs spawned by the module have exec'd another one.
sub worker_pids ($) {
    my $master = shift // return ();
    my $exe = readlink("/proc/$master/exe") // return ();
    my @kids;
    for my $pid (map { m{(\d+)$} } glob '/proc/[0-9]*') {
        my ($state, $ppid) = proc_state($pid);
        next unless defined $ppid && $ppid == $master && $state ne 'Z';
        push @kids, $pid if (readlink("/proc/$pid/exe") // '') eq $exe;
    }
    return sort { $a <=> $b } @kids;
}

# Runs a command with the block's environment and its stdio in
# logs/stderr.log, so a daemonised master never holds prove's TAP pipe.
sub spawn (@) {
    my @cmd = @_;
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', "$Nginx{root}/logs/stderr.log";
    open STDERR, '>&', \*STDOUT;
    @ENV{ keys %{ $Nginx{env} } } = values %{ $Nginx{env} };
    exec(@cmd) or POSIX::_exit(127);    # _exit: no END blocks in the child
}

sub nginx_cmd (@) {
    return (nginx_bin(), '-p', "$Nginx{root}/", '-c', 'conf/nginx.conf',
            '-e', 'logs/error.log', @_);
}

sub valgrind_cmd () {
    return ('valgrind', '-q', '--trace-children=no', '--leak-check=no',
            '--error-exitcode=99',
            "--log-file=$Nginx{root}/logs/valgrind.%p.log",
            "--suppressions=$REPO/t/valgrind.supp");
}

# Starts nginx.  Returns its exit code once it has exited (a daemonising
# nginx always has), undef while it runs in the foreground (valgrind).
sub launch () {
    unlink "$Nginx{root}/logs/nginx.pid";   # a stale one would fool wait_ready
    my $pid = $Nginx{child} =
        spawn(valgrind_on() ? (valgrind_cmd(), nginx_cmd()) : nginx_cmd());
    if (!valgrind_on()) {
        waitpid $pid, 0;
        return $? >> 8;
    }
    my $deadline = time + startup_secs();
    until (gone($pid)) {
        return undef if time > $deadline || -s "$Nginx{root}/logs/nginx.pid";
        sleep 0.05;
    }
    return $Nginx{status} >> 8;
}

sub port_open () {
    return defined IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $Nginx{port}, Timeout => 1);
}

# The listening socket exists before the pid file is written and before
# the workers run (slow under valgrind), so wait for all three.
sub wait_ready () {
    my $deadline = time + startup_secs();
    while (time <= $deadline) {
        my ($pid) = slurp("$Nginx{root}/logs/nginx.pid") =~ /^(\d+)\n/;
        my @workers = worker_pids($pid);
        return $Nginx{pid} = $pid if @workers >= $Nginx{workers} && port_open();
        die "nginx exited during startup\n" if valgrind_on() && gone($Nginx{child});
        sleep 0.05;
    }
    die "nginx not accepting on port $Nginx{port} after ${\ startup_secs()} s\n";
}

sub log_tail () {
    my @l = grep { !/\[debug\]/ } split /\n/,
        slurp("$Nginx{root}/logs/stderr.log") . slurp("$Nginx{root}/logs/error.log");
    return join "\n", @l > 30 ? @l[-30 .. -1] : @l;
}

sub start () {
    my $rc = launch();
    die "nginx failed to start (exit $rc):\n" . log_tail() . "\n" if $rc;
    wait_ready();
}

# ---- lifecycle: exported, and the pseudo requests -------------------------

sub require_module () {
    my $mod = module_path();
    return if $mod eq 'none' || -f $mod;
    die "module $mod does not exist\n" if Test::More->builder->has_plan;
    plan(skip_all => "module $mod not built (make build, or set HANGAR_MODULE)");
}

# QUIT is the graceful stop: a worker that never exits (say, a module timer
# that is not cancelable) shows up here.  Returns '' or an error message.
sub nginx_stop () {
    my $pid = delete $Nginx{pid} // return '';
    kill 'QUIT', $pid;
    return '' if wait_gone([$pid], startup_secs());
    my @all = ($pid, worker_pids($pid));
    kill 'KILL', @all;
    wait_gone(\@all, 5);
    return "nginx $pid was still running ${\ startup_secs()} s after SIGQUIT";
}

# Done once no old worker is left and the new full set held still for a
# poll.
sub nginx_reload () {
    my %old = map { $_ => 1 } worker_pids($Nginx{pid});
    waitpid spawn(nginx_cmd('-s', 'reload')), 0;
    die "nginx -s reload failed (exit ${\ ($? >> 8)}):\n" . log_tail() . "\n" if $?;
    my ($deadline, $last) = (time + startup_secs(), '');
    while (time <= $deadline) {
        sleep 0.1;
        my @now = worker_pids($Nginx{pid});
        return if @now >= $Nginx{workers} && !grep({ $old{$_} } @now)
                  && "@now" eq $last;
        $last = "@now";
    }
    die "workers did not change after reload (old: @{[sort keys %old]})\n";
}

sub nginx_restart () {
    my $err = nginx_stop();
    die "$err\n" if $err;
    start();
}

sub nginx_kill9 () {
    my @all = grep { defined } ($Nginx{pid}, worker_pids($Nginx{pid}));
    delete $Nginx{pid};
    kill 'KILL', @all;
    wait_gone(\@all, 10) or die "processes @all survived SIGKILL\n";
    start();
}

# On INT/TERM/HUP stop nginx and leave at once: exiting normally would let
# Test::Base's END compare sections of an unfinished test.
sub on_signal () {
    nginx_stop();
    POSIX::_exit(1);
}

# Fresh port, substitutions, servroot, nginx.conf and user files.  Block
# filters (eval) run here, once $TEST_NGINX_PORT and friends exist.
sub prepare ($) {
    my $b = shift;
    nginx_stop();
    for (qw(INT TERM HUP)) {
        $SIG{$_} = \&on_signal if !$SIG{$_} || $SIG{$_} eq 'DEFAULT';
    }
    %Nginx = (root => servroot(), port => free_port());
    set_vars();
    $b->run_filters if Scalar::Util::blessed($b) && !$b->is_filtered;
    $Nginx{timeout} = (section($b, 'timeout') // 10) =~ s/s\z//r;
    $Nginx{workers} = section($b, 'workers') || 1;
    # The suite runs with the rate limits of REST commands and tool calls
    # (default 10/s, burst 20) opened wide, so that load tests are not cut
    # short; a block testing the limits sets them in its env or in the
    # rate_limit: of its hangar.yaml (which wins over the environment).
    $Nginx{env} = { MCP_RATE_LIMIT_RPS => 1000000,
                    MCP_RATE_LIMIT_BURST => 1000000,
                    %{ block_env(section($b, 'env')) } };
    prepare_servroot(has_section($b, 'keep_servroot'));
    write_user_files(section($b, 'user_files'));
    write_file("$Nginx{root}/conf/nginx.conf", nginx_conf($b));
}

sub nginx_start ($) {
    my $b = shift;
    require_module();
    prepare($b);
    start();
}

END {
    local $?;           # keep the test's exit status
    nginx_stop();
}

# ---- HTTP client ----------------------------------------------------------

sub build_request ($$$$$) {
    my ($method, $uri, $proto, $body, $headers) = @_;   # headers: [[n, v]]
    my %has = map { lc $_->[0] => $_->[1] } @$headers;
    my @h = @$headers;
    unshift @h, ['Host', 'localhost'] unless exists $has{host};
    push @h, ['Connection', 'close'] unless exists $has{connection};
    $body //= '';
    # /api/ takes JSON bodies only (415 otherwise), as a JSON client sends
    push @h, ['Content-Type', 'application/json']
        if length $body && !exists $has{'content-type'};
    if (($has{'transfer-encoding'} // '') =~ /chunked/i) {
        $body = (length $body ? sprintf("%x\r\n%s\r\n", length $body, $body) : '')
              . "0\r\n\r\n";
    } elsif (!exists $has{'content-length'}
             && (length $body || $method =~ /^(POST|PUT|PATCH)$/)) {
        push @h, ['Content-Length', length $body];
    }
    return "$method $uri $proto\r\n"
         . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n" . $body;
}

sub dechunk ($) {
    my ($rest, $body) = (shift, '');
    while ($rest =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        return $body if $n == 0;            # trailers are ignored
        return undef if length $rest < $n + 2;
        $body .= substr($rest, 0, $n + 2, '') =~ s/\r\n\z//r;
    }
    return undef;
}

# ($status, \%headers, $body) once $buf holds a whole response, () while
# more is needed.  Header names are lower-cased, repeats joined by ", ".
sub parse_response ($$$) {
    my ($buf, $head, $eof) = @_;
    $buf =~ s{\AHTTP/\d\.\d 1(?!01)\d\d[^\n]*\r\n\r\n}{};   # 100 Continue
    my $end = index($buf, "\r\n\r\n");
    return () if $end < 0;
    my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
    my ($status) = $line =~ m{^HTTP/\d\.\d (\d\d\d)} or return ();
    my %h;
    for (@lines) {
        my ($n, $v) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        $h{lc $n} = exists $h{lc $n} ? "$h{lc $n}, $v" : $v;
    }
    my $rest = substr($buf, $end + 4);
    return ($status, \%h, '') if $head || $status =~ /^(1|204|304)/;
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $body = dechunk($rest);
        return defined $body ? ($status, \%h, $body) : ();
    }
    my $len = $h{'content-length'};
    return ($status, \%h, substr($rest, 0, $len))
        if defined $len && length $rest >= $len;
    return $eof && !defined $len ? ($status, \%h, $rest) : ();
}

# Sends raw bytes and reads the response within the block's timeout.
# Returns ($status, \%headers, $body, $error).
sub exchange ($$) {
    my ($raw, $head) = @_;
    # valgrind runs nginx some 20 times slower: a request gets 6 times
    # the block's time there (a timeout is a failure either way)
    my $secs = ($Nginx{timeout} // 10) * (valgrind_on() ? 6 : 1);
    my $deadline = time + $secs;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $Nginx{port}, Timeout => $secs)
        or return (undef, {}, undef, "connect to port $Nginx{port}: $!");
    local $SIG{PIPE} = 'IGNORE';   # nginx may answer and close before we finish
    while (length $raw) {
        my $n = syswrite($sock, $raw) or last;
        substr($raw, 0, $n, '');
    }
    my ($buf, $sel) = ('', IO::Select->new($sock));
    while (1) {
        my $left = $deadline - time;
        return (undef, {}, undef, "timeout after $secs s; got: $buf")
            if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($sock, $buf, 65536, length $buf);
        my @res = parse_response($buf, $head, !$n);
        return @res if @res;
        return (undef, {}, undef, "incomplete response: $buf") unless $n;
    }
}

sub http_request ($$;$$) {
    my ($method, $uri, $body, $headers) = @_;
    my @pairs = map { [$_, $headers->{$_}] } sort keys %{ $headers || {} };
    return exchange(build_request($method, $uri, 'HTTP/1.1', $body, \@pairs),
                    $method eq 'HEAD');
}

# ---- checks ---------------------------------------------------------------

sub header_pairs ($) {
    return map { /^\s*([^:\s]+):[ \t]*(.*?)\s*$/ ? [$1, $2] : () }
           split /\n/, $_[0] // '';
}

sub check_headers ($$$) {
    my ($spec, $h, $name) = @_;
    for my $line (grep { /\S/ } split /\n/, $spec // '') {
        if ($line =~ /^\s*!\s*(\S+)/) {
            ok(!exists $h->{lc $1}, $name->("header $1 absent"))
                or diag("got $1: $h->{lc $1}");
        } else {
            my ($n, $v) = @{ (header_pairs($line))[0] || [$line, ''] };
            is($h->{lc $n}, $v, $name->("header $n"));
        }
    }
}

# error_code defaults to 200 for "request" (not for raw_request).
sub check_response ($$$$) {
    my ($b, $i, $res, $name) = @_;
    my ($status, $h, $body, $err) = @$res;
    my $code = per_request($b, 'error_code', $i)
            // (has_section($b, 'raw_request') ? undef : 200);
    if (defined $code) {
        is($status, $code, $name->('status code')) or diag($err // $body);
    }
    if (defined(my $want = expand(per_request($b, 'response_body', $i)))) {
        chomp(my $got = $body // '');
        chomp $want;
        is($got, $want, $name->('response body'));
    }
    if (defined(my $re = per_request($b, 'response_body_like', $i))) {
        $re = do { chomp $re; qr/$re/sm } unless ref $re eq 'Regexp';
        like($body // '', $re, $name->('response body like'));
    }
    check_headers(expand(per_request($b, 'response_headers', $i)), $h, $name);
}

sub log_patterns ($) {
    my $v = shift // return ();
    return ref $v eq 'ARRAY' ? @$v : ref $v ? $v
         : grep { length } map { s/^\s+|\s+$//gr } split /\n/, expand($v);
}

sub log_has ($$) {
    my ($log, $p) = @_;
    return ref $p eq 'Regexp' ? $log =~ $p : index($log, $p) >= 0;
}

# [alert], [crit] and [emerg] fail a block unless an error_log pattern
# names the level; must_die blocks exist to produce [emerg].
sub check_logs ($$$) {
    my ($b, $log, $label) = @_;
    my @want = log_patterns(section($b, 'error_log'));
    ok(log_has($log, $_), "$label - error_log: $_") for @want;
    ok(!log_has($log, $_), "$label - no_error_log: $_")
        for log_patterns(section($b, 'no_error_log'));
    my $named = join "\n", map { "$_" =~ s/\\//gr } @want;   # qr// unescaped
    my %allowed = map { $_ => index($named, "[$_]") >= 0 } qw(alert crit emerg);
    $allowed{emerg} = 1 if has_section($b, 'must_die');
    my @bad = grep { /\[(alert|crit|emerg)\]/ && !$allowed{$1} } split /\n/, $log;
    ok(!@bad, "$label - no [alert], [crit] or [emerg] in error.log")
        or diag(join "\n", @bad > 10 ? @bad[0 .. 9] : @bad);
}

# state_file_like / state_file_unlike: the module's durable state file
# (state/hangar-state.json) after the block; "absent" when there is none.
sub check_state_file ($$) {
    my ($b, $label) = @_;
    my $path = "$Nginx{root}/state/hangar-state.json";
    my $got = -e $path ? slurp($path) : 'absent';
    for my $kind (qw(state_file_like state_file_unlike)) {
        my $re = section($b, $kind) // next;
        $re = do { chomp $re; qr/$re/sm } unless ref $re eq 'Regexp';
        $kind eq 'state_file_like' ? like($got, $re, "$label - $kind")
                                   : unlike($got, $re, "$label - $kind");
    }
}

# valgrind 3.19 does not know pidfd_open (434), which the module handles
# (it falls back to polling): that warning alone is not a finding.
sub valgrind_findings ($) {
    my $text = slurp(shift);
    $text =~ s/^--\d+-- (WARNING: unhandled amd64-linux syscall: 434|You may be able|Read the file README_MISSING|Nevertheless we consider|it at http:\/\/valgrind).*\n//mg;
    return $text;
}

# For hand-written tests: the error log has no [alert], [crit] or [emerg]
# (except lines matching the given patterns).
sub no_alerts (@) {
    my @allowed = @_;
    my $log = slurp("$Nginx{root}/logs/error.log");
    my @bad = grep { my $l = $_; /\[(alert|crit|emerg)\]/ && !grep { $l =~ $_ } @allowed }
              split /\n/, $log;
    Test::More::ok(!@bad, 'no [alert], [crit] or [emerg] in error.log')
        or Test::More::diag(join "\n", @bad > 10 ? @bad[0 .. 9] : @bad);
}

# For hand-written tests, after nginx stopped: no process is left whose
# command line names this servroot (bridges and their servers).
sub no_orphans () {
    my $root = servroot();
    my @left;
    for (1 .. 100) {
        @left = ();
        for my $pid (map { m{(\d+)$} } glob '/proc/[0-9]*') {
            next if $pid == $$;
            my $cmd = slurp("/proc/$pid/cmdline") // next;
            my ($state) = proc_state($pid);
            push @left, "$pid: " . ($cmd =~ s/\0/ /gr)
                if index($cmd, $root) >= 0 && ($state // 'Z') ne 'Z';
        }
        last unless @left;
        sleep 0.1;
    }
    Test::More::ok(!@left, 'no process of this test is left behind')
        or Test::More::diag(join "\n", @left);
}

sub check_valgrind ($) {
    my $label = shift;
    my %bad = map { $_ => valgrind_findings($_) }
              grep { -s } glob "$Nginx{root}/logs/valgrind.*.log";
    my @bad = grep { length $bad{$_} } sort keys %bad;
    ok(!@bad, "$label - valgrind reports nothing")
        or diag(join '', map { "$_:\n$bad{$_}" } @bad);
}

# ---- running blocks -------------------------------------------------------

# A step is a pseudo request {pseudo, arg}, {raw} bytes, or
# {method, uri, proto, body}: "METHOD URI [PROTO]\nbody".
sub parse_step ($$) {
    my ($text, $raw) = @_;
    $text = expand($text);
    return { pseudo => $1, arg => $2 }
        if $text =~ /\A\s*(RELOAD|RESTART|KILL9|SLEEP)\b\s*(\S*)\s*\z/;
    return { raw => $text } if $raw;
    my ($line, $body) = split /\n/, $text =~ s/\A\s+//r, 2;
    my ($method, $uri, $proto) = split ' ', $line;
    return { method => $method, uri => $uri, proto => $proto // 'HTTP/1.1',
             body => $body };
}

sub request_steps ($) {
    my $b = shift;
    my $raw = has_section($b, 'raw_request');
    my $spec = plain_text($b, $raw ? 'raw_request' : 'request') // return ();
    return map { parse_step($_, $raw) } ref $spec eq 'ARRAY' ? @$spec : $spec;
}

sub send_step ($$$) {
    my ($b, $step, $i) = @_;
    return exchange($step->{raw}, 0) if defined $step->{raw};
    my $body = per_request($b, 'request_body', $i);
    $body = defined $body ? expand($body) : $step->{body};
    my @headers = header_pairs(expand(per_request($b, 'more_headers', $i)));
    return exchange(build_request($step->{method}, $step->{uri}, $step->{proto},
                                  $body, \@headers),
                    $step->{method} eq 'HEAD');
}

my %Pseudo = (RELOAD => \&nginx_reload, RESTART => \&nginx_restart,
              KILL9 => \&nginx_kill9);

# Pseudo requests do not take an index in the per-request expectations.
sub run_steps ($$) {
    my ($b, $label) = @_;
    my @steps = request_steps($b);
    my $n = grep { !$_->{pseudo} } @steps;
    my ($i, $k) = (0, 0);
    for my $step (@steps) {
        $k++;
        my $p = $step->{pseudo} // '';
        if ($p eq 'SLEEP') {
            sleep($step->{arg} || 1);
        } elsif ($p) {
            ok(eval { $Pseudo{$p}->(); 1 }, "$label - $p (step $k)") or diag($@);
        } else {
            my $req = $n > 1 ? " (req ${\ ($i + 1)})" : '';
            my @res = send_step($b, $step, $i);
            check_response($b, $i++, \@res, sub { "$label - $_[0]$req" });
        }
    }
}

# nginx must refuse to start; one that starts anyway is stopped later.
sub run_must_die ($) {
    my $label = shift;
    my $rc = launch();
    ok($rc, "$label - nginx refused to start")
        or diag('exit ' . ($rc // 'none: still running'));
    return if $rc;
    $Nginx{pid} = valgrind_on() ? $Nginx{child} : eval { wait_ready() };
}

sub block_label ($) {
    my $b = shift;
    my $name = $b->name // '';
    return $name =~ /^TEST \d+:/ ? $name : "TEST ${\ $b->seq_num}: $name";
}

sub skip_reason ($) {
    my $b = shift;
    return undef unless has_section($b, 'skip');
    my $code = $b->original_values->{skip};
    my $yes = eval $code;
    die "--- skip: $@" if $@;
    return $yes ? "skip: $code" =~ s/\s+\z//r : undef;
}

# One block: prepare, maybe skip, start (or expect a failed start), send
# the requests, stop, then judge the logs.  nginx is stopped in any case.
sub run_block ($) {
    my $b = shift;
    my $label = block_label($b);
    my $skip;
    my $ok = eval {
        prepare($b);
        $skip = skip_reason($b);
        if (has_section($b, 'must_die')) {
            run_must_die($label) unless $skip;
        } elsif (!$skip) {
            start();
            run_steps($b, $label);
        }
        1;
    };
    my $err = $@;
    my $running = $Nginx{pid};
    my $stopped = nginx_stop();
    return Test::More->builder->skip("$label - $skip") if $skip;
    ok(0, "$label - harness ran without error") or diag($err) unless $ok;
    ok(!$stopped, "$label - nginx stopped on SIGQUIT") or diag($stopped)
        if $running;
    check_state_file($b, $label);
    my $log = slurp("$Nginx{root}/logs/error.log");
    $log = slurp("$Nginx{root}/logs/stderr.log") . $log if has_section($b, 'must_die');
    check_logs($b, $log, $label);
    check_valgrind($label) if valgrind_on();
}

sub run_tests () {
    require_module();
    filters_delay();    # eval sections must see this block's port
    run_block($_) for blocks();
    # plan() (unlike done_testing) also keeps Test::Base's END from running
    # its default section comparison.
    my $tb = Test::More->builder;
    $tb->has_plan ? Test::More::done_testing() : plan(tests => $tb->current_test);
}
