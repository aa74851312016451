# Issuers apart on a shared store (issue 12 item 2, SPEC sections 7 and 8), and the
# access hook's HTTPS rule (RFC 6750 section 5.3).
#
# <VirtualHost oas_issa> and <VirtualHost oas_issb> (t/conf/issuers.conf.in) share the
# main server's store; each has an issuer and a registry of its own with a client
# "twin" (secret twin-a-secret at A, twin-b-secret at B).  A code or token of A is
# unknown at B:
#  - A's code redeemed at B: invalid_grant, and the code is not consumed (it is still
#    good at A); presented at B again after A redeemed it: invalid_grant, and no
#    code-reuse revocation of A's tokens
#  - an approval form of A (its CSRF token) posted at B: 403, and still good at A
#  - A's access token at B's protected resource: 401 invalid_token; introspected at B:
#    exactly {"active":false}; revoked at B (access and refresh token): 200 and nothing
#    changes, it still works at A
#  - A's refresh token at B: invalid_grant, A's family untouched (it refreshes at A);
#    the used refresh token at B again: invalid_grant, no reuse revocation at A
#  - B's token at A: refused too
# The access hook and OAuthASRequireHTTPS:
#  - the main server's plain port (On, the default): a bearer token is refused with 400
#    invalid_request and an error_description; no token: 400 as well
#  - oas_issplain (Off): plain HTTP is served; oas_issproxy (ServerName https://...,
#    TLS terminated in front): served, at the access hook and at the token endpoint
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

plan tests => 38, need_module('oauth_as'), need_module('ssl');

my %PORT = (A => Apache::Test::vars('oas_issa_port'), B => Apache::Test::vars('oas_issb_port'));
my %SECRET = (A => 'twin-a-secret', B => 'twin-b-secret');
my $CB = 'https://app.example/cb';
my $PAGE = '/rs/valid/ok.txt';       # resource.conf.in: any active token

sub tok_at {
    my ($iss, $form) = @_;
    return post_form('/oauth/token', $form, auth => ['twin', $SECRET{$iss}], port => $PORT{$iss});
}

sub redeem_at {
    my ($iss, $code) = @_;
    return tok_at($iss, [grant_type => 'authorization_code', code => $code, redirect_uri => $CB]);
}

sub refresh_at {
    my ($iss, $rt) = @_;
    return tok_at($iss, [grant_type => 'refresh_token', refresh_token => $rt]);
}

sub active_at {
    my ($iss, $token) = @_;
    my $j = introspect($token, port => $PORT{$iss});
    return ($j->{active} // '') ? 1 : 0;
}

sub page_at { my ($iss, $token) = @_; bearer($PAGE, $token, port => $PORT{$iss}) }

# one ok(): 401 and WWW-Authenticate error="invalid_token"
sub is_invalid_token {
    my ($r, $name) = @_;
    my $c = challenge_params(challenge($r));
    my $ok = ok($r->{status} == 401 && ($c->{error} // '') eq 'invalid_token', $name);
    diag("HTTP $r->{status}, WWW-Authenticate: " . challenge($r)) unless $ok;
    return $ok;
}

sub code_at {
    my ($iss) = @_;
    return get_code(params => { client_id => 'twin', redirect_uri => $CB },
                    req => { port => $PORT{$iss} });
}

# --- a code of A at B ------------------------------------------------------------------
my $code = code_at('A');
ok $code, 'a code from issuer A';
my $r = redeem_at('B', $code);
is_oauth_error($r, 400, 'invalid_grant', "A's code redeemed at B (same client id, B's secret): invalid_grant");
ok !($r->{json} && $r->{json}{access_token}), '... and nothing issued';

$r = redeem_at('A', $code);
ok t_cmp($r->{status}, 200, "A's code is still good at A (B did not consume it)")
    or diag($r->{body});
my $cat = ($r->{json} && $r->{json}{access_token}) // 'missing';
ok active_at('A', $cat), '... its access token is active at A';

$r = redeem_at('B', $code);
is_oauth_error($r, 400, 'invalid_grant', "A's used code at B: invalid_grant");
ok active_at('A', $cat), "... no code-reuse revocation: A's token is still active at A";

# --- an approval form of A posted at B -------------------------------------------------
# Both vhosts share the CSRF key (OAuthASCSRFKeyFile of the main server) and the store.
my %q = (response_type => 'code', client_id => 'twin', redirect_uri => $CB, state => 'f1');
my $page = get('/oauth/authorize?' . form_encode(\%q), auth => ['alice', 'wonderland'],
               port => $PORT{A});
my ($form) = ($page->{body} // '') =~ m{<form method="post"[^>]*>(.*?)</form>}s;
my @fields;
while (($form // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
    push @fields, html_unescape($1), html_unescape($2);
}
$r = post_form('/oauth/authorize', [@fields, decision => 'approve'],
               auth => ['alice', 'wonderland'], port => $PORT{B});
ok t_cmp($r->{status}, 403, "A's approval form posted at B: 403 (no code from B)")
    or diag('Location: ' . ($r->{headers}->header('Location') // ''));
$r = post_form('/oauth/authorize', [@fields, decision => 'approve'],
               auth => ['alice', 'wonderland'], port => $PORT{A});
ok t_cmp($r->{status}, 303, '... and it still works at A, once');

# Each part below starts from a pair of its own (password grant at A): a defect in one
# part does not hide the next one.
sub pair_at {
    my ($iss) = @_;
    my $res = tok_at($iss, [grant_type => 'password', username => 'alice',
                            password => 'wonderland']);
    diag("password grant at $iss: HTTP $res->{status}: $res->{body}")
        unless $res->{status} == 200;
    my $j = $res->{json} || {};
    return ($j->{access_token} // 'missing', $j->{refresh_token} // 'missing');
}

# --- A's access token at B -------------------------------------------------------------
my ($at, $rt) = pair_at('A');
ok t_cmp(page_at('A', $at)->{status}, 200, "A's token at A's protected resource: 200");
is_invalid_token(page_at('B', $at), "A's token at B's protected resource: 401 invalid_token");

$r = introspect_raw($at, port => $PORT{B});
ok t_cmp($r->{status}, 200, "A's token introspected at B: 200");
ok t_cmp($r->{body}, '{"active":false}', '... exactly {"active":false}');
$r = introspect_raw($rt, port => $PORT{B});
ok t_cmp($r->{body}, '{"active":false}', "A's refresh token at B: inactive");
$r = introspect_raw($at, port => $PORT{A});
ok $r->{json} && $r->{json}{active} && ($r->{json}{iss} // '') eq "https://localhost:$PORT{A}",
    "A's token introspected at A: active, iss A" or diag($r->{body});

# --- revocation at B changes nothing ---------------------------------------------------
for my $case (['access token', $at, undef], ['refresh token', $rt, 'refresh_token']) {
    my ($what, $t, $hint) = @$case;
    $r = post_form('/oauth/revoke', [token => $t, (defined $hint ? (token_type_hint => $hint) : ())],
                   auth => ['twin', $SECRET{B}], port => $PORT{B});
    ok t_cmp($r->{status}, 200, "A's $what revoked at B by B's twin: 200 (RFC 7009)");
}
ok active_at('A', $at), "... A's access token is still active at A";
ok t_cmp(page_at('A', $at)->{status}, 200, "... and still opens A's protected resource");

# --- A's refresh token at B ------------------------------------------------------------
($at, $rt) = pair_at('A');
$r = refresh_at('B', $rt);
is_oauth_error($r, 400, 'invalid_grant', "A's refresh token at B: invalid_grant");
ok active_at('A', $at), "... A's family untouched (its access token is active)";
$r = refresh_at('A', $rt);
ok t_cmp($r->{status}, 200, "A's refresh token still refreshes at A") or diag($r->{body});
my $at2 = ($r->{json} && $r->{json}{access_token}) // 'missing';
ok active_at('A', $at2), '... the new access token is active at A';
ok !active_at('B', $at2), '... and unknown at B';

$r = refresh_at('B', $rt);
is_oauth_error($r, 400, 'invalid_grant', "A's used refresh token at B: invalid_grant");
ok active_at('A', $at) && active_at('A', $at2),
    "... no refresh-reuse revocation of A's family";

# --- B's token at A --------------------------------------------------------------------
$r = tok_at('B', [grant_type => 'password', username => 'alice', password => 'wonderland']);
my $bt = ($r->{json} && $r->{json}{access_token}) // 'missing';
ok $bt ne 'missing', "a token of B's twin (password grant at B)" or diag($r->{body});
ok t_cmp(page_at('B', $bt)->{status}, 200, "B's token at B's protected resource: 200");
is_invalid_token(page_at('A', $bt), "B's token at A's protected resource: 401 invalid_token");
ok !active_at('A', $bt), "B's token introspected at A: inactive";

# --- the access hook and OAuthASRequireHTTPS -------------------------------------------
my $main = token_of(cc_token('m2m', scope => 'read')) // 'missing';       # the main server's issuer
ok t_cmp(bearer($PAGE, $main)->{status}, 200, "the main server's token over HTTPS: 200");

$r = bearer($PAGE, $main, scheme => 'http');
my $c = challenge_params(challenge($r));
ok $r->{status} == 400 && ($c->{error} // '') eq 'invalid_request'
    && ($c->{error_description} // '') =~ /HTTPS/,
    'the same token over plain HTTP (OAuthASRequireHTTPS On): 400 invalid_request, '
    . 'error_description names HTTPS'
    or diag("HTTP $r->{status}, WWW-Authenticate: " . challenge($r));
ok t_cmp(($c->{scheme} // ''), 'Bearer', '... in a Bearer challenge');
$r = bearer($PAGE, undef, scheme => 'http');
ok t_cmp($r->{status}, 400, '... no token over plain HTTP: 400 as well');
ok t_cmp(bearer($PAGE, $main)->{status}, 200, '... the token itself was not harmed');

my $plain = Apache::Test::vars('oas_issplain_port');
$r = bearer($PAGE, $main, scheme => 'http', port => $plain);
ok t_cmp($r->{status}, 200, 'plain HTTP with OAuthASRequireHTTPS Off: 200');

my $proxy = Apache::Test::vars('oas_issproxy_port');
$r = bearer($PAGE, $main, scheme => 'http', port => $proxy);
ok t_cmp($r->{status}, 200, 'plain HTTP behind a TLS proxy (ServerName https://...): 200');
$r = cc_token('m2m', scope => 'read', scheme => 'http', port => $proxy);
ok t_cmp($r->{status}, 200, '... and its token endpoint serves too') or diag($r->{body});
