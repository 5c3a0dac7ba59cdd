# The front door relays the rest of MCP (hangar-core.md §7.6), with the
# official TypeScript SDK client: resources and templates of the fleet with
# projected uris (hangar://<server>/<uri>) and pages followed to the end,
# reads resolved back, a subscription and its updates on the GET stream
# (through the mailbox, whichever worker holds the stream), prompts named
# as tools are in each naming mode, completion routed by the reference,
# logging/setLevel fanned out and remembered for a server started later.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Hangar::Test;
use JSON::PP ();

my $REPO = "$FindBin::Bin/..";
my $SDK = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/sdk";
my $EV = "$REPO/t/.cache/npm/node_modules/\@modelcontextprotocol/server-everything/dist/index.js";
my ($NODE) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
my $SERVER = "$REPO/t/servers/hangar-test-server";

Test::More::plan(skip_all => 'hangar-bridge not built') unless -x "$REPO/build/hangar-bridge";
Test::More::plan(skip_all => 'node or the SDK missing (make test-deps needs npm)')
    unless $NODE && -d $SDK && -f $EV;

my $json = JSON::PP->new->canonical;

sub sdk (@) {
    my @steps = @_;
    local $ENV{SDK_DIR} = $SDK;
    my $url = 'http://127.0.0.1:' . port() . '/mcp';
    my @lines = `$NODE $REPO/t/servers/sdk-relay.mjs $url '@{[ $json->encode(\@steps) ]}' 2>&1`;
    return map { eval { $json->decode($_) } // { raw => $_ } } @lines;
}

sub raw ($;$) {
    my ($body, $sid) = @_;
    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream');
    $h{'Mcp-Session-Id'} = $sid if $sid;
    my ($st, $hd, $b) = http_request(POST => '/mcp', $body, \%h);
    return ($st, $hd, eval { $json->decode($b) } // $b);
}

my $DOC = 'demo://resource/static/document';

for my $naming (qw(auto prefixed flat)) {
    nginx_start({
        workers     => 2,
        timeout     => 60,      # starts of node servers, under valgrind too
        http_config => "    hangar_zone hangar 2m;\n"
                     . "    hangar_config \$TEST_NGINX_SERVROOT/conf/hangar.yaml;\n"
                     . "    hangar_state \$TEST_NGINX_STATE_DIR;\n"
                     . "    hangar_mcp_naming $naming;\n",
        config      => "location /api/ { hangar_api; }\n"
                     . "location = /mcp { hangar_mcp; hangar_mcp_page_size 3; }\n",
        user_files  => ">>> conf/hangar.yaml\n"
                     . "execution: {allowed_commands: [perl, node]}\n"
                     . "mcp_servers:\n"
                     . "  alpha:\n    command: [$NODE, $EV, stdio]\n"
                     . "  beta:\n    command: [$NODE, $EV, stdio]\n"
                     . "  solo:\n    command: [perl, $SERVER, --name, solo, "
                     . "--prompts, 'args-prompt,solo-prompt,notify-changed', "
                     . "--resources, '$DOC/architecture.md,solo://one']\n"
                     # policies of the kinds prompt and resource
                     . "  guarded:\n    command: [perl, $SERVER, --name, guarded, "
                     . "--prompts, 'secret-prompt,open-prompt', "
                     . "--resources, 'g://secret,g://open']\n"
                     . "    access: {prompt: {deny_list: ['secret-*']}, "
                     . "resource: {deny_list: ['g://secret']}}\n"
                     # no tool may be called: its prompts and resources neither
                     . "  locked:\n    command: [perl, $SERVER, --name, locked, "
                     . "--prompts, locked-prompt, --resources, 'l://x']\n"
                     . "    tools: {deny_list: ['*']}\n",
    });

    for my $id (qw(alpha beta solo guarded locked)) {
        my ($st) = http_request(POST => "/api/mcp_servers/$id/start");
        is($st, 200, "$naming: $id started");
    }

    # -- what initialize advertises
    my ($caps) = sdk({ op => 'caps' });
    is_deeply($caps->{caps}, { tools => { listChanged => JSON::PP::true },
                               resources => { subscribe => JSON::PP::true,
                                              listChanged => JSON::PP::true },
                               prompts => { listChanged => JSON::PP::true },
                               completions => {}, logging => {} },
              "$naming: initialize advertises what hangar relays")
        or diag($json->encode($caps));

    # -- resources and templates: every server's, projected, in pages of 3
    my ($res, $tpl) = sdk({ op => 'resources' }, { op => 'templates' });
    my @uris = @{ $res->{items} || [] };
    my @alpha = grep { m{^hangar://alpha/\Q$DOC\E/} } @uris;
    my @beta = grep { m{^hangar://beta/\Q$DOC\E/} } @uris;
    ok(@alpha >= 5 && @alpha == @beta, "$naming: alpha's and beta's documents, "
       . scalar(@alpha) . ' each') or diag($json->encode($res));
    is_deeply([ grep { m{^hangar://solo/} } @uris ],
              [ "hangar://solo/$DOC/architecture.md", 'hangar://solo/solo://one' ],
              "$naming: solo's, in its order");
    is(scalar(@uris), 2 * @alpha + 3, "$naming: nothing else, nothing twice");
    is_deeply(\@uris, [ @alpha, @beta, 'hangar://guarded/g://open',
                        'hangar://solo/' . "$DOC/architecture.md",
                        'hangar://solo/solo://one' ],
              "$naming: ordered by server, then the server's order");
    ok($res->{pages} >= 5, "$naming: the SDK followed $res->{pages} pages");
    ok((grep { $_ eq 'hangar://alpha/demo://resource/dynamic/text/{resourceId}' }
        @{ $tpl->{items} || [] }), "$naming: templates projected")
        or diag($json->encode($tpl));

    # -- reads resolve the projection back, and answer in its terms
    my ($r1, $r2, $r3, $r4, $r5, $r6, $r7, $r8) = sdk(
        { op => 'read', uri => $beta[0] },
        { op => 'read', uri => 'hangar://solo/solo://one' },
        { op => 'read', uri => 'hangar://nope/solo://one' },
        { op => 'read', uri => 'solo://one' },
        { op => 'read', uri => 'hangar://solo/solo://two' },
        { op => 'read', uri => 'hangar://guarded/g://secret' },
        { op => 'read', uri => 'hangar://locked/l://x' },
        { op => 'read', uri => 'hangar://guarded/g://open' });
    is($r1->{contents}[0]{uri}, $beta[0], "$naming: a read's contents carry the projected uri")
        or diag($json->encode($r1));
    like($r1->{contents}[0]{text} // '', qr/\w/, "$naming: and the document");
    is_deeply($r2->{contents}, [ { uri => 'hangar://solo/solo://one',
                                   text => 'resource solo://one of solo' } ],
              "$naming: solo's resource read from solo");
    is($r3->{code}, -32002, "$naming: unknown server: -32002") or diag($json->encode($r3));
    like($r3->{error} // '', qr{Unknown resource: hangar://nope/solo://one},
         "$naming: Unknown resource: <uri>");
    is($r4->{code}, -32002, "$naming: an unprojected uri: -32002");
    is($r5->{code}, -32002, "$naming: the server's own not-found passes through")
        or diag($json->encode($r5));
    is($r6->{code}, -32002, "$naming: a resource its policy denies: -32002")
        or diag($json->encode($r6));
    is($r7->{code}, -32002, "$naming: a resource of a server none of whose "
       . "tools may be called: -32002") or diag($json->encode($r7));
    is($r8->{contents}[0]{text}, 'resource g://open of guarded',
       "$naming: the policy allows the rest") or diag($json->encode($r8));

    # -- prompts: named as tools are
    my ($pl) = sdk({ op => 'prompts' });
    my @ev = qw(args-prompt completable-prompt resource-prompt simple-prompt);
    my %want = (
        auto     => [ (map { "alpha__$_" } @ev), (map { "beta__$_" } @ev),
                      'solo__args-prompt', 'solo-prompt', 'open-prompt',
                      'notify-changed' ],
        prefixed => [ (map { "alpha__$_" } @ev), (map { "beta__$_" } @ev),
                      'solo__args-prompt', 'solo__solo-prompt',
                      'guarded__open-prompt', 'solo__notify-changed' ],
        flat     => [ 'solo-prompt', 'open-prompt', 'notify-changed' ],
    );
    is_deeply([ sort @{ $pl->{items} || [] } ], [ sort @{ $want{$naming} } ],
              "$naming: prompts named by the naming mode")
        or diag($json->encode($pl));

    my $solo = $naming eq 'prefixed' ? 'solo__solo-prompt' : 'solo-prompt';
    my ($g1, $g2, $g3, $g4, $g5) = sdk(
        { op => 'get', name => $solo },
        { op => 'get', name => 'beta__args-prompt', arguments => { city => 'Paris' } },
        { op => 'get', name => 'args-prompt' },
        { op => 'get', name => $naming eq 'prefixed' ? 'guarded__secret-prompt'
                                                     : 'secret-prompt' },
        { op => 'get', name => $naming eq 'prefixed' ? 'locked__locked-prompt'
                                                     : 'locked-prompt' });
    like($g1->{messages}[0]{content}{text} // '', qr/^prompt solo-prompt of solo/,
         "$naming: $solo routed to solo under its own name") or diag($json->encode($g1));

    if ($naming eq 'flat') {
        ok($g2->{error}, "$naming: a colliding prompt is not offered");
    } else {
        is($g2->{messages}[0]{content}{text}, "What's weather in Paris?",
           "$naming: beta__args-prompt is beta's args-prompt") or diag($json->encode($g2));
    }
    ok($g3->{error}, "$naming: the ambiguous bare name is unknown");
    like($g4->{error} // '', qr/unknown prompt/, "$naming: a prompt its policy denies is unknown");
    like($g5->{error} // '', qr/unknown prompt/,
         "$naming: so is one of a server none of whose tools may be called");

    # -- a server's list_changed of prompts and resources reaches every
    # session's GET stream
    {
        local $ENV{SDK_DIR} = $SDK;
        local $ENV{READY} = 1;
        my $url = 'http://127.0.0.1:' . port() . '/mcp';
        my $steps = $json->encode([{ op => 'changed', seconds => 10 }]);
        open(my $fh, '-|', "$NODE $REPO/t/servers/sdk-relay.mjs $url '$steps' 2>&1")
            or die "node: $!";
        my $ready = <$fh>;
        like($ready // '', qr/"ready":true/, "$naming: a listening session");
        delete local $ENV{READY};
        my ($n) = sdk({ op => 'get', name => $naming eq 'prefixed'
                                               ? 'solo__notify-changed' : 'notify-changed' });
        ok($n->{messages}, "$naming: solo announced changes") or diag($json->encode($n));
        my @theirs = map { eval { $json->decode($_) } // { raw => $_ } } <$fh>;
        close $fh;
        is_deeply($theirs[0]{changed}, [ 'notifications/prompts/list_changed',
                                         'notifications/resources/list_changed' ],
                  "$naming: the other session heard both list_changed")
            or diag($json->encode(\@theirs));
    }

    if ($naming ne 'flat') {
        # -- completion, by prompt and by resource template
        my ($c1, $c2) = sdk(
            { op => 'complete', ref => { type => 'ref/prompt', name => 'alpha__completable-prompt' },
              argument => { name => 'department', value => 'E' } },
            { op => 'complete', ref => { type => 'ref/resource',
                                         uri => 'hangar://beta/demo://resource/dynamic/text/{resourceId}' },
              argument => { name => 'resourceId', value => '1' } });
        is_deeply($c1->{completion}{values}, ['Engineering'],
                  "$naming: a prompt argument completed by its server") or diag($json->encode($c1));
        ok(ref $c2->{completion}{values} eq 'ARRAY',
           "$naming: a template argument completed by its server") or diag($json->encode($c2));

        # -- links in a tool's result name the resources as the client sees them
        my ($l1, $l2, $l3) = sdk(
            { op => 'call', name => 'alpha__get-resource-links', arguments => { count => 2 } },
            { op => 'call', name => 'beta__get-resource-reference', arguments => {} });
        my @links = map { $_->{uri} } grep { $_->{type} eq 'resource_link' }
                    @{ $l1->{result}{content} || [] };
        is(scalar(@links), 2, "$naming: two resource_link blocks") or diag($json->encode($l1));
        is(scalar(grep { m{^hangar://alpha/demo://resource/dynamic/} } @links), 2,
           "$naming: projected to their server");
        my ($emb) = grep { $_->{type} eq 'resource' } @{ $l2->{result}{content} || [] };
        like($emb->{resource}{uri} // '', qr{^hangar://beta/demo://resource/dynamic/text/1$},
             "$naming: an embedded resource too") or diag($json->encode($l2));
        ($l3) = sdk({ op => 'read', uri => $links[0] });
        is($l3->{contents}[0]{uri}, $links[0], "$naming: a link read back through its server")
            or diag($json->encode($l3));

        # -- a subscription: the updates come on the session's GET stream;
        # another session, open at the same time, did not subscribe
        my $uri = $alpha[0];
        my $other = do {
            local $ENV{SDK_DIR} = $SDK;
            my $url = 'http://127.0.0.1:' . port() . '/mcp';
            my $steps = $json->encode([{ op => 'wait', uri => $uri, seconds => 10 }]);
            open(my $fh, '-|', "$NODE $REPO/t/servers/sdk-relay.mjs $url '$steps' 2>&1")
                or die "node: $!";
            $fh;
        };
        my @out = sdk({ op => 'level', level => 'debug' },
                      { op => 'subscribe', uri => $uri },
                      { op => 'call', name => 'alpha__toggle-subscriber-updates' },
                      { op => 'wait', uri => $uri, seconds => 12 },
                      { op => 'unsubscribe', uri => $uri },
                      { op => 'call', name => 'alpha__toggle-subscriber-updates' });
        is_deeply($out[0]{result}, {}, "$naming: setLevel answered") or diag($json->encode($out[0]));
        is_deeply($out[1]{result}, {}, "$naming: subscribed") or diag($json->encode($out[1]));
        like($out[2]{result}{content}[0]{text} // '', qr/Started simulated/,
             "$naming: updates toggled on") or diag($json->encode($out[2]));
        is_deeply($out[3]{updated}, [$uri],
                  "$naming: notifications/resources/updated of the projected uri, "
                  . "and of nothing else") or diag($json->encode($out[3]));
        is_deeply($out[4]{result}, {}, "$naming: unsubscribed");

        my @theirs = map { eval { $json->decode($_) } // { raw => $_ } } <$other>;
        close $other;
        is_deeply($theirs[0]{updated}, [],
                  "$naming: no update for a session that did not subscribe")
            or diag($json->encode(\@theirs));
    }

    if ($naming eq 'auto') {
        # the level set above holds for a server that starts later
        my ($st) = http_request(POST => '/api/mcp_servers',
            qq({"mcp_server_id":"late","mode":"subprocess","command":)
            . qq(["perl","$SERVER","--name","late","--prompts","late-prompt"]}));
        is($st, 201, 'late created');
        ($st) = http_request(POST => '/api/mcp_servers/late/start');
        is($st, 200, 'late started');
        my ($g) = sdk({ op => 'get', name => 'late-prompt' });
        is($g->{messages}[0]{content}{text}, 'prompt late-prompt of late (log level debug)',
           'logging/setLevel remembered for a server started later') or diag($json->encode($g));

        # setLevel's own checks
        my ($s, $h) = raw('{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                          . '{"protocolVersion":"2025-11-25","capabilities":{},'
                          . '"clientInfo":{"name":"t","version":"0"}}}');
        my $sid = $h->{'mcp-session-id'};
        my (undef, undef, $doc) = raw('{"jsonrpc":"2.0","id":2,"method":"logging/setLevel",'
                                      . '"params":{"level":"loud"}}', $sid);
        is($doc->{error}{code}, -32602, 'an unknown level: -32602');
        (undef, undef, $doc) = raw('{"jsonrpc":"2.0","id":3,"method":"resources/list",'
                                   . '"params":{"cursor":"x"}}', $sid);
        is($doc->{error}{code}, -32602, 'an unknown cursor: -32602');
        (undef, undef, $doc) = raw('{"jsonrpc":"2.0","id":4,"method":"resources/list",'
                                   . '"params":{"cursor":"999"}}', $sid);
        is($doc->{error}{code}, -32602, 'a cursor past the end: -32602');
    }

    is(nginx_stop(), '', "$naming: nginx stopped");
    no_orphans();
    no_alerts();
    Hangar::Test::check_valgrind("$naming") if Hangar::Test::valgrind_on();
}

Test::More::done_testing();
