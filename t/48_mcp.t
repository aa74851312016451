# A real MCP client end to end (issue 15): the Model Context Protocol TypeScript SDK
# (npm @modelcontextprotocol/sdk, pinned in t/clients/package-lock.json).  Its
# streamable HTTP server (t/clients/mcp_server.mjs, one tool `add`, on a Unix socket)
# sits behind ProxyPass under AuthType Bearer + OAuthASProtectedResource; its client
# (t/clients/mcp_client.mjs) knows only the URL of /mcp.  From the 401 it discovers the
# resource metadata and our metadata, registers itself (RFC 7591), authorizes with PKCE
# S256 and `resource` as alice (approving on our page), redeems the code at its
# loopback redirect URI, lists the tools and calls one.  Twice: once registering by
# RFC 7591, once with a client metadata document it serves itself over HTTPS (its URL as
# client_id, the SDK's clientMetadataUrl).
# Virtual host: t/conf/mcp.conf.in (oas_mcp).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use JSON::PP ();
use FindBin ();
use File::Spec ();
use POSIX ();

plan tests => 27, need_module('ssl'), need_module('oauth_as'), need_module('proxy_http');

my $MP = Apache::Test::vars('oas_mcp_port');
my $RESOURCE = "https://localhost:$MP/mcp";
my $SOCK = Apache::Test::vars('t_logs') . '/mcp.sock';
my $CDIR = File::Spec->catdir($FindBin::Bin, 'clients');
my $CA = File::Spec->catfile($FindBin::Bin, 'conf', 'oas-ssl', 'server.crt');

# Without a token: the 401 names the resource metadata, which names this issuer.
my $r = get('/mcp', port => $MP);
ok(t_cmp($r->{status}, 401, '/mcp without a token: 401'));
my $wa = $r->{headers}->header('WWW-Authenticate') // '';
ok(t_cmp($wa, qr{resource_metadata="https://localhost:$MP/\.well-known/oauth-protected-resource/mcp"},
         '... naming its resource metadata (RFC 9728)'));
$r = get('/.well-known/oauth-protected-resource/mcp', port => $MP);
my $prm = $r->{json} || {};
ok(t_cmp($prm->{resource}, $RESOURCE, 'the resource metadata: resource'));
ok(t_cmp(join(' ', @{ $prm->{authorization_servers} || [] }), "https://localhost:$MP",
         '... authorization_servers: this issuer'));

my $before = (oas_status(port => $MP)->{self_registered_clients}) // -1;

SKIP: {
    my $node = `command -v node 2>/dev/null`;
    skip 'node is not installed', 23 unless $node;
    unless (-d "$CDIR/node_modules/\@modelcontextprotocol/sdk") {
        my $out = `cd '$CDIR' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
        diag "npm ci: $out" if $?;
    }
    skip 'the MCP SDK is not installed (npm ci in t/clients failed)', 23
        unless -d "$CDIR/node_modules/\@modelcontextprotocol/sdk";

    # the tool server, on the Unix socket httpd proxies /mcp to
    my $pid = open(my $srv, '-|', 'node', "$CDIR/mcp_server.mjs", $SOCK)
        // die "cannot start mcp_server.mjs: $!";
    my $ready = <$srv> // '';
    ok(t_cmp($ready, qr/^listening/, 'the MCP tool server listens'));

    local $ENV{NODE_EXTRA_CA_CERTS} = $CA;   # trust the test certificate, nothing else
    my $KEY = File::Spec->catfile($FindBin::Bin, 'conf', 'oas-ssl', 'server.key');
    for my $run (['RFC 7591 registration', ''],
                 ['a client metadata document', " '$CA' '$KEY'"]) {
        my ($how, $args) = @$run;
        my $out = `timeout 60 node '$CDIR/mcp_client.mjs' '$RESOURCE' alice wonderland$args 2>&1`;
        ok(t_cmp($? >> 8, 0, "$how: mcp_client.mjs connected, authorized, called a tool"))
            or diag $out;
        my ($line) = $out =~ /^(\{.*\})\s*$/m;
        my $res = eval { JSON::PP->new->decode($line // '{}') } || {};
        ok(t_cmp(join(',', @{ $res->{tools} || [] }), 'add', "$how: tools/list: the server's tool"));
        my $cid = $res->{client_id} // 'none';
        ok(t_cmp($res->{result}, "5 for alice via $cid",
                 "$how: tools/call add(2, 3): 5, for alice, via its client (through httpd)"));
        my $ap = $res->{authorization_params} || {};
        ok(t_cmp($ap->{code_challenge_method}, 'S256', "$how: the authorization request: PKCE S256"));
        ok(t_cmp($ap->{resource}, $RESOURCE, "$how: ... resource = the MCP server (RFC 8707)"));
        ok(t_cmp($ap->{scope}, 'mcp:tools', "$how: ... the scope of the resource metadata"));
        ok($res->{approval_page_client}, "$how: the approval page showed a client not vouched for");
        my $i = introspect($res->{access_token} // 'none', port => $MP);
        ok(t_cmp($i->{active}, JSON::PP::true, "$how: introspection: the token is active"));
        my $aud = ref $i->{aud} ? join(' ', @{ $i->{aud} }) : ($i->{aud} // '');
        ok(t_cmp($aud, $RESOURCE, "$how: ... its aud is the MCP server"));
        ok(t_cmp($i->{client_id}, $cid, "$how: ... issued to that client"));
        if ($args) {
            ok(t_cmp($cid, qr{^https://localhost:\d+/client\.json$},
                     "$how: the client id is the document's URL"));
        }
        else {
            ok(t_cmp((oas_status(port => $MP)->{self_registered_clients}) // -1, $before + 1,
                     "$how: one more self-registered client (it was not in the registry)"));
        }
    }
    kill 'TERM', $pid;
    close $srv;
}
