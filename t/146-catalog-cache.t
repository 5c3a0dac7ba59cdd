# The front door's catalog is rebuilt from a per-worker cache of each
# server's parsed tools: a change of one server's tools reparses only it,
# and two locations of different naming, built at different times, keep
# listing what the registry holds (each keeps the parsed catalogs it uses).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $json = JSON::PP->new->canonical;
my %h = ('Content-Type' => 'application/json', Accept => 'application/json, text/event-stream');

sub mcp ($$$) {
    my ($path, $sid, $body) = @_;
    my ($st, $hd, $b) = http_request(POST => $path, $body, { %h, $sid ? ('Mcp-Session-Id' => $sid) : () });
    return ($st, eval { $json->decode($b) } // {}, $hd);
}

sub session ($) {
    my (undef, undef, $hd) = mcp($_[0], undef, '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}');
    return $hd->{'mcp-session-id'};
}

# "name=description" of every tool listed, sorted
sub listing ($$) {
    my ($path, $sid) = @_;
    my (undef, $b) = mcp($path, $sid, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    return join ',', sort map { "$_->{name}=" . ($_->{description} // '') } @{ $b->{result}{tools} || [] };
}

sub tools_of (@) {
    return $json->encode([ map { { name => $_->[0], description => $_->[1] } } @_ ]);
}

nginx_start({
    workers     => 1,
    http_config => "    hangar_zone hangar 1m;\n"
                 . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                 . "    hangar_state \$TEST_NGINX_STATE_DIR;\n",
    config      => "location /api/ { hangar_api; }\n"
                 . "location = /mcp { hangar_mcp; hangar_mcp_naming prefixed; }\n"
                 . "location = /flat { hangar_mcp; hangar_mcp_naming flat; }\n",
    user_files  => ">>> conf/hangar.yaml\nmcp_servers:\n"
                 . "  a:\n    command: [x]\n    tools:\n"
                 . "      - {name: shared, description: a0}\n      - {name: one, description: a0}\n"
                 . "  b:\n    command: [x]\n    tools:\n"
                 . "      - {name: shared, description: b}\n      - {name: bee, description: b}\n",
});

my $p = session('/mcp');
my $f = session('/flat');
ok($p && $f, 'sessions on both locations');

is(listing('/mcp', $p), 'a__one=a0,a__shared=a0,b__bee=b,b__shared=b', 'prefixed at first');
is(listing('/flat', $f), 'bee=b,one=a0', 'flat at first: the shared name is dropped');

# a's tools change, b's do not; the locations are rebuilt one after the
# other, and listed again after the next change, in turns
for my $i (1 .. 6) {
    my @a = $i % 2 ? (['one', "a$i"], ["t$i", "a$i"]) : (['shared', "a$i"], ['one', "a$i"]);
    my ($st) = http_request(PATCH => '/api/mcp_servers/a', '{"tools":' . tools_of(@a) . '}',
                            { 'Content-Type' => 'application/json' });
    is($st, 200, "change $i of a's tools");
    my ($first, $second) = $i % 3 ? ('/mcp', '/flat') : ('/flat', '/mcp');
    my %want = (
        '/mcp'  => join(',', sort((map { "a__$_->[0]=$_->[1]" } @a), 'b__bee=b', 'b__shared=b')),
        '/flat' => join(',', sort((map { "$_->[0]=$_->[1]" } grep { $_->[0] ne 'shared' } @a),
                                  'bee=b', $i % 2 ? ('shared=b') : ())),
    );
    my %sid = ('/mcp' => $p, '/flat' => $f);
    is(listing($first, $sid{$first}), $want{$first}, "$first after change $i");
    is(listing($second, $sid{$second}), $want{$second}, "$second after change $i");
    is(listing($first, $sid{$first}), $want{$first}, "$first again after change $i");
}

# a server goes and another comes: the gone one's tools go with it
my ($st) = http_request(DELETE => '/api/mcp_servers/b');
ok($st == 200 || $st == 204, 'b deleted');
is(listing('/mcp', $p), 'a__one=a6,a__shared=a6', 'prefixed without b');
($st, undef, my $cb) = http_request(POST => '/api/mcp_servers',
                     '{"mcp_server_id":"c","mode":"subprocess","command":["python3"],"tools":' . tools_of(['shared', 'c'], ['sea', 'c']) . '}',
                     { 'Content-Type' => 'application/json' });
is($st, 201, "c added ($cb)");
is(listing('/flat', $f), 'one=a6,sea=c', 'flat with c');
is(listing('/mcp', $p), 'a__one=a6,a__shared=a6,c__sea=c,c__shared=c', 'prefixed with c');

is(nginx_stop(), '', 'nginx stopped');
Hangar::Test::check_valgrind('catalog cache') if Hangar::Test::valgrind_on();
no_alerts();
Test::More::done_testing();
