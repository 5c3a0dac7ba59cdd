# Self-test of t/lib/Hangar/Test.pm: core nginx only, never the module.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

BEGIN { $ENV{HANGAR_MODULE} = 'none' }     # tests the harness, not the module

use Hangar::Test;

# Hand-written part: the exported helpers, and facts the blocks cannot see
# (worker count, reload really replacing workers).
sub worker_count { my @w = Hangar::Test::worker_pids(master_pid()); scalar @w }

nginx_start({
    workers     => 2,
    config      => 'location = /t { include $TEST_NGINX_SERVROOT/conf/t.conf; }',
    user_files  => ">>> conf/t.conf\nreturn 200 \"one\\n\";\n",
});
like(port(), qr/^\d+$/, 'helpers: port() is a number');
is(servroot(), "$FindBin::Bin/servroot-000-harness", 'helpers: servroot() per .t file');
is(worker_count(), 2, 'helpers: workers => 2 starts two workers');

my ($status, $headers, $body) = http_request(GET => '/t');
is("$status $body", "200 one\n", 'helpers: http_request');

my $master = master_pid();
open my $fh, '>', servroot() . '/conf/t.conf' or die $!;
print {$fh} "return 200 \"two\\n\";\n";
close $fh;
nginx_reload();
is(master_pid(), $master, 'helpers: reload keeps the master');
is(worker_count(), 2, 'helpers: two workers after reload');
(undef, undef, $body) = http_request(GET => '/t');
is($body, "two\n", 'helpers: reload applies the new config');

($status, $headers, $body) = http_request(POST => '/none', 'abc',
                                          { 'X-A' => 'b' });
is($status, 404, 'helpers: http_request with body and headers');
is($headers->{'content-type'}, 'text/html', 'helpers: lower-cased header names');
is(nginx_stop(), '', 'helpers: nginx_stop');
ok(!-e servroot() . '/logs/nginx.pid', 'helpers: pid file removed on stop');

run_tests();

__DATA__

=== TEST 1: return 200 with a body
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: 404 and error_code
--- config
    location = /t { return 404; }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 3: response headers, repeats joined, absent header
--- config
    location = /t {
        add_header X-One 1;
        add_header X-Two a;
        add_header X-Two b;
        return 204;
    }
--- request
GET /t
--- error_code: 204
--- response_headers
X-One: 1
X-Two: a, b
!X-Absent
!Content-Length



=== TEST 4: request body, more_headers and $TEST_NGINX_PORT in config
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_PORT/back;
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Te $http_transfer_encoding;
    }
    location = /back { return 200 "$http_x_body|$http_x_foo|$http_x_te|$http_host\n"; }
--- request
POST /echo
payload on port $TEST_NGINX_PORT
--- more_headers
X-Foo: bar
--- response_body_like: ^payload on port \d+\|bar\|\|127\.0\.0\.1:\d+$



=== TEST 5: chunked request body, request_body section, HTTP/1.0 line
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_PORT/back;
        proxy_set_header X-Body $request_body;
    }
    location = /back { return 200 "[$http_x_body]\n"; }
--- request eval
["POST /echo", "POST /echo HTTP/1.0"]
--- request_body eval
["chunky", "ten"]
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- response_body eval
["[chunky]", "[ten]"]



=== TEST 6: chunked response, HEAD
--- config
    location = /c {
        sub_filter 'a' 'b';
        sub_filter_once off;
        sub_filter_types *;
        return 200 "aaa\n";
    }
--- request eval
["GET /c", "HEAD /c"]
--- response_headers eval
["Transfer-Encoding: chunked\n!Content-Length", ""]
--- response_body eval
["bbb", ""]



=== TEST 7: user_files under servroot, html dir, error_log substring and qr
--- config
    location / { root $TEST_NGINX_HTML_DIR; }
--- user_files
>>> html/index.html
<p>index</p>
>>> html/sub/dir/deep.txt
deep
--- request eval
["GET /index.html", "GET /sub/dir/deep.txt", "GET /missing.html"]
--- error_code eval
[200, 200, 404]
--- response_body eval
["<p>index</p>", "deep", undef]
--- error_log eval
['html/missing.html" failed (2: No such file or directory)',
 qr/\[error\] \d+#\d+: \*\d+ open\(\)/]
--- no_error_log
index.html" failed



=== TEST 8: two workers, RELOAD, RESTART, KILL9 and SLEEP do not take an index
--- workers: 2
--- config
    location = /t { return 200 "w\n"; }
--- request eval
["GET /t", "RELOAD", "GET /nope", "SLEEP 0.1", "RESTART", "GET /t", "KILL9", "GET /t"]
--- error_code eval
[200, 404, 200, 200]
--- response_body_like eval
["^w\$", "404", qr/^w$/, "w"]
--- error_log
reconfiguring
gracefully shutting down



=== TEST 9: state written in one block ...
--- config
    location = /p { alias $TEST_NGINX_STATE_DIR/persist.txt; }
--- user_files
>>> state/persist.txt
kept
--- request
GET /p
--- response_body
kept



=== TEST 10: ... is still there with keep_servroot
--- keep_servroot
--- config
    location = /p { alias $TEST_NGINX_STATE_DIR/persist.txt; }
--- request
GET /p
--- response_body
kept



=== TEST 11: ... and gone without it
--- config
    location = /p { alias $TEST_NGINX_STATE_DIR/persist.txt; }
--- request
GET /p
--- error_code: 404



=== TEST 12: raw_request for a malformed request
--- config
    location / { return 200; }
--- raw_request eval
"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
--- error_code: 400
--- error_log
client sent duplicate host header



=== TEST 13: a named level is allowed in the log ([crit] from a dead socket)
--- config
    location = /u { proxy_pass http://unix:$TEST_NGINX_SERVROOT/nope.sock:; }
--- request
GET /u
--- error_code: 502
--- error_log
[crit]
nope.sock failed (2: No such file or directory)



=== TEST 14: must_die on a broken directive
--- config
    location = /t { bogus_directive on; }
--- must_die
--- error_log
unknown directive "bogus_directive"



=== TEST 15: main_config and http_config land in their contexts
--- main_config
    timer_resolution 50ms;
--- http_config
    map $uri $hangar_t { default "mapped"; }
--- config
    location = /m { return 200 "$hangar_t\n"; }
--- request
GET /m
--- response_body
mapped



=== TEST 16: skip is evaluated (false here: make test fails on any skip)
--- skip
1 + 1 == 3
--- config
    location = /t { return 200; }
--- request
GET /t



=== TEST 17: env reaches nginx (TZ shapes $time_local), with substitution
--- env
TZ=EST5
HANGAR_T_PORT=$TEST_NGINX_PORT
--- config
    location = /tz { return 200 "$time_local\n"; }
--- request
GET /tz
--- response_body_like: -0500$
