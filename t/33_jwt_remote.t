# Remote resource servers that verify our JWT access tokens themselves (issue 14): each
# in a second httpd started here (OAS::SecondHttpd), with NO introspection configured,
# only our JWK Set (jwks_uri):
#   - OpenIDC's mod_oauth2 (Debian's libapache2-mod-oauth2):
#         OAuth2TokenVerify jwks_uri https://localhost:PORT/oauth/jwks jwks_uri.ssl_verify=false&...
#         Require oauth2_claim iss:<our issuer> and aud:<its resource>
#     (it has no CA file option: its TLS client does not verify our self-signed cert);
#   - mod_auth_openidc (libapache2-mod-auth-openidc) as an OAuth 2.0 resource server:
#         AuthType oauth20, OIDCOAuthVerifyJwksUri, OIDCCABundlePath = our test cert
#         Require claim iss:<our issuer> and aud:<its resource>
# The authorization server is the oas_jwtrs vhost (t/conf/jwtremote.conf.in): ES256,
# one key, two declared resources, one per remote server.  For each remote server:
# a token for its resource passes (200, REMOTE_USER = sub) and so does one for both
# resources (aud an array); refused: no token, a token for the other resource, that
# token with its aud rewritten (tampered: the signature no longer matches), the same
# claims signed with a key we never published (forged, t/client/jwt_forge.py with
# python3-jwt), alg "none", an opaque token; and our introspection endpoint is never
# called.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use FindBin ();
use IPC::Open2 qw(open2);
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64url);
use OAS::Test;
use OAS::TokenTest;
use OAS::SecondHttpd;

my $vars   = Apache::Test::config()->{vars};
my $PORT   = $vars->{oas_jwtrs_port};
my $ISS    = "https://localhost:$PORT";
my $JWKS   = "$ISS/oauth/jwks";
my $CERT   = "$vars->{serverroot}/conf/oas-ssl/server.crt";
my $MODDIR = OAS::SecondHttpd::moddir();
my $FORGE  = "$FindBin::Bin/client/jwt_forge.py";
my %AUD    = (oauth2 => 'https://rs-oauth2.example/api', openidc => 'https://rs-openidc.example/api');
my %OTHER  = (oauth2 => 'openidc', openidc => 'oauth2');
my %SO     = (oauth2 => "$MODDIR/mod_oauth2.so", openidc => "$MODDIR/mod_auth_openidc.so");

plan tests => 7 + 2 * 15, need_module('oauth_as'), need_module('ssl'),
    need({ "mod_oauth2 is not installed ($SO{oauth2}; Debian: libapache2-mod-oauth2)" => -f $SO{oauth2},
           "mod_auth_openidc is not installed ($SO{openidc}; Debian: libapache2-mod-auth-openidc)"
               => -f $SO{openidc},
           "/usr/bin/python3 with python3-jwt" => !system('/usr/bin/python3 -c "import jwt" 2>/dev/null') });

# --- the authorization server's side ------------------------------------------------------

sub b64url_json {
    my ($s) = @_;
    $s =~ tr/-_/+\//;
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return eval { JSON::PP->new->decode(decode_base64($s)) } || {};
}
sub enc_json { return encode_base64url(JSON::PP->new->canonical->encode($_[0])) }

sub jwt_for {
    my ($client, @resources) = @_;
    my $r = post_form('/oauth/token', [grant_type => 'client_credentials', scope => 'read',
                                       map { (resource => $_) } @resources],
                      port => $PORT, auth => [$client, 'm2m-secret']);
    diag("token for $client at $PORT: HTTP $r->{status} $r->{body}") unless $r->{status} == 200;
    return $r->{json} && $r->{json}{access_token} // '';
}

sub intro_count { OAS::TokenTest::oas_status(port => $PORT)->{counters}{introspections} // -1 }

my $jwks = get('/oauth/jwks', port => $PORT)->{json} || {};
ok t_cmp(scalar @{ $jwks->{keys} || [] }, 1, 'our JWK Set (the one ES256 key) is published');

my (%tok, %claims);
for my $rs (qw(oauth2 openidc)) {
    $tok{$rs} = jwt_for('m2m', $AUD{$rs});
    my @p = split /\./, $tok{$rs};
    $claims{$rs} = @p == 3 ? b64url_json($p[1]) : {};
    ok t_cmp($claims{$rs}{aud} // '', $AUD{$rs}, "a JWT for $AUD{$rs}: its aud");
}
my $both = jwt_for('m2m', $AUD{oauth2}, $AUD{openidc});
my $both_aud = (split /\./, $both)[1] // '';
ok t_cmp(ref(b64url_json($both_aud)->{aud}), 'ARRAY', 'a JWT for both resources: aud is an array');
my $opaque = jwt_for('opq', $AUD{oauth2});
ok $opaque && $opaque !~ /\./, 'the client opq gets an opaque token (no dots)';
my ($kid) = map { $_->{kid} } @{ $jwks->{keys} || [] };
ok t_cmp(b64url_json((split /\./, $tok{oauth2})[0])->{kid} // '', $kid,
         "the JWTs' kid is the published key's");

# --- bad tokens, made from good ones ----------------------------------------------------------

# the token for the other resource with its aud rewritten to this one: only the
# signature tells it apart from a good token
sub tampered {
    my ($rs) = @_;
    my ($h, $p, $s) = split /\./, $tok{ $OTHER{$rs} };
    return join '.', $h, enc_json({ %{ b64url_json($p) }, aud => $AUD{$rs} }), $s;
}

sub forged {
    my ($rs) = @_;
    my $pid = open2(my $out, my $in, '/usr/bin/python3', $FORGE);
    print $in $tok{$rs};
    close $in;
    my $f = do { local $/; <$out> } // '';
    waitpid $pid, 0;
    $f =~ s/\s+\z//;
    return $f;
}

sub alg_none {
    my ($rs) = @_;
    my ($h, $p) = split /\./, $tok{$rs};
    return join('.', enc_json({ %{ b64url_json($h) }, alg => 'none' }), $p) . '.';
}

my $forged = forged('oauth2');
ok $forged && $forged ne $tok{oauth2} && (split /\./, $forged)[1] eq (split /\./, $tok{oauth2})[1],
    'the forged token carries the real claims under another signature';

# --- the remote resource servers ----------------------------------------------------------------

# per module: server-wide lines, the Location's AuthType and key source, its claim rule
my %VERIFY = (
    oauth2  => ['', "AuthType oauth2\n    OAuth2TokenVerify jwks_uri $JWKS "
                    . 'jwks_uri.ssl_verify=false&verify.exp=required&verify.iat=required',
                'oauth2_claim'],
    openidc => [qq{OIDCCABundlePath "$CERT"\n}
                . "OIDCOAuthSSLValidateServer On\nOIDCOAuthVerifyJwksUri $JWKS\n"
                . "OIDCOAuthRemoteUserClaim sub\n",
                'AuthType oauth20', 'claim'],
);

sub rs_conf {
    my ($rs) = @_;
    my ($server, $auth, $claim) = @{ $VERIFY{$rs} };
    return $server . <<"CONF";
<Location /protected>
    $auth
    <RequireAll>
        Require $claim iss:$ISS
        Require $claim aud:$AUD{$rs}
    </RequireAll>
    Header always set X-RS2-User "expr=%{REMOTE_USER}"
</Location>
CONF
}

for my $rs (qw(oauth2 openidc)) {
    my $n0 = intro_count();
    my $s = OAS::SecondHttpd::start("rs-$rs",
        modules => [qw(authn_core authz_core authz_user headers)],
        so => { ($rs eq 'oauth2' ? 'oauth2' : 'auth_openidc') => $SO{$rs} },
        conf => rs_conf($rs), files => { 'protected/index.txt' => "protected by $rs\n" });
    my $page = '/protected/index.txt';

    my $r = $s->get($page);
    ok t_cmp($r->code, 401, "$rs: no token: 401");

    $r = $s->get($page, $tok{$rs});
    ok t_cmp($r->code, 200, "$rs: a JWT for its resource, checked against our JWKS alone: 200")
        or diag($s->log_tail(10));
    ok t_cmp($r->content, qr/protected by $rs/, "$rs: ... the protected page");
    ok t_cmp($r->header('X-RS2-User') // '', 'm2m', "$rs: ... REMOTE_USER is the sub claim");
    ok t_cmp($s->get($page, $tok{$rs})->code, 200, "$rs: the same token again: 200");
    ok t_cmp($s->get($page, $both)->code, 200, "$rs: a JWT for both resources (aud an array): 200");

    $r = $s->get($page, $tok{ $OTHER{$rs} });
    ok t_cmp($r->code, 401, "$rs: a JWT for the other resource (its aud): 401");
    ok t_cmp($s->log_tail(3), qr/AH01631: user m2m: authorization failure/,
             "$rs: ... refused by the aud rule once its signature had passed");
    ok t_cmp($s->get($page, tampered($rs))->code, 401,
             "$rs: ... that JWT with aud rewritten to this resource (tampered): 401");
    ok t_cmp($s->get($page, forged($rs))->code, 401,
             "$rs: the right claims signed by a key we never published (forged): 401");
    ok t_cmp($s->get($page, alg_none($rs))->code, 401, "$rs: alg none, no signature: 401");
    ok t_cmp($s->get($page, $opaque)->code, 401, "$rs: an opaque token: 401");

    ok t_cmp(intro_count() - $n0, 0, "$rs: our introspection endpoint was never called");
    ok $s->stop, "$rs: the second httpd stopped";
}
