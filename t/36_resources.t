# Resource indicators (RFC 8707) and protected resource metadata (RFC 9728), SPEC
# section 11, against <VirtualHost oas_res> of t/conf/resources.conf.in (an issuer with
# a path, its own registry t/conf/resources-clients.json, three declared resources, a
# default resource, three OAuthASProtectedResource sections):
#  - resource at the token endpoint (client_credentials, password, authorization_code,
#    refresh_token) and the authorization endpoint; every invalid_target case
#    (undeclared, not allowed to the client, malformed, a fragment, too many, widening
#    at code redemption and at refresh); narrowing on code and refresh; aud in
#    introspection (a string for one, an array for several; the default resource);
#  - the access hook: a token for another audience -> 401 invalid_token; every 401 and
#    403 challenge of a protected section carries resource_metadata (RFC 9728 section
#    5.1); an MCP-style resource at /mcp;
#  - the metadata documents at /.well-known/oauth-protected-resource[/PATH], 404 for an
#    unknown path; the AS metadata at the path-inserted URL (RFC 8414 section 3.1).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

plan tests => 73, need_module('oauth_as'), need_module('ssl'), need_module('alias');

# mod_authz_core logs the refusal of an authenticated user (the 403) at level error
expect_error_log(qr{AH01631: user \S+: authorization failure for "/rsx/scope"});

my $RP     = Apache::Test::vars('oas_res_port');
my $ORIGIN = "https://localhost:$RP";
my $ISSUER = "$ORIGIN/tenant";
my $MCP    = "$ORIGIN/mcp";
my $PRM    = '/.well-known/oauth-protected-resource';
my ($A, $B, $C) = ('https://api.example/a', 'https://api.example/b', 'urn:example:c');
my $DEFAULT = 'https://api.example/default';
my %P = (port => $RP);

ok $RP, "oas_res vhost on port " . ($RP // '?');

sub cc {          # client_credentials at the oas_res vhost, with resources
    my ($client, @res) = @_;
    return token_req([grant_type => 'client_credentials', map { (resource => $_) } @res],
                     client => $client, %P);
}

sub aud_of {      # introspected aud: 'x' for a string, '[x y]' for an array
    my ($token) = @_;
    my $j = introspect($token, %P);
    return '(inactive)' unless $j->{active};
    my $a = $j->{aud};
    return ref $a eq 'ARRAY' ? '[' . join(' ', @$a) . ']' : $a // '(none)';
}

sub target_error {
    my ($res, $name) = @_;
    is_oauth_error($res, 400, 'invalid_target', $name);
}

# === the token endpoint: client_credentials =================================================

my $t = token_of(cc('m2m'));
ok t_cmp(aud_of($t), $DEFAULT, 'no resource named: aud is OAuthASDefaultResource');
$t = token_of(cc('m2m', $A));
ok t_cmp(aud_of($t), $A, 'one resource: aud is that URI, as a string');
$t = token_of(cc('m2m', $A, $C));
ok t_cmp(aud_of($t), "[$A $C]", 'two resources (one a URN): aud is an array of both');
$t = token_of(cc('m2m', $A, $A));
ok t_cmp(aud_of($t), $A, 'the same resource twice counts once');

target_error(cc('m2m', 'https://api.example/undeclared'), 'an undeclared resource -> invalid_target');
target_error(cc('m2m', $A, 'https://api.example/undeclared'),
             'one undeclared among declared ones -> invalid_target');
target_error(cc('m2m', '/relative/path'), 'a relative reference -> invalid_target');
target_error(cc('m2m', 'not a uri'), 'a value with spaces -> invalid_target');
target_error(cc('m2m', "$A#frag"), 'a resource with a fragment -> invalid_target');
target_error(cc('m2m', 'https:///nohost'), 'an https URI without a host -> invalid_target');
target_error(cc('m2m', 'https://api.example/' . ('x' x 300)), 'a resource over 255 bytes -> invalid_target');
target_error(cc('m2m', map { "https://api.example/$_" } 1 .. 5), 'five resources -> invalid_target');
target_error(cc('m2m', $ISSUER), 'the issuer is no declared resource -> invalid_target');

ok t_cmp(aud_of(token_of(cc('limited', $A))), $A, 'limited: its one allowed resource');
target_error(cc('limited', $B), 'limited: a declared resource not in its resources -> invalid_target');
ok t_cmp(aud_of(token_of(cc('limited'))), $DEFAULT,
         'limited: no resource named -> the default resource');

# the password grant names resources too; its refresh token keeps the grant's
my $r = token_req([grant_type => 'password', username => 'alice', password => 'wonderland',
                   resource => $A, resource => $B], client => 'm2m', %P);
my $pw = $r->{json} || {};
ok t_cmp(aud_of($pw->{access_token}), "[$A $B]", 'password grant: aud of the named resources');
target_error(token_req([grant_type => 'password', username => 'alice', password => 'wonderland',
                        resource => 'https://elsewhere.example/'], client => 'm2m', %P),
             'password grant: undeclared resource -> invalid_target');

# === refresh: narrowing only ================================================================

$r = token_req([grant_type => 'refresh_token', refresh_token => $pw->{refresh_token},
                resource => $B], client => 'm2m', %P);
ok t_cmp($r->{status}, 200, 'refresh narrowed to one resource of the grant: 200');
ok t_cmp(aud_of($r->{json}{access_token}), $B, 'refresh: the new access token is for that one');
my $rt2 = $r->{json}{refresh_token};
$r = token_req([grant_type => 'refresh_token', refresh_token => $rt2, resource => $A],
               client => 'm2m', %P);
ok t_cmp($r->{status}, 200, 'the rotated refresh token keeps the whole grant: the other one too');
ok t_cmp(aud_of($r->{json}{access_token}), $A, '... aud is that one');
my $rt3 = $r->{json}{refresh_token};
target_error(token_req([grant_type => 'refresh_token', refresh_token => $rt3, resource => $C],
                       client => 'm2m', %P),
             'refresh naming a declared resource outside the grant (widening) -> invalid_target');
$r = token_req([grant_type => 'refresh_token', refresh_token => $rt3], client => 'm2m', %P);
ok t_cmp($r->{status}, 200, 'the refused widening left the refresh token usable');
ok t_cmp(aud_of($r->{json}{access_token}), "[$A $B]", 'refresh without resource: the grant\'s aud');
my $plain = token_req([grant_type => 'password', username => 'alice', password => 'wonderland'],
                      client => 'm2m', %P)->{json} || {};
target_error(token_req([grant_type => 'refresh_token', refresh_token => $plain->{refresh_token},
                        resource => $A], client => 'm2m', %P),
             'refresh of a default-audience grant naming a resource (widening) -> invalid_target');

# === the authorization code flow ===============================================================

my %AZ = (req => \%P);
my $code = get_code(params => { resource => $A }, %AZ) // '';
ok length $code, 'authorize with one resource: a code';
target_error(token_req([grant_type => 'authorization_code', code => $code,
                        redirect_uri => 'https://app.example/cb', resource => $B],
                       client => 'webapp', %P),
             'code for A redeemed naming B (declared, not in the code) -> invalid_target');
$r = redeem_code($code, %P);
ok t_cmp($r->{status}, 200, '... the refused redemption left the code usable');
ok t_cmp(aud_of($r->{json}{access_token}), $A, 'code redeemed without resource: the code\'s aud');

# two resources at authorize; the token request narrows to one
my $page = get('/oauth/authorize?' . form_encode([response_type => 'code', client_id => 'webapp',
               redirect_uri => 'https://app.example/cb', state => 's1', resource => $A,
               resource => $B]), auth => ['alice', 'wonderland'], %P);
ok t_cmp($page->{status}, 200, 'authorize with two resources: the approval page');
my @hidden = ($page->{body} // '') =~ m{<input type="hidden" name="resource" value="([^"]*)"}g;
ok t_cmp("@hidden", "$A $B", 'the approval form carries both resources');
ok t_cmp(($page->{body} // '') =~ /For use at: <code>\Q$A $B\E<\/code>/ ? 1 : 0, 1,
         'the approval page names the resources');
# approve that page's form (its hidden fields, the repeated resource among them)
my $code2;
{
    my @fields = map { html_unescape($_) }
        (($page->{body} // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g);
    my $post = post_form('/oauth/authorize', [@fields, decision => 'approve'],
                         auth => ['alice', 'wonderland'], %P);
    my $loc = $post->{headers}->header('Location') // '';
    ($code2) = $loc =~ /[?&]code=([^&#]+)/;
    ok defined $code2, 'approving the two-resource request: a code';
}
$r = token_req([grant_type => 'authorization_code', code => $code2 // '',
                redirect_uri => 'https://app.example/cb', resource => $B],
               client => 'webapp', %P);
ok t_cmp($r->{status}, 200, 'the code for A and B redeemed naming B only: 200');
ok t_cmp(aud_of($r->{json}{access_token}), $B, '... aud is B (narrowed)');
$r = token_req([grant_type => 'refresh_token', refresh_token => $r->{json}{refresh_token} // '',
                resource => $A], client => 'webapp', %P);
ok t_cmp(aud_of($r->{json}{access_token}), $A,
         'its refresh token holds the code\'s whole grant: A may be named at refresh');

my $nocode = get_code(%AZ);
target_error(token_req([grant_type => 'authorization_code', code => $nocode // '',
                        redirect_uri => 'https://app.example/cb', resource => $A],
                       client => 'webapp', %P),
             'a code without resources redeemed naming one (widening) -> invalid_target');

# errors at the authorization endpoint are redirects with iss and state
for my $case (['https://api.example/undeclared', 'an undeclared resource'],
              ["$A#f", 'a resource with a fragment'], ['relative', 'a relative resource']) {
    my $res = get('/oauth/authorize?' . form_encode([response_type => 'code', client_id => 'webapp',
                  redirect_uri => 'https://app.example/cb', state => 'xyz',
                  resource => $case->[0]]), auth => ['alice', 'wonderland'], %P);
    my $loc = $res->{headers}->header('Location') // '';
    ok(($res->{status} == 302 && $loc =~ m{^https://app\.example/cb\?}
        && $loc =~ /[?&]error=invalid_target(&|$)/ && $loc =~ /[?&]state=xyz(&|$)/
        && $loc =~ /[?&]iss=\Q${\ OAS::Test::_pct($ISSUER) }\E(&|$)/),
       "authorize: $case->[1] -> redirect with error=invalid_target, state and iss")
        or diag("HTTP $res->{status}, Location $loc");
}

# === protected resources: audience and challenges ==========================================

my $PRM_MCP = "$ORIGIN$PRM/mcp";
sub rm_of { challenge_params(challenge($_[0]))->{resource_metadata} // '(none)' }

$r = bearer('/mcp', undef, %P);
ok t_cmp($r->{status}, 401, '/mcp without a token: 401');
ok t_cmp(rm_of($r), $PRM_MCP, '... the challenge carries resource_metadata (RFC 9728 5.1)');
ok !defined challenge_params(challenge($r))->{error}, '... and no error attribute';
my $mcp_token = token_of(cc('m2m', $MCP));
ok t_cmp(aud_of($mcp_token), $MCP, 'OAuthASProtectedResource declares its URI: a token for /mcp');
$r = bearer('/mcp', $mcp_token, %P);
ok t_cmp($r->{status}, 200, '/mcp with a token for it: 200');
ok t_cmp($r->{body}, "rs ok\n", '... the file');
$r = bearer('/mcp', token_of(cc('m2m')), %P);
ok t_cmp($r->{status}, 401, '/mcp with a default-audience token: 401');
ok t_cmp(challenge_params(challenge($r))->{error}, 'invalid_token', '... invalid_token');
ok t_cmp(rm_of($r), $PRM_MCP, '... with resource_metadata');
$r = bearer('/mcp', token_of(cc('m2m', $A)), %P);
ok t_cmp($r->{status} . ' ' . (challenge_params(challenge($r))->{error} // ''), '401 invalid_token',
         '/mcp with a token for another resource: 401 invalid_token');
$r = bearer('/mcp', 'no-such-token', %P);
ok t_cmp(rm_of($r), $PRM_MCP, 'an unknown token: 401 invalid_token with resource_metadata');

# the metadata document the challenge points at
$r = get("$PRM/mcp", %P);
ok t_cmp($r->{status}, 200, "GET $PRM/mcp: 200");
my $doc = $r->{json} || {};
ok t_cmp($doc->{resource}, $MCP, '... resource is the OAuthASProtectedResource URI exactly');
ok t_cmp(join(' ', @{ $doc->{authorization_servers} || [] }), $ISSUER,
         '... authorization_servers: the issuer');
ok t_cmp(join(' ', @{ $doc->{scopes_supported} || [] }), 'read write admin',
         '... scopes_supported: every scope (none covers /mcp)');
ok t_cmp(join(' ', @{ $doc->{bearer_methods_supported} || [] }), 'header',
         '... bearer_methods_supported: header');
ok t_cmp(exists $doc->{jwks_uri} ? 1 : 0, 0, '... no jwks_uri');

# 403 insufficient_scope at a section whose resource a scope covers
my $api = 'https://api.example/api/read';
$r = bearer('/rsx/scope', token_of(token_req([grant_type => 'client_credentials', scope => 'read',
                                               resource => $api], client => 'm2m', %P)), %P);
my $cp = challenge_params(challenge($r));
ok t_cmp("$r->{status} " . ($cp->{error} // ''), '403 insufficient_scope',
         'a token for the resource without its scope: 403 insufficient_scope');
ok t_cmp($cp->{resource_metadata}, "https://api.example$PRM/api/read",
         '... the 403 challenge carries resource_metadata too');
$r = bearer('/rsx/scope', token_of(token_req([grant_type => 'client_credentials', scope => 'admin',
                                               resource => $api], client => 'm2m', %P)), %P);
ok t_cmp($r->{status}, 200, 'with the scope and the audience: 200');
$r = bearer('/rsx/scope', token_of(cc('m2m', $A)), %P);
ok t_cmp($r->{status} . ' ' . (challenge_params(challenge($r))->{error} // ''), '401 invalid_token',
         'a token with admin but for another audience: 401 invalid_token');
$doc = get("$PRM/api/read", %P)->{json} || {};
ok t_cmp(join(' ', @{ $doc->{scopes_supported} || [] }), 'read',
         "$PRM/api/read: scopes_supported is the scope whose path covers /api/read");

# a resource without a path: the bare well-known URL
$r = bearer('/rsx/root', undef, %P);
ok t_cmp(rm_of($r), "https://rs.example$PRM", 'a URI without a path: resource_metadata is the bare URL');
$doc = get($PRM, %P)->{json} || {};
ok t_cmp($doc->{resource}, 'https://rs.example', "$PRM: the document of https://rs.example");
ok t_cmp(get("$PRM/nope", %P)->{status}, 404, "$PRM/nope: no such resource -> 404");
ok t_cmp(get("$PRM/mcp/x", %P)->{status}, 404, "$PRM/mcp/x -> 404");

# outside an OAuthASProtectedResource section nothing changes (main server's /rs/valid/)
$r = bearer('/rs/valid/ok.txt', undef);
ok t_cmp(rm_of($r), '(none)', 'a Bearer section without OAuthASProtectedResource: no resource_metadata');

# === AS metadata at the path-inserted URL (RFC 8414 section 3.1) ===========================

my $WK = '/.well-known/oauth-authorization-server';
$r = get("$WK/tenant", %P);
ok t_cmp($r->{status}, 200, "issuer with a path: $WK/tenant answers");
ok t_cmp(($r->{json} || {})->{issuer}, $ISSUER, '... with the issuer https://localhost:PORT/tenant');
ok t_cmp(get($WK, %P)->{status}, 200, "... and $WK too");
ok t_cmp(get("$WK/other", %P)->{status}, 404, "$WK/other (another issuer's path) -> 404");
