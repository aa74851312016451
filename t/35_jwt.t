# JWT access tokens (RFC 9068) and signing keys: SPEC section 10, issue 14 items 1, 2, 6.
#
# The vhosts oas_jwt (OAuthASAccessTokenFormat jwt; key-a EC P-256 signs, key-b
# Ed25519 published) and oas_jwtrsa (opaque by default; client jwtc has JWT, RSA key)
# of t/conf/jwt.conf.in, registry t/conf/jwt-clients.json.
#  1. the JWK Set: every key, public parts only; jwks_uri in the metadata
#  2. tokens checked by an independent verifier: Debian's python3-jwt (PyJWT) with
#     /usr/bin/python3 (t/client/jwt_verify.py), against the published JWK Set
#  3. the format per server and per client; refresh tokens stay opaque
#  4. the access hook and introspection treat a JWT like an opaque token; a tampered
#     JWT is refused; revocation is seen at once
#  5. rotation: the key files are swapped (the same as moving the second
#     OAuthASSigningKey line first) and httpd restarted gracefully
#  6. every start-up refusal, through httpd -t (as t/12_config.t)
#  7. oauth-as-client keygen: keys of each type, mode 0600, never over a file, and
#     httpd takes them
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Copy qw(copy move);
use File::Path qw(make_path);
use FindBin ();
use IPC::Open2 qw(open2);
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use OAS::Test;

plan tests => 86, need_module('ssl'), need_module('oauth_as');

my $cfg   = Apache::Test::config();
my $vars  = $cfg->{vars};
my $JWT   = $vars->{oas_jwt_port};
my $RSA   = $vars->{oas_jwtrsa_port};
my $ISS   = "https://localhost:$JWT";
my $ISS_R = "https://localhost:$RSA";
my $KEYS  = "$vars->{serverroot}/conf/oas-keys";
my $PY    = '/usr/bin/python3';
my $VERIFY = "$FindBin::Bin/client/jwt_verify.py";
my $JSON  = JSON::PP->new->canonical;

sub b64url_json {
    my ($s) = @_;
    $s =~ tr/-_/+\//;
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return JSON::PP->new->decode(decode_base64($s));
}

sub token_at {
    my ($port, $client, %form) = @_;
    my $secret = $client eq 'rs' ? 'rs-secret' : 'm2m-secret';
    my $r = post_form('/oauth/token', [grant_type => 'client_credentials', %form],
                      port => $port, auth => [$client, $secret]);
    diag("token $client at $port: HTTP $r->{status} $r->{body}") unless $r->{status} == 200;
    return $r->{json} || {};
}

sub jwks_of { my ($port) = @_; return get('/oauth/jwks', port => $port) }

# the independent verifier: -> {ok, header, claims} or {ok => 0, error}
sub py_verify {
    my ($jwks, $token, $iss) = @_;
    my $pid = open2(my $out, my $in, $PY, $VERIFY);
    print $in $JSON->encode({ jwks => $jwks, token => $token, issuer => $iss,
                              audience => $iss });
    close $in;
    my $text = do { local $/; <$out> };
    waitpid $pid, 0;
    my $res = eval { JSON::PP->new->decode($text) } || { ok => 0, error => "no answer: $text" };
    diag("PyJWT: $res->{error}") unless $res->{ok};
    return $res;
}

sub bearer_get {
    my ($port, $tok) = @_;
    return get('/rs/valid/ok.txt', port => $port, headers => [Authorization => "Bearer $tok"]);
}

sub introspect_at {
    my ($port, $tok) = @_;
    my $r = post_form('/oauth/introspect', [token => $tok], port => $port,
                      auth => ['rs', 'rs-secret']);
    return $r->{json} || {};
}

# change one character in the middle of the signature
sub tamper {
    my ($tok) = @_;
    my ($h, $p, $s) = split /\./, $tok;
    my $i = int(length($s) / 2);
    substr($s, $i, 1) = substr($s, $i, 1) eq 'A' ? 'B' : 'A';
    return "$h.$p.$s";
}

# --- 1. the JWK Set ------------------------------------------------------------------

my $r = jwks_of($JWT);
is($r->{status}, 200, 'jwks: 200');
like($r->{headers}->header('Content-Type') // '', qr{^application/jwk-set\+json}, 'jwks: content type');
like($r->{headers}->header('Cache-Control') // '', qr/max-age=\d+/, 'jwks: cacheable');
my $jwks = $r->{json} || {};
my @keys = @{ $jwks->{keys} || [] };
is(scalar @keys, 2, 'jwks: both keys of the vhost are published');
is_deeply([map { $_->{alg} } @keys], ['ES256', 'EdDSA'], 'jwks: the first key first (ES256, then EdDSA)');
is_deeply([map { $_->{kty} } @keys], ['EC', 'OKP'], 'jwks: kty EC and OKP');
ok(!grep({ ($_->{use} // '') ne 'sig' } @keys), 'jwks: use sig on every key');
ok(!grep({ my $k = $_; grep { exists $k->{$_} } qw(d p q dp dq qi k) } @keys),
   'jwks: no private parameter');
ok(!grep({ ($_->{kid} // '') !~ /^[A-Za-z0-9_-]{43}$/ } @keys), 'jwks: every kid is a SHA-256 thumbprint');
my @kid0 = map { $_->{kid} } @keys;

$r = jwks_of($RSA);
my ($rk) = @{ ($r->{json} || {})->{keys} || [] };
ok($rk && $rk->{kty} eq 'RSA' && $rk->{alg} eq 'RS256' && $rk->{n} && $rk->{e}
   && !grep({ exists $rk->{$_} } qw(d p q dp dq qi)), 'jwks (RSA vhost): RS256, n and e only');

$r = get('/.well-known/oauth-authorization-server', port => $JWT);
is(($r->{json} || {})->{jwks_uri}, "$ISS/oauth/jwks", 'metadata: jwks_uri where the handler is mapped');
$r = get('/.well-known/oauth-authorization-server');
ok($r->{json} && !exists $r->{json}{jwks_uri}, 'metadata: no jwks_uri where it is not mapped');

# --- 2. a JWT, checked by PyJWT -------------------------------------------------------

my $ver = `$PY -c 'import jwt, cryptography; print(jwt.__version__)' 2>&1`;
chomp $ver;
ok($? == 0, "python3-jwt importable by $PY") or diag $ver;

my $t = token_at($JWT, 'm2m', scope => 'read');
my $at = $t->{access_token} // '';
is(scalar(split /\./, $at), 3, 'client_credentials at the jwt vhost: a compact JWS');
is($t->{token_type}, 'Bearer', 'token_type Bearer');
my $v = py_verify($jwks, $at, $ISS);
ok($v->{ok}, 'PyJWT verifies the signature against the published JWK Set');
my ($h, $c) = ($v->{header} || {}, $v->{claims} || {});
is($h->{typ}, 'at+jwt', 'header typ at+jwt');
is($h->{alg}, 'ES256', 'header alg ES256');
is($h->{kid}, $kid0[0], 'header kid: the first key');
is($c->{iss}, $ISS, 'claim iss');
is($c->{sub}, 'm2m', 'claim sub: the client (client_credentials)');
is($c->{aud}, $ISS, 'claim aud: the issuer');
is($c->{client_id}, 'm2m', 'claim client_id');
is($c->{scope}, 'read', 'claim scope');
ok(defined $c->{iat} && abs($c->{iat} - time) < 60, 'claim iat');
is(($c->{exp} // 0) - ($c->{iat} // 0), 3600, 'claim exp: iat + the lifetime');
is($t->{expires_in}, 3600, 'expires_in as exp says');
like($c->{jti} // '', qr/^[A-Za-z0-9_-]{22,}$/, 'claim jti');
ok(!exists $c->{auth_time}, 'no auth_time without a user');
ok(!py_verify($jwks, tamper($at), $ISS)->{ok}, 'PyJWT refuses the tampered token');

# a user: password grant
$r = post_form('/oauth/token', [grant_type => 'password', username => 'alice',
               password => 'wonderland'], port => $JWT, auth => ['pw', 'm2m-secret']);
my $pt = $r->{json} || {};
$v = py_verify($jwks, $pt->{access_token} // '', $ISS);
ok($v->{ok}, 'password grant: a JWT PyJWT verifies');
is($v->{claims}{sub}, 'alice', 'claim sub: the resource owner');
ok(defined $v->{claims}{auth_time} && $v->{claims}{auth_time} == $v->{claims}{iat},
   'claim auth_time where a user signed in');
ok(defined $pt->{refresh_token} && $pt->{refresh_token} !~ /\./, 'the refresh token stays opaque');
$r = post_form('/oauth/token', [grant_type => 'refresh_token',
               refresh_token => $pt->{refresh_token} // ''], port => $JWT,
               auth => ['pw', 'm2m-secret']);
ok(py_verify($jwks, ($r->{json} || {})->{access_token} // '', $ISS)->{ok},
   'a refresh gives a JWT too');

# --- 3. per server and per client -------------------------------------------------------

unlike(token_at($JWT, 'opq')->{access_token} // '.', qr/\./,
       'client access_token_format opaque beats OAuthASAccessTokenFormat jwt');
unlike(token_at($RSA, 'm2m')->{access_token} // '.', qr/\./,
       'opaque server: an opaque token');
my $rjwks = jwks_of($RSA)->{json};
my $rt = token_at($RSA, 'jwtc')->{access_token} // '';
$v = py_verify($rjwks, $rt, $ISS_R);
ok($v->{ok}, 'client access_token_format jwt on an opaque server: a JWT PyJWT verifies');
is($v->{header}{alg}, 'RS256', '... signed RS256');
is(($v->{claims}{exp} // 0) - ($v->{claims}{iat} // 0), 600, '... with the client\'s lifetime');
ok(!py_verify($jwks, $rt, $ISS_R)->{ok}, 'PyJWT: not with the other vhost\'s keys');

# --- 4. the access hook, introspection, revocation --------------------------------------

is(bearer_get($JWT, $at)->{status}, 200, 'access hook: the JWT is accepted');
$r = bearer_get($JWT, tamper($at));
is($r->{status}, 401, 'access hook: a tampered JWT is refused');
like($r->{headers}->header('WWW-Authenticate') // '', qr/error="invalid_token"/, '... invalid_token');
is(bearer_get($JWT, join('.', (split /\./, $at)[0, 1]) . '.')->{status}, 401,
   'access hook: the JWT without its signature is refused');
my $in = introspect_at($JWT, $at);
ok($in->{active}, 'introspection: active');
is($in->{jti}, $c->{jti}, 'introspection: jti of the JWT');
is($in->{aud}, $ISS, 'introspection: aud');
is($in->{sub}, 'm2m', 'introspection: sub');
ok(!introspect_at($JWT, tamper($at))->{active}, 'introspection: a tampered JWT is inactive');
ok(!exists introspect_at($RSA, token_at($RSA, 'm2m')->{access_token})->{jti},
   'introspection: no jti for an opaque token');

my $victim = token_at($JWT, 'm2m')->{access_token} // '';
is(bearer_get($JWT, $victim)->{status}, 200, 'a second JWT works');
$r = post_form('/oauth/revoke', [token => $victim], port => $JWT, auth => ['m2m', 'm2m-secret']);
is($r->{status}, 200, 'revocation: 200');
is(bearer_get($JWT, $victim)->{status}, 401, 'revoked: the access hook refuses it at once');
ok(!introspect_at($JWT, $victim)->{active}, 'revoked: introspection says inactive at once');
is(bearer_get($JWT, $at)->{status}, 200, 'the other JWT still works');

# --- 5. rotation -------------------------------------------------------------------------

my $old = $at;                        # signed by key-a, before the swap
sub swap_keys {
    move("$KEYS/key-a.pem", "$KEYS/swap.pem") or die "move: $!";
    move("$KEYS/key-b.pem", "$KEYS/key-a.pem") or die "move: $!";
    move("$KEYS/swap.pem", "$KEYS/key-b.pem") or die "move: $!";
}
my $swapped = 0;
END { swap_keys() if $swapped }       # should the test die: the next run starts alike
swap_keys();
$swapped = 1;
ok(graceful_restart(), 'rotation: graceful restart with the second key first');
my $jwks2 = jwks_of($JWT)->{json} || {};
is_deeply([map { $_->{kid} } @{ $jwks2->{keys} || [] }], [reverse @kid0],
          'rotation: both keys published, the new first one first');
my $new = token_at($JWT, 'm2m')->{access_token} // '';
$v = py_verify($jwks2, $new, $ISS);
ok($v->{ok}, 'rotation: a new token verifies');
is($v->{header}{kid}, $kid0[1], 'rotation: the new first key signs it');
is($v->{header}{alg}, 'EdDSA', 'rotation: EdDSA (Ed25519)');
ok(py_verify($jwks2, $old, $ISS)->{ok}, 'rotation: the token signed before still verifies');
is(bearer_get($JWT, $old)->{status}, 200, 'rotation: the access hook still takes it');
is(bearer_get($JWT, $new)->{status}, 200, 'rotation: and the new one');
swap_keys();
$swapped = 0;
ok(graceful_restart(), 'rotation undone');

# --- 6. start-up refusals (httpd -t) -------------------------------------------------------

my $conf = $vars->{t_conf_file};
my $dir  = "$vars->{t_logs}/jwttest";
make_path($dir);
my $n = 0;
sub configtest {
    my ($extra) = @_;
    my $tmp = "$dir/httpd-" . ++$n . '.conf';
    open my $i, '<', $conf or die "$conf: $!";
    open my $o, '>', $tmp or die "$tmp: $!";
    print $o $_ while <$i>;
    print $o "\n# added by t/35_jwt.t\n$extra\n";
    close $o;
    close $i;
    my $args = $cfg->server->args;
    $args =~ s/(^|\s)-f\s+\S+/$1-f $tmp/ or $args .= " -f $tmp";
    my $out = `$vars->{httpd} $args -t 2>&1`;
    return ($? >> 8, $out);
}
sub refused {
    my ($extra, $name, @want) = @_;
    my ($rc, $out) = configtest($extra);
    my @missing = grep { $out !~ /\Q$_\E/ } @want;
    ok($rc != 0 && !@missing, $name) or diag("exit $rc; missing: @missing\n$extra\n$out");
}
sub genkey {
    my ($name, $mode, @alg) = @_;
    my $path = "$dir/$name";
    unlink $path;
    system('openssl', 'genpkey', @alg, '-out', $path) == 0 or die "openssl genpkey failed";
    chmod $mode, $path;
    return $path;
}
sub write_file { my ($p, $t) = @_; open my $f, '>', $p or die "$p: $!"; print $f $t; close $f }

my ($rc, $out) = configtest('# nothing');
is($rc, 0, 'httpd -t: the configuration as it is passes') or diag $out;
my $loose = genkey('loose.pem', 0644, '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
refused(qq(OAuthASSigningKey "$loose"), 'refused: a key file others may read',
        $loose, 'mode 0644');
my $short = genkey('rsa1024.pem', 0600, '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024');
refused(qq(OAuthASSigningKey "$short"), 'refused: RSA below 2048 bits', $short, '1024 bits');
my $p384 = genkey('p384.pem', 0600, '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384');
refused(qq(OAuthASSigningKey "$p384"), 'refused: EC P-384', $p384, 'not supported');
refused(qq(OAuthASSigningKey "$dir/absent.pem"), 'refused: a missing key file',
        "$dir/absent.pem", 'cannot be read');
refused('OAuthASAccessTokenFormat jwt', 'refused: JWT format without a key',
        'OAuthASAccessTokenFormat jwt needs an OAuthASSigningKey');
refused('OAuthASAccessTokenFormat paseto', 'refused: an unknown format',
        'OAuthASAccessTokenFormat', 'paseto');
my $hash = '$2y$05$5LqNH2RrugKCEvhWRCY4K.B8jy3ll4yIqUq5LZQTy7hAHgExBG5fy';
write_file("$dir/jwt-nokey.json", $JSON->encode({ clients => [{ client_id => 'needskey',
    type => 'confidential', secret => $hash, grant_types => ['client_credentials'],
    scopes => ['read'], access_token_format => 'jwt' }] }));
refused(qq(OAuthASClients "$dir/jwt-nokey.json"), 'refused: a JWT client without a key',
        "$dir/jwt-nokey.json", "client 'needskey'", 'no OAuthASSigningKey');
refused(qq(OAuthASSigningKey "$KEYS/rsa.pem"\nOAuthASAccessTokenFormat jwt\n)
        . 'OAuthASAccessTokenLifetime 0', 'refused: JWT tokens that never expire',
        "client 'm2m'", 'never expire');
write_file("$dir/jwt-forever.json", $JSON->encode({ clients => [{ client_id => 'eternal',
    type => 'confidential', secret => $hash, grant_types => ['client_credentials'],
    scopes => ['read'], access_token_lifetime => 0, access_token_format => 'jwt' }] }));
refused(qq(OAuthASSigningKey "$KEYS/rsa.pem"\nOAuthASClients "$dir/jwt-forever.json"),
        'refused: a never-expiring JWT client', "$dir/jwt-forever.json", "client 'eternal'",
        'access_token_format');

# --- 7. oauth-as-client keygen ---------------------------------------------------------------

my $TOOL = "$vars->{top_dir}/build/oauth-as-client";
my %algs = (ec => 'ES256', rsa => 'RS256', ed25519 => 'EdDSA');
for my $type (sort keys %algs) {
    my $path = "$dir/keygen-$type.pem";
    unlink $path;
    my $said = `'$TOOL' keygen $type '$path' 2>&1`;
    ok($? == 0 && $said =~ /alg $algs{$type}, kid [A-Za-z0-9_-]{43}/, "keygen $type: $algs{$type}")
        or diag $said;
    is((stat $path)[2] & 07777, 0600, "keygen $type: mode 0600");
    my ($krc, $kout) = configtest(qq(OAuthASSigningKey "$path"));
    is($krc, 0, "keygen $type: httpd -t takes the key") or diag $kout;
}
my $before = -s "$dir/keygen-ec.pem";
my $said = `'$TOOL' keygen rsa '$dir/keygen-ec.pem' 2>&1`;
ok($? >> 8 == 1 && $said =~ /never overwritten/ && -s "$dir/keygen-ec.pem" == $before,
   'keygen: an existing file is never overwritten') or diag $said;
$said = `'$TOOL' keygen dsa '$dir/keygen-dsa.pem' 2>&1`;
ok($? >> 8 == 1 && $said =~ /unknown key type 'dsa'/ && !-e "$dir/keygen-dsa.pem",
   'keygen: an unknown type is refused') or diag $said;
