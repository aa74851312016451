# The hostile-input catalogue (issue 5 item 7): the attacks of RFC 9700 (OAuth 2.0
# Security BCP) and RFC 6819 (the OAuth threat model) that apply to an authorization
# server and resource server, thrown at every endpoint.  One named case per attack,
# citing its section.  For each case (OAS::Hostile::run_attacks):
#   - the exact answer: status, OAuth error code (SPEC says which), or HTML page;
#   - never a redirect to an unregistered URI, never a 5xx;
#   - stored state unchanged: the store's entry counts per kind and tier, codes
#     issued and tokens issued per grant (/oauth/status) are the same before and
#     after (or changed by exactly what the case says, e.g. a revoked family);
#   - the sentinel tokens issued before the attacks are all still active.
# The finer variants of each rule live in the endpoint's own file (t/11_bad_input.t,
# t/20_authorize.t, t/30_resource.t, t/31_introspect_revoke.t, t/14_concurrency.t);
# this file is the map from attack to answer.  Slow bodies close it, with a raw socket
# on vhost oas_slow (Timeout 3, t/conf/hostile.conf.in).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use MIME::Base64 qw(encode_base64);
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;
use OAS::Hostile;
use OAS::ErrorLog ();

my $T0   = time;
my $ISS  = base_url();
my $APP  = $CB{webapp};
my $SPA  = $CB{spa};
my $EVIL = 'evil.example';
my %AUTH = map { $_ => [$_, secret_of($_)] } qw(webapp multi m2m rs);

# --- the sentinels: issued before any attack, active after every one --------------
my $S_CC = token_of(cc_token('m2m', scope => 'read'));
my $pw   = password_token('webapp', 'alice', 'wonderland')->{json} || {};
my ($S_AT, $S_RT) = ($pw->{access_token}, $pw->{refresh_token});
my ($sv, $sc) = pkce_pair();
my $spa_code = code_for(client => 'spa', params => { code_challenge => $sc,
                                                     code_challenge_method => 'S256' });
my $spa = token_req([grant_type => 'authorization_code', code => $spa_code // 'x',
                     client_id => 'spa', redirect_uri => $SPA, code_verifier => $sv])->{json} || {};
sentinel('m2m client-credentials token', $S_CC);
sentinel("webapp's access token (password grant)", $S_AT);
sentinel("webapp's refresh token", $S_RT);
sentinel("spa's access token (code + PKCE)", $spa->{access_token});
sentinel("spa's refresh token", $spa->{refresh_token});

# small helpers for the cases
sub authz_pairs {          # a code request of webapp with these changes
    my (%o) = @_;
    my %p = (response_type => 'code', client_id => 'webapp', redirect_uri => $APP,
             state => 'h1', scope => 'read', %o);
    return [map { defined $p{$_} ? ($_ => $p{$_}) : () } sort keys %p];
}
sub redeem {               # the token request for a code, as $client
    my ($code, %o) = @_;
    my $client = delete $o{client} // 'webapp';
    my %f = (grant_type => 'authorization_code', code => $code, redirect_uri => $APP, %o);
    my @f = map { defined $f{$_} ? ($_ => $f{$_}) : () } sort keys %f;
    return $AUTH{$client} ? token_req(\@f, client => $client)
                          : token_req([@f, client_id => $client]);
}
sub redeems_ok {           # post: the code still works for its own client
    my ($code, %o) = @_;
    my $r = redeem($code, %o);
    return $r->{status} == 200 ? () : ("the code no longer redeems: HTTP $r->{status} $r->{body}");
}
sub still_active { my ($t, $what) = @_; active($t) ? () : ("$what is no longer active") }
sub inactive     { my ($t, $what) = @_; active($t) ? ("$what is still active") : () }
sub fresh_pair {           # a webapp password-grant pair: {at, rt}
    my $j = password_token('webapp', 'alice', 'wonderland')->{json} || {};
    return { at => $j->{access_token}, rt => $j->{refresh_token} };
}
sub with_field {
    my ($f, $name, $value) = @_;
    my @out;
    my @f = @$f;
    while (my ($k, $v) = splice @f, 0, 2) {
        push @out, $k => ($k eq $name ? $value : $v) unless $k eq $name && !defined $value;
    }
    return \@out;
}
sub field { my ($f, $n) = @_; my %h = @$f; $h{$n} }
sub basic { 'Basic ' . encode_base64(join(':', @_), '') }

# ============================================================================
# 1. Open redirection at the authorization endpoint: a redirect_uri that is not
#    registered byte for byte gets a 400 HTML page, never a redirect (SPEC §4).
#    RFC 9700 §4.1 (insufficient redirect URI validation), §4.11.2 (authorization
#    server as open redirector); RFC 6819 §4.2.4 (open redirector), §5.2.3.5.
# ============================================================================
my @REDIRECTS = (
    ['different host',               "https://$EVIL/cb"],
    ['registered host as userinfo',  "https://app.example\@$EVIL/cb"],
    ['userinfo after the path',      "https://app.example/cb\@$EVIL"],
    ['backslash before @',           "https://$EVIL\\\@app.example/cb"],
    ['path traversal',               'https://app.example/cb/../../evil'],
    ['encoded path traversal',       'https://app.example/cb/%2e%2e/evil'],
    ['encoded character in the path', 'https://app.example/%63b'],
    ['fragment',                     "https://app.example/cb#\@$EVIL"],
    ['other port',                   'https://app.example:8443/cb'],
    ['scheme change to http',        'http://app.example/cb'],
    ['javascript: scheme',           'javascript:alert(document.cookie)//https://app.example/cb'],
    ['trailing dot in the host',     'https://app.example./cb'],
    ['trailing slash',               'https://app.example/cb/'],
    ['extra query',                  "https://app.example/cb?next=https://$EVIL/"],
    ['registered host as a prefix',  "https://app.example.$EVIL/cb"],
    ['NUL after the registered URI', "https://app.example/cb\0.$EVIL"],
    ['CRLF header injection',        "https://app.example/cb\r\nLocation: https://$EVIL/"],
    ['homograph host (Cyrillic a)',  "https://\xd0\xb0pp.example/cb"],
);
for my $r (@REDIRECTS) {
    my ($what, $uri) = @$r;
    attack("RFC 9700 §4.1 open redirector: redirect_uri $what",
           send  => sub { authz_get(authz_pairs(redirect_uri => $uri, response_type => 'bogus')) },
           check => sub { my ($res) = @_;
                          (error_page($res, 400),
                           ($res->{body} // '') =~ /\Q$EVIL\E/ ? 'the page echoes the URI' : ()) });
}
attack('RFC 9700 §4.1.2 open redirector, implicit grant: unregistered redirect_uri',
       send  => sub { authz_get(authz_pairs(response_type => 'token', redirect_uri => "https://$EVIL/cb")) },
       check => sub { error_page($_[0], 400) });
attack('RFC 9700 §4.11.2 open redirector: redirect_uri twice (registered, then foreign)',
       send  => sub { authz_get([response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP, redirect_uri => "https://$EVIL/cb"]) },
       check => sub { error_page($_[0], 400) });
attack('RFC 6819 §4.2.4 open redirector: unknown client_id with a foreign redirect_uri',
       send  => sub { authz_get(authz_pairs(client_id => 'attacker', redirect_uri => "https://$EVIL/cb")) },
       check => sub { error_page($_[0], 400) });
attack('RFC 6819 §4.2.4 open redirector: disabled client',
       send  => sub { authz_get(authz_pairs(client_id => 'disabled', redirect_uri => "https://$EVIL/cb")) },
       check => sub { error_page($_[0], 400) });
attack('RFC 9700 §4.11.2 open redirector: foreign redirect_uri in a POSTed request',
       send  => sub { post_form('/oauth/authorize', authz_pairs(redirect_uri => "https://$EVIL/cb"),
                                auth => $ALICE) },
       check => sub { error_page($_[0], 400) });
attack('RFC 9700 §4.1 redirect_uri swapped in the approval form: checked again, a page',
       prepare => sub { { f => approval_form() } },
       send    => sub { decide(with_field($_[0]{f}, 'redirect_uri', "https://$EVIL/cb"), 'approve') },
       check   => sub { error_page($_[0], 400) });
attack("RFC 9700 §4.1 redirect_uri swapped in the approval form for another registered one",
       prepare => sub { { f => approval_form(params => [response_type => 'code', client_id => 'multi',
                                                        redirect_uri => $CB{multi}]) } },
       send    => sub { decide(with_field($_[0]{f}, 'redirect_uri', $CB{multi_b}), 'approve') },
       check   => sub { error_page($_[0], 403) });

# ============================================================================
# 2. Authorization code injection / substitution: a code works only for its client,
#    its redirect URI and its PKCE verifier.  A refused attempt does not use the code
#    up: its own client still redeems it afterwards (docs/security-and-reliability.md,
#    Hostile input).
#    RFC 9700 §4.5 (authorization code injection); RFC 6819 §4.4.1.13 (code
#    substitution), §5.2.4.4 (binding of authorization code to client_id).
# ============================================================================
attack("RFC 9700 §4.5 code injection: webapp's code redeemed by another client (multi)",
       prepare => sub { { code => code_for() } },
       send    => sub { redeem($_[0]{code}, client => 'multi') },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack("RFC 6819 §4.4.1.13 code substitution: webapp's code redeemed by a public client",
       prepare => sub { { code => code_for() } },
       send    => sub { redeem($_[0]{code}, client => 'spa', code_verifier => 'a' x 43) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 9700 §4.5 code injection: another redirect_uri at the token endpoint',
       prepare => sub { { code => code_for() } },
       send    => sub { redeem($_[0]{code}, redirect_uri => "https://$EVIL/cb") },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 6749 §4.1.3 code injection: redirect_uri left out at the token endpoint',
       prepare => sub { { code => code_for() } },
       send    => sub { redeem($_[0]{code}, redirect_uri => undef) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 9700 §4.5 code injection: wrong PKCE code_verifier',
       prepare => sub { my ($v, $c) = pkce_pair();
                        { v => $v, code => code_for(client => 'spa', params => {
                              code_challenge => $c, code_challenge_method => 'S256' }) } },
       send    => sub { redeem($_[0]{code}, client => 'spa', redirect_uri => $SPA,
                               code_verifier => (pkce_pair())[0]) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}, client => 'spa', redirect_uri => $SPA,
                                   code_verifier => $_[0]{v}) });
attack('RFC 9700 §4.5 code injection: code_verifier missing though a challenge was sent',
       prepare => sub { my ($v, $c) = pkce_pair();
                        { v => $v, code => code_for(params => {
                              code_challenge => $c, code_challenge_method => 'S256' }) } },
       send    => sub { redeem($_[0]{code}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}, code_verifier => $_[0]{v}) });
attack('RFC 6819 §4.4.1.3 online guessing of codes: an unknown code',
       send  => sub { redeem('A' x 43) },
       check => sub { json_error($_[0], 400, 'invalid_grant') });
attack('RFC 6819 §4.4.1.3 online guessing of codes: a real code with one character changed',
       prepare => sub { { code => code_for() } },
       send    => sub { (my $c = $_[0]{code}) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e; redeem($c) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 6749 §4.1.3 code with a trailing space',
       prepare => sub { { code => code_for() } },
       send    => sub { redeem("$_[0]{code} ") },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 6749 §3.1 code given twice in one token request',
       prepare => sub { { code => code_for() } },
       send    => sub { token_req([grant_type => 'authorization_code', code => $_[0]{code},
                                   code => $_[0]{code}, redirect_uri => $APP], client => 'webapp') },
       check   => sub { json_error($_[0], 400, 'invalid_request') },
       post    => sub { redeems_ok($_[0]{code}) });

# ============================================================================
# 3. PKCE downgrade.  RFC 9700 §4.8: a token request with a code_verifier for a
#    code whose request had no code_challenge is refused; a public client without a
#    code_challenge is refused at the authorization endpoint (OAuthASRequirePKCE
#    public).  SPEC §4 accepts the plain method (RFC 7636 §4.2), so "plain where
#    S256 is required" does not apply here (docs/security-and-reliability.md).
# ============================================================================
attack('RFC 9700 §4.8 PKCE downgrade: code_verifier for a code issued without a challenge',
       prepare => sub { { code => code_for() } },
       send    => sub { redeem($_[0]{code}, code_verifier => (pkce_pair())[0]) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 9700 §4.8 PKCE downgrade: a public client leaves out code_challenge',
       send  => sub { authz_get([response_type => 'code', client_id => 'spa',
                                 redirect_uri => $SPA, state => 'dg']) },
       check => sub { redirect_error($_[0], $SPA, 'invalid_request', state => 'dg') });
attack('RFC 9700 §4.8 PKCE downgrade: the S256 challenge sent as the verifier (as if plain)',
       prepare => sub { my ($v, $c) = pkce_pair();
                        { v => $v, c => $c, code => code_for(client => 'spa', params => {
                              code_challenge => $c, code_challenge_method => 'S256' }) } },
       send    => sub { redeem($_[0]{code}, client => 'spa', redirect_uri => $SPA,
                               code_verifier => $_[0]{c}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}, client => 'spa', redirect_uri => $SPA,
                                   code_verifier => $_[0]{v}) });
attack('RFC 9700 §4.8 PKCE downgrade: S256 changed to plain in the approval form',
       prepare => sub { my (undef, $c) = pkce_pair();
                        { f => approval_form(params => [response_type => 'code',
                              client_id => 'spa', redirect_uri => $SPA, code_challenge => $c,
                              code_challenge_method => 'S256']) } },
       send    => sub { decide(with_field($_[0]{f}, 'code_challenge_method', 'plain'), 'approve') },
       check   => sub { error_page($_[0], 403) });

# ============================================================================
# 4. CSRF on the approval form: a POST without a valid CSRF token (bound to the
#    user, the request, a time limit, single use) gets a 403 page, no code, and
#    nothing stored (showing a page stores nothing either; only a form that is taken
#    stores its nonce).  RFC 9700 §4.7 (CSRF); RFC 6749 §10.12; RFC 6819
#    §4.4.1.8 (CSRF); RFC 9700 §4.16 / RFC 6819 §4.4.1.9 (clickjacking).
# ============================================================================
attack('RFC 9700 §4.7 CSRF: approval POST without the CSRF token',
       prepare => sub { { f => approval_form() } },
       send    => sub { decide(with_field($_[0]{f}, 'csrf', undef), 'approve') },
       check   => sub { error_page($_[0], 403) });
attack('RFC 9700 §4.7 CSRF: a forged CSRF token',
       prepare => sub { { f => approval_form() } },
       send    => sub { my $len = length(field($_[0]{f}, 'csrf') // 'x' x 60);
                        decide(with_field($_[0]{f}, 'csrf', join '', map { ('A'..'Z', 'a'..'z')[rand 52] } 1 .. $len), 'approve') },
       check   => sub { error_page($_[0], 403) });
attack("RFC 6749 §10.12 CSRF: bob's approval form posted in alice's session",
       prepare => sub { { f => approval_form(user => $BOB) } },
       send    => sub { decide($_[0]{f}, 'approve', user => $ALICE) },
       check   => sub { error_page($_[0], 403) });
attack('RFC 6749 §10.12 CSRF: the CSRF token of another request',
       prepare => sub { { f => approval_form(), g => approval_form(params => authz_pairs(state => 'other')) } },
       send    => sub { decide(with_field($_[0]{f}, 'csrf', field($_[0]{g}, 'csrf')), 'approve') },
       check   => sub { error_page($_[0], 403) });
attack('RFC 6819 §4.4.1.8 CSRF: a replayed approval form (approved once already)',
       prepare => sub { my $f = approval_form(); decide($f, 'approve'); { f => $f } },
       send    => sub { decide($_[0]{f}, 'approve') },
       check   => sub { error_page($_[0], 403) });
attack('RFC 6819 §4.4.1.8 CSRF: a denied form replayed as approve',
       prepare => sub { my $f = approval_form(); decide($f, 'deny'); { f => $f } },
       send    => sub { decide($_[0]{f}, 'approve') },
       check   => sub { error_page($_[0], 403) });
attack('RFC 6749 §10.12 CSRF: the decision sent by GET (a link or an <img>)',
       prepare => sub { { f => approval_form() } },
       send    => sub { authz_get([@{ $_[0]{f} }, decision => 'approve']) },
       check   => sub { my ($r) = @_; ($r->{status} == 200 ? () : "status $r->{status}, want 200 (the page)"),
                        (defined $r->{headers}->header('Location') ? 'a Location' : ()) });
attack('RFC 9700 §4.16 clickjacking: the approval page cannot be framed',
       send    => sub { authz_get(authz_pairs()) },
       check   => sub { my ($r) = @_;
                        (($r->{headers}->header('X-Frame-Options') // '') eq 'DENY' ? () : 'no X-Frame-Options: DENY'),
                        (($r->{headers}->header('Content-Security-Policy') // '') =~ /frame-ancestors 'none'/
                             ? () : "no CSP frame-ancestors 'none'") });

# ============================================================================
# 5. state: echoed exactly, percent-encoded, never a header or markup of its own;
#    a state the parser refuses stops the request before any redirect.
#    RFC 6749 §4.1.2, §10.12; RFC 9700 §4.7.1.
# ============================================================================
attack('RFC 6749 §4.1.2 state with CRLF and a Set-Cookie line: a page, no redirect, no header',
       send  => sub { authz_get(authz_pairs(response_type => 'bogus', state => "s\r\nSet-Cookie: evil=1")) },
       check => sub { my ($r) = @_;
                      (error_page($r, 400),
                       (defined $r->{headers}->header('Set-Cookie') ? 'a Set-Cookie header' : ())) });
attack('RFC 6749 §4.1.2 state with markup and quotes: echoed exactly, percent-encoded',
       send  => sub { authz_get(authz_pairs(response_type => 'bogus', state => q{"><script>x</script>&iss=evil})) },
       check => sub { my ($r) = @_;
                      (redirect_error($r, $APP, 'unsupported_response_type', state => q{"><script>x</script>&iss=evil}),
                       ((loc($r) || {raw => ''})->{raw} =~ /[<>"]/ ? 'raw markup in Location' : ())) });
attack('RFC 6749 §4.1.2 a 3000-byte state is echoed exactly',
       send  => sub { authz_get(authz_pairs(response_type => 'bogus', state => 'S' x 3000)) },
       check => sub { redirect_error($_[0], $APP, 'unsupported_response_type', state => 'S' x 3000) });
attack('RFC 6749 §4.1.2 a 5000-byte state (over the 4 KiB value limit): a page, no redirect',
       send  => sub { authz_get(authz_pairs(response_type => 'bogus', state => 'S' x 5000)) },
       check => sub { error_page($_[0], 400) });
attack('RFC 6749 §3.1 state given twice: a page, no redirect',
       send  => sub { authz_get([@{ authz_pairs() }, state => 'second']) },
       check => sub { error_page($_[0], 400) });
attack('RFC 6749 §4.1.2 state with a NUL byte: a page, no redirect',
       send  => sub { authz_get(authz_pairs(state => "a\0b")) },
       check => sub { error_page($_[0], 400) });

# ============================================================================
# 6. Mix-up: every authorization response names its issuer (RFC 9207); the issuer
#    and the metadata's URLs never come from the request's Host.  RFC 9700 §4.4
#    (mix-up attacks); RFC 8414 §3.3.
# ============================================================================
attack('RFC 9700 §4.4 mix-up: iss in the code response',
       prepare => sub { { f => approval_form() } },
       send    => sub { decide($_[0]{f}, 'approve') },
       check   => sub { my $l = loc($_[0]) || {query => {}};
                        (($l->{query}{iss} // '') eq $ISS ? () : 'iss ' . ($l->{query}{iss} // '(none)')),
                        ($l->{query}{code} ? () : 'no code') },
       expect  => sub { state_problems($_[0], $_[1], 'store.csrf' => 1, 'store.code' => 1,
                                       codes_issued => 1) });
attack('RFC 9700 §4.4 mix-up: iss in an implicit-grant error (fragment)',
       send  => sub { authz_get(authz_pairs(response_type => 'token', scope => 'admin')) },
       check => sub { redirect_error($_[0], $APP, 'invalid_scope', fragment => 1) });
attack('RFC 9700 §4.4 mix-up: a foreign Host header does not change iss in a redirect',
       send  => sub { authz_get(authz_pairs(response_type => 'bogus'), headers => [Host => $EVIL]) },
       check => sub { redirect_error($_[0], $APP, 'unsupported_response_type') });
attack('RFC 8414 §3.3 Host and X-Forwarded-Host games: the metadata keeps its issuer and URLs',
       send  => sub { get('/.well-known/oauth-authorization-server',
                          headers => [Host => $EVIL, 'X-Forwarded-Host' => $EVIL]) },
       check => sub { my ($r) = @_; my $j = $r->{json} || {};
                      ($r->{status} == 200 ? () : "status $r->{status}"),
                      (($j->{issuer} // '') eq $ISS ? () : 'issuer ' . ($j->{issuer} // '(none)')),
                      (($r->{body} // '') =~ /\Q$EVIL\E/ ? 'the foreign host is in the document' : ()),
                      ($j->{authorization_response_iss_parameter_supported} ? ()
                           : 'no authorization_response_iss_parameter_supported') });

# ============================================================================
# 7. Token substitution: a client's token works only for that client, and one kind
#    of token or code never stands in for another.  RFC 6819 §4.4.2.6 (token
#    substitution), §5.1.5.8 (binding to client_id); RFC 7009 §2.1; RFC 9700 §4.14.
# ============================================================================
attack("RFC 7009 §2.1 another client (m2m) revokes webapp's access token: 200, no effect",
       prepare => sub { fresh_pair() },
       send    => sub { revoke('m2m', $_[0]{at}) },
       check   => sub { $_[0]{status} == 200 ? () : "status $_[0]{status}" },
       post    => sub { still_active($_[0]{at}, 'the access token'), still_active($_[0]{rt}, 'the refresh token') });
attack("RFC 7009 §2.1 another client revokes webapp's refresh token: 200, no effect",
       prepare => sub { fresh_pair() },
       send    => sub { revoke('multi', $_[0]{rt}, hint => 'refresh_token') },
       check   => sub { $_[0]{status} == 200 ? () : "status $_[0]{status}" },
       post    => sub { still_active($_[0]{rt}, 'the refresh token') });
attack("RFC 7009 §2.1 a public client (client_id=spa) revokes webapp's token: 200, no effect",
       prepare => sub { fresh_pair() },
       send    => sub { post_form('/oauth/revoke', [token => $_[0]{at}, client_id => 'spa']) },
       check   => sub { $_[0]{status} == 200 ? () : "status $_[0]{status}" },
       post    => sub { still_active($_[0]{at}, 'the access token') });
attack('RFC 7662 §2.1 introspection without client authentication',
       send  => sub { post_form('/oauth/introspect', [token => $S_AT]) },
       check => sub { json_error($_[0], 401, 'invalid_client') });
attack('RFC 7662 §2.1 introspection by a public client (client_id=spa)',
       send  => sub { post_form('/oauth/introspect', [token => $S_AT, client_id => 'spa']) },
       check => sub { json_error($_[0], 401, 'invalid_client') });
attack("RFC 6819 §4.4.2.6 token substitution: webapp's refresh token used by multi",
       prepare => sub { fresh_pair() },
       send    => sub { refresh('multi', $_[0]{rt}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { still_active($_[0]{rt}, 'the refresh token') });
attack("RFC 6819 §4.4.2.6 token substitution: webapp's refresh token used by a public client",
       prepare => sub { fresh_pair() },
       send    => sub { token_req([grant_type => 'refresh_token', refresh_token => $_[0]{rt},
                                   client_id => 'spa']) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { still_active($_[0]{rt}, 'the refresh token') });
attack('RFC 6819 §4.4.2.6 an access token presented as a refresh token',
       send  => sub { refresh('webapp', $S_AT) },
       check => sub { json_error($_[0], 400, 'invalid_grant') });
attack('RFC 6819 §4.4.2.6 an authorization code presented as a refresh token',
       prepare => sub { { code => code_for() } },
       send    => sub { refresh('webapp', $_[0]{code}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 6819 §4.4.2.6 a refresh token presented as an authorization code',
       send  => sub { redeem($S_RT) },
       check => sub { json_error($_[0], 400, 'invalid_grant') });
attack('RFC 6750 §2.1 a refresh token used as a bearer token',
       send  => sub { bearer('/rs/valid/ok.txt', $S_RT) },
       check => sub { bearer_refused($_[0], 401, 'invalid_token') });
attack('RFC 6750 §2.1 an authorization code used as a bearer token',
       prepare => sub { { code => code_for() } },
       send    => sub { bearer('/rs/valid/ok.txt', $_[0]{code}) },
       check   => sub { bearer_refused($_[0], 401, 'invalid_token') },
       post    => sub { redeems_ok($_[0]{code}) });
attack('RFC 6749 §2.3.1 an access token as client authentication at the token endpoint',
       send  => sub { post_form('/oauth/token', [grant_type => 'client_credentials'],
                                headers => [Authorization => "Bearer $S_CC"]) },
       check => sub { json_error($_[0], 401, 'invalid_client') });

# ============================================================================
# 8. Replay.  A used code revokes what it issued; a used refresh token revokes its
#    family; a revoked token is refused everywhere.  RFC 6749 §4.1.2, §10.5; RFC 6819
#    §4.4.1.1, §5.2.1.1 (revocation of derived tokens); RFC 9700 §4.14.2 (refresh
#    token rotation); RFC 7009 §2.
# ============================================================================
sub no_new_tokens {        # expect: nothing issued, no token entry added
    my ($b, $a) = @_;
    my @p;
    for my $k (sort keys %$a) {
        next unless $k =~ /^issued\.|^codes_issued$|^store\.(access_token|refresh_token|code)$/;
        push @p, "$k: $b->{$k} -> $a->{$k}" if ($a->{$k} // 0) > ($b->{$k} // 0);
    }
    return @p;
}
attack('RFC 6749 §4.1.2 code replay: a second redemption is refused, its tokens are revoked',
       prepare => sub { my $c = code_for(); my $j = redeem($c)->{json} || {};
                        { code => $c, at => $j->{access_token}, rt => $j->{refresh_token} } },
       send    => sub { redeem($_[0]{code}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       expect  => sub { no_new_tokens(@_) },
       post    => sub { inactive($_[0]{at}, 'the first access token'),
                        inactive($_[0]{rt}, 'the first refresh token') });
attack('RFC 9700 §4.14.2 refresh token replay: the whole family is revoked',
       prepare => sub { my $p = fresh_pair(); my $j = refresh('webapp', $p->{rt})->{json} || {};
                        +{ %$p, at2 => $j->{access_token}, rt2 => $j->{refresh_token} } },
       send    => sub { refresh('webapp', $_[0]{rt}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') },
       expect  => sub { no_new_tokens(@_) },
       post    => sub { inactive($_[0]{at}, 'the first access token'),
                        inactive($_[0]{at2}, 'the refreshed access token'),
                        inactive($_[0]{rt2}, 'the rotated refresh token') });
attack('RFC 7009 §2 a revoked access token at the resource server',
       prepare => sub { my $t = token_of(cc_token('m2m', scope => 'read')); revoke('m2m', $t); { at => $t } },
       send    => sub { bearer('/rs/valid/ok.txt', $_[0]{at}) },
       check   => sub { bearer_refused($_[0], 401, 'invalid_token') });
attack('RFC 7009 §2 a revoked refresh token at the token endpoint',
       prepare => sub { my $p = fresh_pair(); revoke('webapp', $p->{rt}); $p },
       send    => sub { refresh('webapp', $_[0]{rt}) },
       check   => sub { json_error($_[0], 400, 'invalid_grant') });

# ============================================================================
# 9. Where a bearer token may travel: the Authorization header only (SPEC §7).
#    RFC 6750 §2.2, §2.3, §5.3; RFC 9700 §4.3.2 (access token in browser history);
#    RFC 6819 §4.6.7 (token leakage via log files and HTTP referrers).
# ============================================================================
attack('RFC 6750 §2.3 a valid token in the query string: refused',
       send   => sub { get("/rs/valid/ok.txt?access_token=$S_CC") },
       check  => sub { my ($r) = @_; ($r->{status} == 400 ? () : "status $r->{status}, want 400"),
                       (($r->{body} // '') eq "rs ok\n" ? 'the resource was served' : ()) },
       expect => sub { state_problems(@_), ($_[1]{_bearer_ok} == $_[0]{_bearer_ok} ? () : 'a bearer check was accepted') });
attack('RFC 6750 §2.3 a valid token in the query string and the header: refused',
       send  => sub { bearer("/rs/valid/ok.txt?access_token=$S_CC", $S_CC) },
       check => sub { $_[0]{status} == 400 ? () : "status $_[0]{status}, want 400" });
attack('RFC 6750 §2.2 a valid token in a form body: not taken (401, bare challenge)',
       send  => sub { post_form('/rs/valid/ok.txt', [access_token => $S_CC]) },
       check => sub { bearer_refused($_[0], 401, undef) });
attack('RFC 6750 §2.1 two Authorization headers (a valid token, then another)',
       send  => sub { request('GET', '/rs/valid/ok.txt', headers => [Authorization => "Bearer $S_CC",
                                                                   Authorization => 'Bearer other']) },
       check => sub { bearer_refused($_[0], 401, 'invalid_token') });

# ============================================================================
# 10. Malformed and oversized tokens.  RFC 6750 §2.1 (b64token); RFC 6819 §4.6.3
#     (guessing access tokens); SPEC §9.
# ============================================================================
for my $t (['a valid token with a trailing character', sub { "Bearer ${S_CC}x" }],
           ['a valid token with a tab inside', sub { 'Bearer ' . substr($S_CC, 0, 10) . "\t" . substr($S_CC, 10) }],
           ['a valid token and a second word', sub { "Bearer $S_CC evil" }],
           ['a 5000-byte token', sub { 'Bearer ' . ('A' x 5000) }],
           ['"Bearer" with no token', sub { 'Bearer' }],
           ['a token of symbols outside b64token', sub { 'Bearer <script>"\'' }]) {
    my ($what, $hdr) = @$t;
    attack("RFC 6750 §2.1 bearer header: $what",
           send  => sub { request('GET', '/rs/valid/ok.txt', headers => [Authorization => $hdr->()]) },
           check => sub { bearer_refused($_[0], 401, 'invalid_token') });
}
attack('RFC 6750 §2.1 a 10 KB Authorization header: httpd refuses it (LimitRequestFieldSize)',
       send  => sub { bearer('/rs/valid/ok.txt', 'A' x 10000) },
       check => sub { $_[0]{status} == 400 ? () : "status $_[0]{status}, want 400" });
attack('RFC 6750 §2.1 a NUL byte in the Authorization header (raw)',
       send  => sub { raw_request("GET /rs/valid/ok.txt HTTP/1.1\r\nHost: localhost\r\n"
                                  . "Authorization: Bearer $S_CC\0x\r\nConnection: close\r\n\r\n") },
       check => sub { ($_[0]{status} // 0) =~ /^(400|401)$/ ? () : 'status ' . ($_[0]{status} // 'none') . ', want 400 or 401' });
attack('RFC 6750 §2.1 an obs-folded Authorization header (raw)',
       send  => sub { raw_request("GET /rs/valid/ok.txt HTTP/1.1\r\nHost: localhost\r\n"
                                  . "Authorization: Bearer $S_CC\r\n evil\r\nConnection: close\r\n\r\n") },
       check => sub { ($_[0]{status} // 0) =~ /^(400|401)$/ ? () : 'status ' . ($_[0]{status} // 'none') . ', want 400 or 401' });
attack('SPEC §9 introspection of a valid token with a leading space',
       send  => sub { introspect_raw(" $S_AT") },
       check => sub { my ($r) = @_; (my $b = $r->{body} // '') =~ s/\s+//g;
                      $r->{status} == 200 && $b eq '{"active":false}' ? () : "HTTP $r->{status} $b" });
attack('SPEC §9 introspection of a valid token with CRLF appended',
       send  => sub { introspect_raw("$S_AT\r\n") },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('SPEC §9 a refresh token with %00 and more appended',
       send  => sub { token_req("grant_type=refresh_token&refresh_token=$S_RT%00x", client => 'webapp') },
       check => sub { json_error($_[0], 400, 'invalid_request') });

# ============================================================================
# 11. Oversized requests.  RFC 6819 §4.4.1.11 (DoS attacks that exhaust resources);
#     SPEC §5 (64 KiB bodies, a parameter given twice), docs/security-and-reliability.md "Limits".
# ============================================================================
my $pad = '&' . ('p' x 70000) . '=1';
attack('RFC 6819 §4.4.1.11 a body over 64 KiB at the revocation endpoint (with a live token)',
       send  => sub { post_form('/oauth/revoke', "token=$S_AT$pad", auth => $AUTH{webapp}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 6819 §4.4.1.11 a body over 64 KiB at the introspection endpoint',
       send  => sub { post_form('/oauth/introspect', "token=$S_AT$pad", auth => $AUTH{rs}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 6819 §4.4.1.11 a body over 64 KiB at the authorization endpoint',
       prepare => sub { { f => approval_form() } },
       send    => sub { post_form('/oauth/authorize', form_encode([@{ $_[0]{f} }, decision => 'approve']) . $pad,
                                  auth => $ALICE) },
       check   => sub { error_page($_[0], 400) });
attack('RFC 6819 §4.4.1.11 Content-Length of 1 GB, 100 bytes sent: refused without waiting',
       send  => sub { my $t = time;
                      my $r = raw_request("POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
                          . "Authorization: " . basic(@{ $AUTH{m2m} }) . "\r\n"
                          . "Content-Type: application/x-www-form-urlencoded\r\n"
                          . "Content-Length: 1000000000\r\n\r\n"
                          . 'grant_type=client_credentials&pad=' . ('x' x 66), timeout => 20);
                      $r->{took} = time - $t; $r },
       check => sub { my ($r) = @_; (json_error($r, 400, 'invalid_request'),
                      ($r->{took} > 10 ? sprintf('took %.1f s', $r->{took}) : ())) });
attack('RFC 6819 §4.4.1.11 1000 parameters at the revocation endpoint',
       send  => sub { post_form('/oauth/revoke', join('&', "token=$S_AT", map { "p$_=1" } 1 .. 1000),
                                auth => $AUTH{webapp}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 6819 §4.4.1.11 a 5000-byte token at the revocation endpoint',
       send  => sub { revoke('webapp', 'A' x 5000) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('SPEC §5 token given twice at revocation (a live token, then another)',
       send  => sub { post_form('/oauth/revoke', [token => $S_AT, token => 'x'], auth => $AUTH{webapp}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 6819 §4.4.1.11 200 request headers: httpd refuses them (LimitRequestFields)',
       send  => sub { post_form('/oauth/token', [grant_type => 'client_credentials'], auth => $AUTH{m2m},
                                headers => [map { ("X-H$_" => 'v') } 1 .. 200]) },
       check => sub { $_[0]{status} == 400 ? () : "status $_[0]{status}, want 400" });
attack('RFC 6819 §4.4.1.11 a 10000-byte request line at the authorization endpoint',
       send  => sub { authz_get(authz_pairs(state => 'S' x 10000)) },
       check => sub { $_[0]{status} == 414 ? () : "status $_[0]{status}, want 414" });

# ============================================================================
# 12. Malformed requests: each endpoint answers in its own format (JSON with an
#     OAuth error; HTML at the authorization endpoint).  RFC 6749 §3.2, §5.2;
#     RFC 7009 §2.1; RFC 7662 §2.1; SPEC §5, §9.
# ============================================================================
attack('RFC 7009 §2.1 a JSON body at the revocation endpoint (with a live token)',
       send  => sub { request('POST', '/oauth/revoke', body => qq({"token":"$S_AT"}),
                              content_type => 'application/json', auth => $AUTH{webapp}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 6749 §3.1 an approval form posted as text/plain',
       prepare => sub { { f => approval_form() } },
       send    => sub { request('POST', '/oauth/authorize', auth => $ALICE, content_type => 'text/plain',
                                body => form_encode([@{ $_[0]{f} }, decision => 'approve'])) },
       check   => sub { error_page($_[0], 400) });
attack('RFC 7662 §2.1 bad percent-encoding at the introspection endpoint',
       send  => sub { post_form('/oauth/introspect', "token=$S_AT%zz", auth => $AUTH{rs}) },
       check => sub { json_error($_[0], 400, 'invalid_request') });
attack('RFC 7009 §2.1 a token of invalid UTF-8 at the revocation endpoint',
       send  => sub { post_form('/oauth/revoke', 'token=%C0%AF%FF', auth => $AUTH{webapp}) },
       check => sub { $_[0]{status} == 200 ? () : "status $_[0]{status}, want 200 (an unknown token)" });
attack('RFC 6749 §3.2 GET on the token endpoint (OAuthASRequirePost On)',
       send  => sub { get('/oauth/token?grant_type=client_credentials', auth => $AUTH{m2m}) },
       check => sub { (json_error($_[0], 405, 'invalid_request'),
                       (($_[0]{headers}->header('Allow') // '') eq 'POST' ? () : 'no Allow: POST')) });
attack('RFC 7009 §2.1 GET on the revocation endpoint with a live token',
       send  => sub { get("/oauth/revoke?token=$S_AT", auth => $AUTH{webapp}) },
       check => sub { json_error($_[0], 405, 'invalid_request') });
attack('HTTP method override: GET with X-HTTP-Method-Override: POST at the token endpoint',
       send  => sub { get('/oauth/token?grant_type=client_credentials&_method=POST', auth => $AUTH{m2m},
                          headers => ['X-HTTP-Method-Override' => 'POST', 'X-Method-Override' => 'POST']) },
       check => sub { json_error($_[0], 405, 'invalid_request') });
attack('HTTP method override: GET with X-HTTP-Method-Override: POST at the revocation endpoint',
       send  => sub { get("/oauth/revoke?token=$S_AT&_method=POST", auth => $AUTH{webapp},
                          headers => ['X-HTTP-Method-Override' => 'POST']) },
       check => sub { json_error($_[0], 405, 'invalid_request') });
attack('HTTP HEAD on the token endpoint',
       send  => sub { request('HEAD', '/oauth/token', auth => $AUTH{m2m}) },
       check => sub { my ($r) = @_; ($r->{status} == 405 ? () : "status $r->{status}, want 405"),
                      (length($r->{body} // '') ? 'a body' : ()) });
attack('HTTP HEAD on the authorization endpoint: no approval page is made',
       send  => sub { request('HEAD', '/oauth/authorize?' . form_encode(authz_pairs()), auth => $ALICE) },
       check => sub { $_[0]{status} == 405 ? () : "status $_[0]{status}, want 405" });
attack('RFC 6749 §2.3.1 two Authorization headers at the token endpoint (two clients)',
       send  => sub { post_form('/oauth/token', [grant_type => 'client_credentials'],
                                headers => [Authorization => basic(@{ $AUTH{m2m} }),
                                            Authorization => basic('rs', 'rs-secret')]) },
       check => sub { json_error($_[0], 401, 'invalid_client') });
attack('RFC 6749 §2.3.1 Basic with no colon at the revocation endpoint',
       send  => sub { post_form('/oauth/revoke', [token => $S_AT],
                                headers => [Authorization => 'Basic ' . encode_base64('webapp', '')]) },
       check => sub { json_error($_[0], 401, 'invalid_client') });
attack('RFC 6749 §2.3.1 Basic with bad base64 at the introspection endpoint',
       send  => sub { post_form('/oauth/introspect', [token => $S_AT],
                                headers => [Authorization => 'Basic cnM6cn*tc2VjcmV0']) },
       check => sub { json_error($_[0], 401, 'invalid_client') });
attack("RFC 9112 §7.1 a malformed chunked body: httpd's HTTP parser refuses it (400)",
       send  => sub { raw_request("POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
                          . "Authorization: " . basic(@{ $AUTH{m2m} }) . "\r\n"
                          . "Content-Type: application/x-www-form-urlencoded\r\n"
                          . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                          . "zz\r\ngrant_type=client_credentials\r\n0\r\n\r\n") },
       check => sub { ($_[0]{status} // 0) == 400 ? () : 'status ' . ($_[0]{status} // 'none') . ', want 400' });
attack('RFC 6819 §4.4.1.11 a chunked body that stops mid-chunk: 400 once the Timeout (3 s) passes',
       send  => sub { raw_request("POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
                          . "Authorization: " . basic(@{ $AUTH{m2m} }) . "\r\n"
                          . "Content-Type: application/x-www-form-urlencoded\r\n"
                          . "Transfer-Encoding: chunked\r\n\r\n"
                          . "40\r\ngrant_type=client_credentials", timeout => 20,
                          port => Apache::Test::vars('oas_slow_port')) },
       check => sub { json_error($_[0], 400, 'invalid_request') });

my $N_SLOW = 3;
plan tests => 2 * attacks() + $N_SLOW + 7, need_module('oauth_as'), need_module('ssl');

ok($S_CC && $S_AT && $S_RT && $spa->{access_token} && $spa->{refresh_token},
   'the sentinel tokens were issued');
my $mark = error_log_mark();
run_attacks();

# ============================================================================
# 13. Slow bodies (RFC 6819 §4.4.1.11): clients that send the headers and then the
#     body slowly or never hold one connection each until the vhost's Timeout (3 s on
#     oas_slow) cuts them off; meanwhile everybody else is served.
# ============================================================================
sub slow_conn {            # headers and part of a body, then nothing
    my ($body, $send) = @_;
    my $s = tls_connect(port => Apache::Test::vars('oas_slow_port'), timeout => 30);
    my $req = "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
            . "Authorization: " . basic(@{ $AUTH{webapp} }) . "\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, $send);
    syswrite $s, $req;
    return $s;
}
sub wait_answer {          # -> (raw answer, seconds) once the server closes
    my ($s, $limit) = @_;
    my ($raw, $t) = ('', time);
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $limit;
        while (1) { my $n = sysread $s, my $buf, 65536; last unless $n; $raw .= $buf }
        alarm 0;
    };
    alarm 0;
    close $s;
    return ($raw, time - $t);
}
{
    my $pair = password_token('webapp', 'alice', 'wonderland')->{json} || {};
    my $body = "grant_type=refresh_token&refresh_token=" . ($pair->{refresh_token} // 'x');
    my $before = snapshot();
    my $t0 = time;
    my @slow = map { slow_conn($body, 20) } 1 .. $N_SLOW;
    # the headers of one more, and not even their end
    my $hs = tls_connect(port => Apache::Test::vars('oas_slow_port'), timeout => 30);
    syswrite $hs, "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 40\r\n";
    my $other = cc_token('m2m', scope => 'read');
    ok(t_cmp($other->{status}, 200,
             "while $N_SLOW slow bodies and one slow header are pending, another client is served"));
    my $other2 = introspect_raw($S_AT);
    ok(t_cmp($other2->{json} && $other2->{json}{active} ? 1 : 0, 1, '... and an introspection too'));
    for my $i (1 .. $N_SLOW) {
        my ($raw, $took) = wait_answer($slow[$i - 1], 30);
        my ($st) = $raw =~ m{^HTTP/1\.\d (\d{3})};
        my $ok = ok(time - $t0 < 20 && ($st // 0) == 400 && $raw =~ /"error"\s*:\s*"invalid_request"/,
                    "slow body $i: cut off after the vhost's Timeout with 400 invalid_request");
        diag sprintf("after %.1f s: %s", time - $t0, substr($raw, 0, 200)) unless $ok;
    }
    my ($hraw) = wait_answer($hs, 30);
    diag sprintf 'slow requests: all answered after %.1f s', time - $t0;
    ok(time - $t0 < 25 && ($hraw eq '' || $hraw =~ m{^HTTP/1\.\d 408 }),
       'slow headers: 408 (or a close) after the Timeout') or diag substr($hraw, 0, 200);
    my $after = snapshot();
    my $other_grant = 1;     # the cc_token above issued one client-credentials token
    my @p = state_problems($before, $after, 'issued.client_credentials' => $other_grant,
                           'store.access_token' => 1, 'store.disk' => 1);
    @p = () if @p && $before->{_purged} != $after->{_purged};
    ok(!@p, 'the slow requests changed no stored state') or diag join "\n", @p;
    ok(t_cmp(refresh('webapp', $pair->{refresh_token} // 'x')->{status}, 200,
             'the refresh token in the slow bodies was never used: it still refreshes'));
}

my @bad = grep { OAS::ErrorLog::is_bad_line($_) } split /\n/, error_log_since($mark);
ok(!@bad, 'no [error] line or crash sign from the catalogue') or diag join "\n", @bad;
diag sprintf 't/60_hostile.t took %.1f s', time - $T0;
