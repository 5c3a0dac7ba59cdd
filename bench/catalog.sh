#!/usr/bin/env bash
# The front door's catalog rebuild: a fleet of <servers> servers with
# <tools> predefined tools each (a tool name of every server collides with
# one of another server, so naming has work to do).  Times tools/list
# right after a change (catalog rebuilt) against tools/list from the cache,
# both over one keep-alive session.
#   bench/catalog.sh [servers] [tools per server]   (default 100 x 100)
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${1:-100}
NT=${2:-100}
. bench/lib.sh

YAML=$(perl -e '
    my ($ns, $nt) = @ARGV;
    print "mcp_servers:\n";
    for my $s (1 .. $ns) {
        print "  s$s:\n    command: [x]\n    tools:\n";
        print "      - {name: shared_tool}\n";
        print "      - {name: s${s}_tool_$_, description: \"tool $_ of server $s\"}\n" for 2 .. $nt;
    }' "$NS" "$NT")
bench_nginx catalog "$YAML" 'location = /mcp { hangar_mcp; }'

perl -MIO::Socket::INET -MTime::HiRes=time -e '
    my ($port, $api) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die;
    sub req { my ($m, $path, $body, $sid) = @_;
        my $h = "$m $path HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              . "Accept: application/json, text/event-stream\r\n"
              . ($sid ? "Mcp-Session-Id: $sid\r\n" : "") . "Content-Length: " . length($body) . "\r\n\r\n$body";
        print $s $h;
        my ($len, %hd) = (0);
        my $st = <$s>;
        while (my $l = <$s>) { last if $l eq "\r\n"; $hd{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*?)\r\n/ }
        my $b = ""; read($s, $b, $hd{"content-length"}) if $hd{"content-length"};
        return ($st, \%hd, $b) }
    my (undef, $h) = req("POST", "/mcp", q({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}));
    my $sid = $h->{"mcp-session-id"};
    req("POST", "/mcp", q({"jsonrpc":"2.0","method":"notifications/initialized"}), $sid);
    my $list = q({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":null}});
    my (@cold, @warm, $count);
    for my $i (1 .. ($ENV{ROUNDS} || 10)) {
        req("PATCH", "/api/mcp_servers/s1", qq({"description":"round $i"}));
        my $t = time; my (undef, undef, $b) = req("POST", "/mcp", $list, $sid); push @cold, (time - $t) * 1000;
        $t = time; req("POST", "/mcp", $list, $sid); push @warm, (time - $t) * 1000;
        $count = () = $b =~ /"name":"[^"]*tool/g;
    }
    @cold = sort { $a <=> $b } @cold; @warm = sort { $a <=> $b } @warm;
    printf "tools/list, first page of %d tools: after a change %.1f ms (median of 10), from the cache %.1f ms\n",
        $count, $cold[5], $warm[5];
' "$PORT"
echo "fleet: $NS servers x $NT tools = $((NS * NT)) tools"
