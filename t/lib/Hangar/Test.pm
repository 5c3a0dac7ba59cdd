package Hangar::Test;

# Data-driven nginx test harness in the style of Test::Nginx::Socket, built
# on Debian's Test::Base (libtest-nginx-perl is not packaged).  Sections,
# pseudo requests and environment variables are described in the report of
# t/000-harness.t and in the comment above run_block().
#
# Spiffy's -Base source filter turns "sub name {" into a method that starts
# with "my $self = shift;".  Every sub below therefore carries a prototype,
# which the filter leaves alone ("()" is stripped, other prototypes stay).
# Subs are defined before their first use so prototypes are checked.

use Test::Base -Base;

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Scalar::Util ();
use Time::HiRes ();

our @EXPORT = qw(run_tests nginx_start nginx_stop nginx_reload http_request
                 master_pid servroot port);

# Resolved at load time, before any test could chdir: t/lib/Hangar/../../..
my $REPO = Cwd::abs_path(File::Spec->catdir(
    File::Basename::dirname(File::Spec->rel2abs(__FILE__)), ('..') x 3));

my %Nginx;          # the instance of the current block: root, port, pid, ...
my %Vars;           # $TEST_NGINX_* substitutions of the current block
my %Has_debug;      # nginx binary => built --with-debug?

sub nginx_bin ()   { $ENV{NGINX_BIN} || '/usr/sbin/nginx' }
sub valgrind_on () { ($ENV{HANGAR_TEST_VALGRIND} // '') eq '1' }
sub master_pid ()  { $Nginx{pid} }
sub port ()        { $Nginx{port} }

sub module_path () {
    my $m = $ENV{HANGAR_MODULE} || "$REPO/build/ngx_http_hangar_module.so";
    return $m eq 'none' ? $m : File::Spec->rel2abs($m);
}

# One servroot per .t file so "prove -j" can run files side by side.
sub servroot () {
    return $Nginx{root} if $Nginx{root};
    (my $name = File::Basename::basename($0)) =~ s/\.t\z//;
    return "$REPO/t/servroot-$name";
}

sub slurp ($) {
    my $file = shift;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

sub sleep_s ($) { Time::HiRes::sleep(shift) }

# ---- blocks: a Test::Base block or, for hand-written tests, a hashref ----

sub section ($$) {
    my ($b, $name) = @_;
    return Scalar::Util::blessed($b) ? scalar $b->$name : $b->{$name};
}

sub has_section ($$) { exists $_[0]{ $_[1] } }

sub is_eval ($$) {
    my ($b, $name) = @_;
    return 0 unless Scalar::Util::blessed($b);
    my $map = $b->_section_map || {};
    return (($map->{$name} || {})->{filters} // '') =~ /\beval\b/;
}

# A plain section's final newline is layout, not data; eval'd text is kept.
sub plain_text ($$) {
    my ($b, $name) = @_;
    my $v = section($b, $name);
    chomp $v if defined $v && !ref $v && !is_eval($b, $name);
    return $v;
}

# Expectation for real request $i: an eval'd arrayref is indexed, a scalar
# applies to every request.
sub per_request ($$$) {
    my ($b, $name, $i) = @_;
    my $v = section($b, $name);
    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}

# ---- substitution -----------------------------------------------------

sub set_vars () {
    my $root = $Nginx{root};
    %Vars = map { $_ => $ENV{$_} } grep { /^TEST_NGINX_/ } keys %ENV;
    @Vars{qw(TEST_NGINX_PORT TEST_NGINX_SERVROOT TEST_NGINX_HTML_DIR
             TEST_NGINX_STATE_DIR TEST_NGINX_REPO)}
        = ($Nginx{port}, $root, "$root/html", "$root/state", $REPO);
    # eval'd sections and the processes we start see them too
    $ENV{$_} = $Vars{$_} for keys %Vars;
}

sub expand ($) {
    my $text = shift;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(?:\{(TEST_NGINX_\w+)\}|(TEST_NGINX_\w+))}
              { my $n = $1 // $2; exists $Vars{$n} ? $Vars{$n} : $& }ge;
    return $text;
}

# ---- servroot, nginx.conf, user files ---------------------------------

sub free_port () {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "cannot bind a free port: $!\n";
    return $s->sockport;
}

# A kept servroot keeps everything but logs/, which the previous block has
# already been judged on.
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
    my $user = ($> == 0 && !has_section($b, 'no_user_root'))
             ? "user root;\n" : '';
    my $daemon = valgrind_on() ? 'off' : 'on';
    my $workers = section($b, 'workers') || 1;
    my $level = log_level();
    my ($main, $http, $config) =
        map { expand(section($b, $_) // '') } qw(main_config http_config config);
    return <<"CONF";
${load}${user}daemon $daemon;
master_process on;
worker_processes $workers;
pid $root/logs/nginx.pid;
error_log $root/logs/error.log $level;
$main
events { worker_connections 1024; }

http {
    access_log $root/logs/access.log;
    client_body_temp_path $root/tmp/client_body;
    proxy_temp_path $root/tmp/proxy;
    fastcgi_temp_path $root/tmp/fastcgi;
    uwsgi_temp_path $root/tmp/uwsgi;
    scgi_temp_path $root/tmp/scgi;
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

sub write_file ($$) {
    my ($path, $content) = @_;
    File::Path::make_path(File::Basename::dirname($path));
    open my $fh, '>', $path or die "cannot write $path: $!\n";
    print {$fh} $content;
    close $fh or die "cannot write $path: $!\n";
}

# ">>> relative/path" lines split the text into files under servroot; an
# eval'd section may instead give [[path, content], ...].
sub write_user_files ($) {
    my $spec = shift // return;
    my @files = ref $spec eq 'ARRAY' ? @$spec
              : map { [ split /\n/, $_, 2 ] } grep { /\S/ } split /^>>>[ \t]*/m, $spec;
    for my $f (@files) {
        my ($path, $content) = (expand($f->[0]), expand($f->[1] // ''));
        $path =~ s/\s+\z//;
        write_file("$Nginx{root}/$path", $content);
    }
}

sub block_env ($) {
    my $spec = shift // '';
    my %env;
    for my $line (grep { /\S/ && !/^\s*#/ } split /\n/, $spec) {
        my ($k, $v) = $line =~ /^\s*(\w+)=(.*)$/
            or die "bad env line '$line' (want NAME=value)\n";
        $env{$k} = expand($v);
    }
    return \%env;
}

# ---- processes ----------------------------------------------------------

sub proc_state ($) {
    my $pid = shift;
    my $stat = slurp("/proc/$pid/stat");
    return $stat =~ /.*\) (\S) (\d+)/s ? ($1, $2) : ();   # state, ppid
}

# Gone or a zombie: a daemon's zombie can linger until a slow PID 1 reaps
# it, so kill -0 is not enough (build-notes §3).  Our own child (valgrind
# mode) is reaped here, which also records its exit status.
sub gone ($) {
    my $pid = shift;
    $Nginx{status} = $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
    my ($state) = proc_state($pid);
    return !defined $state || $state eq 'Z' || $state eq 'X';
}

sub wait_gone ($$) {
    my ($pids, $secs) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (grep { !gone($_) } @$pids) {
        return 0 if Time::HiRes::time() > $deadline;
        sleep_s(0.02);
    }
    return 1;
}

# Children of the master running the master's own executable: workers and
# cache processes.  Programs spawned by the module have exec'd something else.
sub worker_pids ($) {
    my $master = shift // return ();
    my $exe = readlink("/proc/$master/exe") // return ();
    my @kids;
    for my $dir (glob '/proc/[0-9]*') {
        my ($pid) = $dir =~ /(\d+)\z/;
        my ($state, $ppid) = proc_state($pid);
        next unless defined $ppid && $ppid == $master && $state ne 'Z';
        push @kids, $pid if (readlink("$dir/exe") // '') eq $exe;
    }
    return sort { $a <=> $b } @kids;
}

# Run a command with the block's environment and stdio in logs/stderr.log,
# so a daemonised master never holds prove's TAP pipe.
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
    return ('valgrind', '-q', '--trace-children=yes', '--leak-check=no',
            '--error-exitcode=99',
            "--log-file=$Nginx{root}/logs/valgrind.%p.log",
            "--suppressions=$REPO/t/valgrind.supp");
}

sub startup_secs () { valgrind_on() ? 60 : 10 }

# Starts nginx; returns its exit code if it has already exited (always the
# case when it daemonises), undef while it runs in the foreground.
sub launch () {
    unlink "$Nginx{root}/logs/nginx.pid";   # a stale one would fool wait_ready
    delete $Nginx{status};
    my $pid = spawn(valgrind_on() ? (valgrind_cmd(), nginx_cmd()) : nginx_cmd());
    $Nginx{child} = $pid;
    unless (valgrind_on()) {
        waitpid $pid, 0;
        return $? >> 8;
    }
    my $deadline = time + startup_secs();
    until (gone($pid)) {
        return undef if time > $deadline || -s "$Nginx{root}/logs/nginx.pid";
        sleep_s(0.05);
    }
    return $Nginx{status} >> 8;
}

sub port_open () {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Nginx{port}, Timeout => 1);
    return defined $s;
}

sub read_pid () {
    my ($pid) = slurp("$Nginx{root}/logs/nginx.pid") =~ /^(\d+)\n/;
    return $pid;
}

# The pid file is written after the listening sockets exist, so wait for it
# too before trusting an open port.
sub wait_ready () {
    my $deadline = time + startup_secs();
    while (time <= $deadline) {
        my $pid = read_pid();
        if ($pid && port_open()) {
            $Nginx{pid} = $pid;
            return;
        }
        die "nginx exited during startup\n" if valgrind_on() && gone($Nginx{child});
        sleep_s(0.05);
    }
    die "nginx not accepting on port $Nginx{port} after ${\ startup_secs()} s\n";
}

sub stderr_tail () {
    my @l = grep { !/\[debug\]/ } split /\n/,
        slurp("$Nginx{root}/logs/stderr.log") . slurp("$Nginx{root}/logs/error.log");
    splice @l, 0, @l - 30 if @l > 30;
    return join "\n", @l;
}

sub start () {
    my $rc = launch();
    die "nginx failed to start (exit $rc):\n" . stderr_tail() . "\n"
        if defined $rc && $rc != 0;
    wait_ready();
}

# ---- lifecycle: exported and used by the pseudo requests -------------

sub require_module () {
    my $mod = module_path();
    return if $mod eq 'none' || -f $mod;
    die "module $mod does not exist\n" if Test::More->builder->has_plan;
    plan(skip_all => "module $mod not built (make build, or set HANGAR_MODULE)");
}

# Stops with QUIT (graceful: workers finish requests and timers first).
# Returns '' or an error message.  Safe to call when nothing runs.
sub nginx_stop () {
    my $pid = delete $Nginx{pid} // return '';
    kill 'QUIT', $pid;
    return '' if wait_gone([$pid], startup_secs());
    my @all = ($pid, worker_pids($pid));
    kill 'KILL', @all;
    wait_gone(\@all, 5);
    return "nginx $pid did not exit within ${\ startup_secs()} s of SIGQUIT";
}

sub nginx_reload () {
    my @old = worker_pids($Nginx{pid});
    my $signaller = spawn(nginx_cmd('-s', 'reload'));
    waitpid $signaller, 0;
    die "nginx -s reload failed (exit ${\ ($? >> 8)})\n" if $?;
    # done once no old worker is left and the new set is stable for a poll
    my (%old, $last) = map { $_ => 1 } @old;
    my $deadline = time + 10;
    while (time <= $deadline) {
        sleep_s(0.1);
        my @now = worker_pids($Nginx{pid});
        my $key = "@now";
        return if @now && !grep({ $old{$_} } @now) && $key eq ($last // '');
        $last = $key;
    }
    die "workers did not change within 10 s of reload (old: @old)\n";
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

# Fresh port, substitutions, servroot, nginx.conf and user files; for
# Test::Base blocks the filters (eval) run here, after the variables exist.
sub prepare ($) {
    my $b = shift;
    nginx_stop();
    %Nginx = (root => servroot(), port => free_port());
    set_vars();
    $b->run_filters if Scalar::Util::blessed($b) && !$b->is_filtered;
    $Nginx{timeout} = (section($b, 'timeout') // 10) =~ s/s\z//r;
    $Nginx{env} = block_env(section($b, 'env'));
    prepare_servroot(has_section($b, 'keep_servroot'));
    write_user_files(section($b, 'user_files'));
    write_file("$Nginx{root}/conf/nginx.conf", nginx_conf($b));
}

sub nginx_start ($) {
    my $b = shift;
    require_module();
    $SIG{$_} //= sub { exit 1 } for qw(INT TERM HUP);   # so END stops nginx
    prepare($b);
    start();
}

END {
    local $?;           # keep the test's exit status
    nginx_stop() if $Nginx{pid};
}

# ---- HTTP client --------------------------------------------------------

sub build_request ($$$$$) {
    my ($method, $uri, $proto, $body, $headers) = @_;   # headers: [[n, v]]
    my %has = map { lc $_->[0] => 1 } @$headers;
    my $chunked = grep { lc $_->[0] eq 'transfer-encoding'
                         && $_->[1] =~ /chunked/i } @$headers;
    my @h = @$headers;
    unshift @h, ['Host', 'localhost'] unless $has{host};
    push @h, ['Connection', 'close'] unless $has{connection};
    $body //= '';
    if ($chunked) {
        $body = (length $body ? sprintf("%x\r\n%s\r\n", length $body, $body) : '')
              . "0\r\n\r\n";
    } elsif (!$has{'content-length'}
             && (length $body || $method =~ /^(POST|PUT|PATCH)$/)) {
        push @h, ['Content-Length', length $body];
    }
    return "$method $uri $proto\r\n"
         . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n" . $body;
}

sub dechunk ($) {
    my $rest = shift;
    my $body = '';
    while ($rest =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        return $body if $n == 0;            # trailers are ignored
        return undef if length $rest < $n + 2;
        $body .= substr($rest, 0, $n, '');
        substr($rest, 0, 2, '');
    }
    return undef;
}

# ($status, \%headers, $body) once $buf holds a whole response, () while
# more is needed.  Header names are lower-cased; repeats are joined by ", ".
sub parse_response ($$$) {
    my ($buf, $head, $eof) = @_;
    $buf =~ s{\AHTTP/\d\.\d 1(?!01)\d\d[^\n]*\r\n\r\n}{}; # 100 Continue
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
    return ($status, \%h, substr($rest, 0, $len)) if defined $len && length $rest >= $len;
    return $eof && !defined $len ? ($status, \%h, $rest) : ();
}

# Sends raw bytes, reads the response; returns (status, headers, body, error).
sub exchange ($$) {
    my ($raw, $head) = @_;
    my $deadline = Time::HiRes::time() + ($Nginx{timeout} // 10);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $Nginx{port}, Timeout => 5)
        or return (undef, {}, undef, "connect to port $Nginx{port}: $!");
    local $SIG{PIPE} = 'IGNORE';   # an early response may close our write side
    while (length $raw) {
        my $n = syswrite($sock, $raw) or last;
        substr($raw, 0, $n, '');
    }
    my ($buf, $sel) = ('', IO::Select->new($sock));
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        return (undef, {}, undef, "timeout; got: $buf")
            if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($sock, $buf, 65536, length $buf);
        my @res = parse_response($buf, $head, !$n);
        return @res if @res;
        return (undef, {}, undef, "incomplete response: $buf") unless $n;
    }
}

sub http_request ($$;$$) {
    my ($method, $uri, $body, $headers) = @_;
    my @pairs = ref $headers eq 'ARRAY' ? @$headers
              : map { [ $_, $headers->{$_} ] } sort keys %{ $headers || {} };
    return exchange(build_request($method, $uri, 'HTTP/1.1', $body, \@pairs),
                    $method eq 'HEAD');
}

# ---- checks -------------------------------------------------------------

sub header_pairs ($) {
    my $text = shift // '';
    return map { /^\s*([^:\s]+):[ \t]*(.*?)\s*$/ ? [$1, $2] : () }
           split /\n/, $text;
}

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
    for my $line (split /\n/, expand(per_request($b, 'response_headers', $i)) // '') {
        next unless $line =~ /\S/;
        if ($line =~ /^\s*!\s*(\S+)/) {
            ok(!exists $h->{lc $1}, $name->("header $1 absent"))
                or diag("got $1: $h->{lc $1}");
        } else {
            my ($n, $v) = @{ (header_pairs($line))[0] || [$line, ''] };
            is($h->{lc $n}, $v, $name->("header $n"));
        }
    }
}

sub log_patterns ($) {
    my $v = shift // return ();
    return @$v if ref $v eq 'ARRAY';
    return $v if ref $v;
    return grep { length } map { s/^\s+|\s+$//gr } split /\n/, expand($v);
}

sub log_has ($$) {
    my ($log, $p) = @_;
    return ref $p eq 'Regexp' ? $log =~ $p : index($log, $p) >= 0;
}

sub check_logs ($$$) {
    my ($b, $log, $label) = @_;
    my @want = log_patterns(section($b, 'error_log'));
    ok(log_has($log, $_), "$label - error_log: $_") for @want;
    ok(!log_has($log, $_), "$label - no_error_log: $_")
        for log_patterns(section($b, 'no_error_log'));
    # [alert]/[crit]/[emerg] fail the block unless an error_log pattern
    # names the level; must_die blocks exist to produce [emerg].
    my $named = join "\n", map { "$_" =~ s/\\//gr } @want;   # qr// unescaped
    my %allowed = map { $_ => index($named, "[$_]") >= 0 } qw(alert crit emerg);
    $allowed{emerg} = 1 if has_section($b, 'must_die');
    my @bad = grep { /\[(alert|crit|emerg)\]/ && !$allowed{$1} } split /\n/, $log;
    ok(!@bad, "$label - no [alert], [crit] or [emerg] in error.log")
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
}

sub check_valgrind ($) {
    my $label = shift;
    my @bad = grep { -s } glob "$Nginx{root}/logs/valgrind.*.log";
    ok(!@bad, "$label - valgrind reports nothing")
        or diag(join '', map { "$_:\n" . slurp($_) } @bad);
}

# ---- running blocks -----------------------------------------------------

# A step is a pseudo request {pseudo, arg}, a raw request {raw} or
# {method, uri, proto, body}.
sub parse_step ($$) {
    my ($text, $raw) = @_;
    $text = expand($text);
    return { pseudo => $1, arg => $2 }
        if $text =~ /\A\s*(RELOAD|RESTART|KILL9|SLEEP)\b\s*(\S*)\s*\z/;
    return { raw => $text } if $raw;
    $text =~ s/\A\s+//;
    my ($line, $body) = split /\n/, $text, 2;
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
    my $body = plain_text($b, 'request_body');
    $body = ref $body eq 'ARRAY' ? $body->[$i] : $body;
    $body = defined $body ? expand($body) : $step->{body};
    my @headers = header_pairs(expand(per_request($b, 'more_headers', $i)));
    my $req = build_request($step->{method}, $step->{uri}, $step->{proto},
                            $body, \@headers);
    return exchange($req, $step->{method} eq 'HEAD');
}

my %Pseudo = (RELOAD => \&nginx_reload, RESTART => \&nginx_restart,
              KILL9 => \&nginx_kill9);

sub run_steps ($$) {
    my ($b, $label) = @_;
    my @steps = request_steps($b);
    my $n = grep { !$_->{pseudo} } @steps;
    my ($i, $k) = (0, 0);
    for my $step (@steps) {
        $k++;
        if ($step->{pseudo} && $step->{pseudo} eq 'SLEEP') {
            sleep_s($step->{arg} || 1);
        } elsif (my $p = $step->{pseudo}) {
            ok(eval { $Pseudo{$p}->(); 1 }, "$label - $p (step $k)") or diag($@);
        } else {
            my $req = $n > 1 ? " (req ${\ ($i + 1)})" : '';
            my @res = send_step($b, $step, $i);
            check_response($b, $i++, \@res, sub { "$label - $_[0]$req" });
        }
    }
}

# nginx must refuse to start; its stderr counts as error log.
sub run_must_die ($) {
    my $label = shift;
    my $rc = launch();
    ok(defined $rc && $rc != 0, "$label - nginx refused to start")
        or diag("exit " . ($rc // 'none: still running'));
    if (!defined $rc || $rc == 0) {
        $Nginx{pid} = valgrind_on() ? $Nginx{child} : eval { wait_ready(); $Nginx{pid} };
    }
}

sub block_label ($) {
    my $b = shift;
    my $name = $b->name // '';
    return $name =~ /^TEST \d+:/ ? $name : "TEST ${\ $b->seq_num}: $name";
}

sub skip_reason ($) {
    my $b = shift;
    return undef unless has_section($b, 'skip');
    my $code = $b->original_values->{skip} // $b->{skip}[0];
    my $yes = eval $code;
    die "--- skip: $@" if $@;
    return $yes ? "skip: $code" =~ s/\s+\z//r : undef;
}

# One block: prepare, skip?, start (or expect a failed start), requests,
# stop, then judge the logs.  nginx is stopped whatever happened.
sub run_block ($) {
    my $b = shift;
    my $label = block_label($b);
    my $reason;
    my $ok = eval {
        prepare($b);
        $reason = skip_reason($b);
        if (has_section($b, 'must_die')) {
            run_must_die($label) unless $reason;
        } elsif (!$reason) {
            start();
            run_steps($b, $label);
        }
        1;
    };
    my $err = $@;
    my $stopped = nginx_stop();
    return Test::More->builder->skip("$label - $reason") if $reason;
    ok(0, "$label - harness") or diag($err) unless $ok;
    ok(!$stopped, "$label - nginx stopped on SIGQUIT") or diag($stopped);
    my $log = slurp("$Nginx{root}/logs/error.log");
    $log = slurp("$Nginx{root}/logs/stderr.log") . $log if has_section($b, 'must_die');
    check_logs($b, $log, $label);
    check_valgrind($label) if valgrind_on();
}

sub run_tests () {
    require_module();
    $SIG{$_} //= sub { exit 1 } for qw(INT TERM HUP);
    filters_delay();    # eval sections must see this block's port
    run_block($_) for blocks();
    # A plan through plan() also tells Test::Base's END not to run_compare.
    my $tb = Test::More->builder;
    $tb->has_plan ? Test::More::done_testing() : plan(tests => $tb->current_test);
}

__END__

=head1 NAME

Hangar::Test - Test::Nginx::Socket-style harness for ngx_http_hangar_module

=head1 SYNOPSIS

    use FindBin; use lib "$FindBin::Bin/lib";
    use Hangar::Test;
    run_tests();
    __DATA__
    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

=cut
