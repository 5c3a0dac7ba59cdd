# Error bodies stay valid UTF-8 JSON whatever bytes the path holds, and a
# chunked body over hangar_body_limit is refused while it is read, not
# after all of it came in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::XS ();
use IO::Select ();
use IO::Socket::INET ();

# strict: a raw 0xFF byte or a cut UTF-8 sequence makes decode die
my $json = JSON::XS->new->utf8;

sub doc ($) {
    return eval { $json->decode($_[0] // '') };
}

nginx_start({
    http_config => "    hangar_zone hangar 1m;\n    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; hangar_body_limit 64k; }\n"
                 . "location = /mcp { hangar_mcp; hangar_body_limit 64k; }\n",
});

for my $case (['GET', '/api/mcp_servers/a%ffb', "MCP Server 'a\x{fffd}b' not found"],
              ['GET', '/api/mcp_servers/a%22b', "MCP Server 'a\"b' not found"],
              ['GET', '/api/mcp_servers/a%0ab', "MCP Server 'a\nb' not found"],
              ['GET', '/api/mcp_servers/%e2%82/health', "MCP Server '\x{fffd}\x{fffd}' not found"],
              ['POST', '/api/mcp_servers/%ff%fe/start', "MCP Server '\x{fffd}\x{fffd}' not found"],
              ['GET', '/api/mcp_servers/%c3%a9t%c3%a9', "MCP Server '\x{e9}t\x{e9}' not found"],
              ['GET', '/api/no%ffroute', "no API route for /api/no\x{fffd}route"])
{
    my ($method, $uri, $want) = @$case;
    my ($st, $h, $b) = http_request($method => $uri);
    my $d = doc($b);
    is($st, 404, "$method $uri: 404");
    ok($d, "$method $uri: the body is valid UTF-8 JSON") or diag($b);
    is($d && $d->{message}, $want, "$method $uri: the message shows the bytes escaped");
}

# a long id made of invalid bytes is cut without leaving half a character
my ($st, $h, $b) = http_request(GET => '/api/mcp_servers/a' . ('%c3%a9' x 100));
my $d = doc($b);
ok($d, 'a long id of two-byte characters: valid JSON') or diag($b);
like($d && $d->{message}, qr/^MCP Server 'a(\x{e9}){63}' not found$/,
     'the id is cut on a character boundary');

# A chunked body of up to 64 MiB against a limit of 64 KiB: the answer must
# come while the client is still sending, so the client never sends it all.
sub chunked_flood ($$) {
    my ($uri, $extra) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port()) or die $!;
    local $SIG{PIPE} = 'IGNORE';
    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           . "Transfer-Encoding: chunked\r\n$extra\r\n";
    $s->blocking(0);
    my $chunk = sprintf("%x\r\n", 65536) . ('x' x 65536) . "\r\n";
    my ($sent, $got, $pending) = (0, '', '');
    my $sel = IO::Select->new($s);
    my $deadline = time + 60;
    while ($sent < 64 * 1024 * 1024 && time < $deadline) {
        if ($sel->can_read(0)) {
            my $n = sysread($s, $got, 65536, length $got);
            last if !$n || $got =~ /\r\n\r\n/;
        }
        $pending = $chunk if $pending eq '';
        if ($sel->can_write(0.05)) {
            my $n = syswrite($s, $pending);
            last if !defined $n && !$!{EAGAIN};
            if ($n) {
                $sent += $n;
                substr($pending, 0, $n, '');
            }
        }
    }
    $s->blocking(1);
    my $rsel = IO::Select->new($s);
    while ($got !~ /\r\n\r\n.*\}/s && $rsel->can_read(5)) {
        sysread($s, $got, 65536, length $got) or last;
    }
    close $s;
    return ($sent, $got);
}

my ($sent, $got) = chunked_flood('/api/mcp_servers', '');
like($got, qr{^HTTP/1.1 413 }, 'REST: a chunked flood gets a 413');
like($got, qr/\{"error":"PayloadTooLargeError","message":"request body is larger than 65536 bytes","status_code":413\}/,
     'REST: the JSON envelope');
ok($sent < 32 * 1024 * 1024, "REST: the answer came before the body was sent ($sent bytes sent)");

($sent, $got) = chunked_flood('/mcp', "Accept: application/json, text/event-stream\r\n");
like($got, qr{^HTTP/1.1 413 }, 'MCP: a chunked flood gets a 413');
like($got, qr/\{"jsonrpc":"2.0","id":null,"error":\{"code":-32600,"message":"Request body is larger than 65536 bytes"\}\}/,
     'MCP: a JSON-RPC error');
ok($sent < 32 * 1024 * 1024, "MCP: the answer came before the body was sent ($sent bytes sent)");

# the worker still serves, and a chunked body within the limit is read
($st, $h, $b) = http_request(POST => '/api/mcp_servers',
    '{"mcp_server_id":"small","mode":"subprocess","command":["node"]}',
    { 'Transfer-Encoding' => 'chunked' });
is($st, 201, 'a chunked body within the limit is read');

is(nginx_stop(), '', 'nginx stopped');
no_alerts();
Test::More::done_testing();
