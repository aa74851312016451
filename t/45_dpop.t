# DPoP (RFC 9449, SPEC section 13) against the real server: proofs at the token
# endpoint (every defect refused), server nonces, cnf.jkt in introspection and JWTs,
# dpop_jkt codes and bound refresh tokens of a public client, and the access hook
# (AuthType Bearer taking both schemes, AuthType DPoP, OAuthASRequireDPoP).
# Virtual hosts and registry: t/conf/dpop.conf.in, t/conf/dpop-clients.json
#   oas_dpop   no nonces      oas_dpopn  OAuthASDPoPNonce On
# Proofs are signed by t/clients/jws.mjs (node:crypto), which signs what no library
# would (alg none, HS256, a private key in the header).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use HTML::Entities qw(decode_entities);
use JSON::PP ();
use File::Temp qw(tempfile);
use FindBin ();
use MIME::Base64 qw(decode_base64);

plan tests => 67, need_module('ssl'), need_module('oauth_as');

my $P   = Apache::Test::vars('oas_dpop_port');
my $PN  = Apache::Test::vars('oas_dpopn_port');
my $ISS = "https://localhost:$P";
my $TOK = "$ISS/oauth/token";
my $M2M = [m2m => 'm2m-secret'];
my $JS  = "$FindBin::Bin/clients/jws.mjs";
my $J   = JSON::PP->new->canonical;

# jobs (see t/clients/jws.mjs) -> results
sub jws {
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $J->encode([@_]);
    close $fh;
    my $out = `node '$JS' < '$file'`;
    die "jws.mjs failed: $?" if $?;
    return @{ $J->decode($out) };
}

my ($A, $B, $C) = jws({ gen => 'ec' }, { gen => 'ec' }, { gen => 'ed25519' });
sub pub { my ($k) = @_; my %p = %$k; delete $p{d}; return \%p }
my ($TA, $TB) = jws({ thumbprint => $A }, { thumbprint => $B });
my $n = 0;

# proof(key, claims overrides, header overrides, alg, secret)
sub proof {
    my ($key, %o) = @_;
    my $alg = delete $o{alg} || ($key->{kty} eq 'OKP' ? 'EdDSA' : 'ES256');
    my $hdr = delete $o{header} || {};
    my $sec = delete $o{secret};
    my %claims = (jti => 'j' . $$ . '-' . ++$n . '-' . time, htm => 'POST', htu => $TOK,
                  iat => time, %o);
    delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
    my ($jws) = jws({ key => $key, alg => $alg, secret => $sec, claims => \%claims,
                      header => { typ => 'dpop+jwt', jwk => pub($key), %$hdr } });
    return $jws;
}

sub token {   # token(proof or [proofs], form, auth, port)
    my ($proof, %o) = @_;
    my @h = map { (DPoP => $_) } grep { defined } (ref $proof ? @$proof : ($proof));
    return post_form('/oauth/token', $o{form} || [grant_type => 'client_credentials'],
                     port => $o{port} || $P, (exists $o{auth} ? ($o{auth} ? (auth => $o{auth}) : ())
                                                               : (auth => $M2M)),
                     headers => \@h);
}

sub err_is {
    my ($r, $status, $err, $name) = @_;
    ok $r->{status} == $status && ($r->{json}{error} // '') eq $err,
       "$name -> $status $err" . ($r->{status} == $status ? '' : " (got $r->{status} $r->{body})");
}

sub introspect {
    my ($tok) = @_;
    return post_form('/oauth/introspect', [token => $tok], port => $P, auth => $M2M)->{json};
}

# --- 1. metadata --------------------------------------------------------------------
my $m = get('/.well-known/oauth-authorization-server', port => $P)->{json};
is $m->{token_endpoint}, $TOK, 'the token endpoint URL (the proofs\' htu)';
is_deeply $m->{dpop_signing_alg_values_supported}, [qw(ES256 RS256 EdDSA Ed25519)],
   'dpop_signing_alg_values_supported';

# --- 2. a good proof binds the token ------------------------------------------------
my $r = token(proof($A));
is $r->{status}, 200, 'client_credentials with a proof: 200';
is $r->{json}{token_type}, 'DPoP', '... token_type DPoP';
my $AT = $r->{json}{access_token};
my $i = introspect($AT);
is $i->{token_type}, 'DPoP', 'introspection: token_type DPoP';
is $i->{cnf}{jkt}, $TA, 'introspection: cnf.jkt is the key\'s RFC 7638 thumbprint';
$r = token(proof($C));
ok $r->{status} == 200 && $r->{json}{token_type} eq 'DPoP', 'an Ed25519 (EdDSA) proof: 200 DPoP';
$r = token(proof($C, alg => 'Ed25519'));
ok $r->{status} == 200 && $r->{json}{token_type} eq 'DPoP',
   'alg "Ed25519" (RFC 9864, as oauth4webapi sends it): 200 DPoP';
$r = token(undef);
ok $r->{status} == 200 && $r->{json}{token_type} eq 'Bearer', 'no proof: a Bearer token';
ok !exists introspect($r->{json}{access_token})->{cnf}, '... without cnf';
my $BEARER = $r->{json}{access_token};

# a JWT access token carries cnf.jkt
$r = token(proof($A), auth => [jwtm => 'm2m-secret']);
my (undef, $payload) = split /\./, $r->{json}{access_token} // '';
$payload =~ tr/-_/+\// if defined $payload;
my $claims = eval { $J->decode(decode_base64(($payload // '') . '=' x ((4 - length($payload // '') % 4) % 4))) } || {};
is $claims->{cnf}{jkt}, $TA, 'a JWT access token carries cnf.jkt';

# --- 3. each defect of a proof -------------------------------------------------------
my $priv = { %{ pub($A) }, d => $A->{d} };
my $good = proof($A);
err_is(token(proof($A, header => { typ => 'JWT' })), 400, 'invalid_dpop_proof', 'typ JWT');
err_is(token(proof($A, alg => 'none')), 400, 'invalid_dpop_proof', 'alg none');
err_is(token(proof($A, alg => 'HS256', secret => $J->encode(pub($A)))), 400,
       'invalid_dpop_proof', 'HS256 with the public key as the secret');
err_is(token(proof($A, header => { jwk => $priv })), 400, 'invalid_dpop_proof',
       'a private key in the header');
err_is(token(proof($B, header => { jwk => pub($A) })), 400, 'invalid_dpop_proof',
       'signed by another key than its jwk (bad signature)');
err_is(token(proof($A, htm => 'GET')), 400, 'invalid_dpop_proof', 'htm GET');
err_is(token(proof($A, htu => "$ISS/oauth/other")), 400, 'invalid_dpop_proof', 'htu of another URL');
err_is(token(proof($A, htu => "https://localhost:$PN/oauth/token")), 400, 'invalid_dpop_proof',
       'htu of another server');
err_is(token(proof($A, iat => time - 120)), 400, 'invalid_dpop_proof', 'iat 2 minutes old');
err_is(token(proof($A, iat => time + 120)), 400, 'invalid_dpop_proof', 'iat 2 minutes ahead');
err_is(token(proof($A, jti => undef)), 400, 'invalid_dpop_proof', 'no jti');
err_is(token([proof($A), proof($A)]), 400, 'invalid_dpop_proof', 'two DPoP headers');
err_is(token('not.a.jws'), 400, 'invalid_dpop_proof', 'garbage');
is token($good)->{status}, 200, 'a fresh proof: 200';
err_is(token($good), 400, 'invalid_dpop_proof', 'the same proof again (jti replay)');
ok((token(proof($A))->{headers}->header('Cache-Control') // '') =~ /no-store/,
   'answers are no-store');
err_is(token(undef, auth => [bound => 'm2m-secret']), 400, 'invalid_request',
       'a dpop_bound_access_tokens client without a proof');
is token(proof($A), auth => [bound => 'm2m-secret'])->{json}{token_type}, 'DPoP',
   '... and with one: DPoP';

# --- 4. server nonces (oas_dpopn) -----------------------------------------------------
my $TOKN = "https://localhost:$PN/oauth/token";
$r = token(proof($A, htu => $TOKN), port => $PN);
err_is($r, 400, 'use_dpop_nonce', 'nonce required, none sent');
my $NONCE = $r->{headers}->header('DPoP-Nonce');
ok defined $NONCE && length $NONCE, 'DPoP-Nonce header with the nonce';
$r = token(proof($A, htu => $TOKN, nonce => $NONCE), port => $PN);
ok $r->{status} == 200 && $r->{json}{token_type} eq 'DPoP', 'the retry with the nonce: 200 DPoP';
err_is(token(proof($A, htu => $TOKN, nonce => 'AAAAAAAAAAAnotours'), port => $PN), 400,
       'use_dpop_nonce', 'a nonce not ours');
err_is(token(proof($A, htu => $TOKN, nonce => $NONCE, alg => 'none'), port => $PN), 400,
       'invalid_dpop_proof', 'a nonce does not save a bad proof');

# --- 5. the access hook -----------------------------------------------------------------
sub rs {
    my ($path, $auth, @proofs) = @_;
    return get($path, port => $P, headers => [ (defined $auth ? (Authorization => $auth) : ()),
                                               map { (DPoP => $_) } @proofs ]);
}
sub rs_proof {
    my ($key, $path, $tok, %o) = @_;
    my ($ath) = jws({ ath => $tok });
    return proof($key, htm => 'GET', htu => "$ISS$path", ath => $ath, %o);
}
sub www { my ($res) = @_; join ' | ', $res->{headers}->header('WWW-Authenticate') }

my $V = '/rs/valid/ok.txt';
$r = rs($V, "DPoP $AT", rs_proof($A, $V, $AT));
is $r->{status}, 200, 'AuthType Bearer: a DPoP token with its proof: 200';
my $p1 = rs_proof($A, $V, $AT);
is rs($V, "DPoP $AT", $p1)->{status}, 200, '... and another proof';
$r = rs($V, "DPoP $AT", $p1);
ok $r->{status} == 401 && www($r) =~ /DPoP realm="api", algs="ES256 RS256 EdDSA Ed25519", error="invalid_dpop_proof"/,
   'a proof used twice: 401 invalid_dpop_proof (' . www($r) . ')';
$r = rs($V, "Bearer $AT");
ok $r->{status} == 401 && www($r) =~ /Bearer [^|]*error="invalid_token"/,
   'a DPoP-bound token presented as Bearer: 401 invalid_token (' . www($r) . ')';
$r = rs($V, "DPoP $AT");
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'no proof: 401 invalid_dpop_proof';
$r = rs($V, "DPoP $AT", rs_proof($A, $V, $AT, ath => 'x' x 43));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'wrong ath: 401 invalid_dpop_proof';
$r = rs($V, "DPoP $AT", rs_proof($B, $V, $AT));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/,
   'a proof of another key than cnf.jkt: 401 invalid_dpop_proof';
$r = rs($V, "DPoP $AT", rs_proof($A, '/rs/other/ok.txt', $AT));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'htu of another URL: 401';
$r = rs($V, "DPoP $AT", rs_proof($A, $V, $AT, htm => 'POST'));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'htm POST: 401';
$r = rs($V, "DPoP $AT", rs_proof($A, $V, $AT, iat => time - 300));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'an old proof: 401';
$r = rs($V, "DPoP $AT", rs_proof($A, $V, $AT), rs_proof($A, $V, $AT));
ok $r->{status} == 401 && www($r) =~ /error="invalid_dpop_proof"/, 'two DPoP headers: 401';
$r = rs($V, "DPoP $BEARER", rs_proof($A, $V, $BEARER));
ok $r->{status} == 401 && www($r) =~ /error="invalid_token"/,
   'an unbound token with the DPoP scheme: 401 invalid_token';
is rs($V, "Bearer $BEARER")->{status}, 200, 'an unbound token as Bearer: 200 (both schemes)';
$r = rs($V, undef);
ok $r->{status} == 401 && www($r) =~ /^Bearer/, 'no token: the Bearer challenge';

my $D = '/rs/dpop/ok.txt';
is rs($D, "DPoP $AT", rs_proof($A, $D, $AT))->{status}, 200, 'AuthType DPoP: 200 with a proof';
$r = rs($D, "Bearer $BEARER");
ok $r->{status} == 401 && www($r) =~ /^DPoP realm="api", algs="ES256 RS256 EdDSA Ed25519", error="invalid_token"/
   && www($r) !~ /Bearer/, 'AuthType DPoP: a Bearer token refused, DPoP challenge only (' . www($r) . ')';
$r = rs($D, undef);
ok $r->{status} == 401 && www($r) =~ /^DPoP realm="api", algs=/, 'AuthType DPoP: no token, DPoP challenge';
my $Q = '/rs/dpopreq/ok.txt';
is rs($Q, "DPoP $AT", rs_proof($A, $Q, $AT))->{status}, 200, 'OAuthASRequireDPoP On: 200 with a proof';
$r = rs($Q, "Bearer $BEARER");
ok $r->{status} == 401 && www($r) =~ /^DPoP .*error="invalid_token"/,
   'OAuthASRequireDPoP On: an unbound Bearer token refused';

# --- 6. dpop_jkt and a public client's bound refresh token ----------------------------
my $CB = 'https://spa.example/cb';
my $VER = 'v' x 50;
my ($CH) = jws({ ath => $VER });     # base64url(SHA-256(verifier)): S256
sub code_with {
    my (%q) = @_;
    my $qs = form_encode([response_type => 'code', client_id => 'spa', redirect_uri => $CB,
                          code_challenge => $CH, code_challenge_method => 'S256', %q]);
    my $page = get("/oauth/authorize?$qs", port => $P, auth => [alice => 'wonderland']);
    my ($form) = ($page->{body} // '') =~ m{<form method="post"[^>]*>(.*?)</form>}s;
    my @f;
    while (($form // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
        push @f, decode_entities($1), decode_entities($2);
    }
    my $res = post_form('/oauth/authorize', [@f, decision => 'approve'], port => $P,
                        auth => [alice => 'wonderland']);
    my ($code) = ($res->{headers}->header('Location') // '') =~ /[?&]code=([^&]+)/;
    return ($code, $page);
}
my ($code, $page) = code_with(dpop_jkt => $TA);
ok $code, 'a code with dpop_jkt';
my @cform = (grant_type => 'authorization_code', code => $code, redirect_uri => $CB,
             client_id => 'spa', code_verifier => $VER);
err_is(token(proof($B), form => \@cform, auth => undef), 400, 'invalid_dpop_proof',
       'the code redeemed with a proof of another key');
err_is(token(undef, form => \@cform, auth => undef), 400, 'invalid_dpop_proof',
       'the code redeemed without a proof');
$r = token(proof($A), form => \@cform, auth => undef);
ok $r->{status} == 200 && $r->{json}{token_type} eq 'DPoP' && $r->{json}{refresh_token},
   '... with a proof of the dpop_jkt key: 200 DPoP and a refresh token';
my $RT = $r->{json}{refresh_token};
my @rform = (grant_type => 'refresh_token', refresh_token => $RT, client_id => 'spa');
err_is(token(undef, form => \@rform, auth => undef), 400, 'invalid_dpop_proof',
       'the public client\'s refresh token without a proof');
err_is(token(proof($B), form => \@rform, auth => undef), 400, 'invalid_dpop_proof',
       '... with a proof of another key');
$r = token(proof($A), form => \@rform, auth => undef);
ok $r->{status} == 200 && $r->{json}{token_type} eq 'DPoP', '... with a proof of its key: 200';
my ($code2) = code_with(dpop_jkt => 'short');
ok !$code2, 'a malformed dpop_jkt gets no code';

# --- 7. an independent client: oauth4webapi (t/clients/dpop.mjs) -------------------------
my $cdir = "$FindBin::Bin/clients";
unless (-d "$cdir/node_modules/oauth4webapi") {
    my $out = `cd '$cdir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
    diag "npm ci: $out" if $?;
}
ok(-f "$cdir/node_modules/oauth4webapi/package.json", 'oauth4webapi installed in t/clients');
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
my $logs = Apache::Test::vars('t_logs');
my $line = `timeout 120 node '$cdir/dpop.mjs' '$ISS' 'https://localhost:$PN' '$ISS/rs/dpop/ok.txt' '$FindBin::Bin/conf/pkj-key.json' 2>'$logs/dpop-mjs-stderr.txt'`;
my $o = eval { $J->decode($line) } || {};
diag "dpop.mjs: $line" if $o->{error} || !$line;
is_deeply $o->{basic_dpop}, { token_type => 'dpop', resource => 200 },
   'oauth4webapi: client_secret_basic + DPoP, then the AuthType DPoP resource: 200';
is_deeply $o->{private_key_jwt_dpop}, { token_type => 'dpop', resource => 200 },
   'oauth4webapi: private_key_jwt + an EdDSA DPoP key, then the resource: 200';
is_deeply $o->{client_secret_post}, { token_type => 'bearer' }, 'oauth4webapi: client_secret_post';
is_deeply $o->{nonce}, { token_type => 'dpop', retried => JSON::PP::true },
   'oauth4webapi: use_dpop_nonce, then the retry with the DPoP-Nonce: DPoP';
ok !$o->{error}, 'oauth4webapi: no error';
