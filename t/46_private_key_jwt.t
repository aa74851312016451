# Client authentication methods (SPEC section 5 first paragraph): private_key_jwt
# (RFC 7523 section 2.2) and client_secret_post, against the real server, at the
# token, introspection and revocation endpoints; each defect of an assertion; the
# brute-force limits apply to assertions too.
# Virtual host and registry: oas_dpop of t/conf/dpop.conf.in, t/conf/dpop-clients.json
# (client pkj: private_key_jwt with the test-only key t/conf/pkj-key.json; client post:
# client_secret_post).  Assertions are signed by t/clients/jws.mjs (node:crypto).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use JSON::PP ();
use File::Temp qw(tempfile);
use FindBin ();

plan tests => 29, need_module('ssl'), need_module('oauth_as');

my $P   = Apache::Test::vars('oas_dpop_port');
my $ISS = "https://localhost:$P";
my $TOK = "$ISS/oauth/token";
my $JS  = "$FindBin::Bin/clients/jws.mjs";
my $J   = JSON::PP->new->canonical;
my $TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

sub jws {
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $J->encode([@_]);
    close $fh;
    my $out = `node '$JS' < '$file'`;
    die "jws.mjs failed: $?" if $?;
    return @{ $J->decode($out) };
}

my $KEY = do { local $/; open my $f, '<', "$FindBin::Bin/conf/pkj-key.json" or die; $J->decode(<$f>) };
my ($OTHER) = jws({ gen => 'ec' });
my $n = 0;

sub assertion {
    my (%o) = @_;
    my $key = delete $o{key} || $KEY;
    my $alg = delete $o{alg} || 'ES256';
    my $sec = delete $o{secret};
    my %c = (iss => 'pkj', sub => 'pkj', aud => $TOK, exp => time + 60,
             jti => 'a' . $$ . '-' . ++$n . '-' . time, %o);
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    my ($jws) = jws({ key => $key, alg => $alg, secret => $sec, claims => \%c, header => {} });
    return $jws;
}

sub cc {   # a client_credentials request authenticated by an assertion
    my ($a, %o) = @_;
    my $path = delete $o{path} || '/oauth/token';
    my $form = delete $o{form} || [grant_type => 'client_credentials'];
    return post_form($path, [@$form, client_assertion_type => $TYPE, client_assertion => $a,
                             %o], port => $P);
}

sub refused {
    my ($r, $name) = @_;
    ok $r->{status} == 401 && ($r->{json}{error} // '') eq 'invalid_client',
       "$name -> 401 invalid_client" . ($r->{status} == 401 ? '' : " (got $r->{status} $r->{body})");
}

# --- private_key_jwt ----------------------------------------------------------------
my $r = cc(assertion());
is $r->{status}, 200, 'private_key_jwt, aud the token endpoint: 200';
my $AT = $r->{json}{access_token};
is cc(assertion(aud => $ISS))->{status}, 200, 'aud the issuer: 200';
is cc(assertion(aud => ['https://elsewhere', $TOK]))->{status}, 200, 'aud an array holding it: 200';
is cc(assertion(), client_id => 'pkj')->{status}, 200, 'client_id = iss: 200';
$r = cc(assertion(), path => '/oauth/introspect', form => [token => $AT]);
ok $r->{status} == 200 && $r->{json}{active}, 'introspection with private_key_jwt: active';
is cc(assertion(), path => '/oauth/revoke', form => [token => $AT])->{status}, 200,
   'revocation with private_key_jwt: 200';
my $good = assertion();
is cc($good)->{status}, 200, 'a fresh assertion: 200';

refused(cc($good), 'the same assertion again (jti replay)');
refused(cc(assertion(key => $OTHER)), 'signed by a key not in the client\'s jwks');
refused(cc(assertion(aud => 'https://elsewhere/token')), 'aud of another server');
refused(cc(assertion(exp => undef)), 'no exp');
refused(cc(assertion(exp => time - 5)), 'expired');
refused(cc(assertion(exp => time + 600)), 'exp 10 minutes ahead');
refused(cc(assertion(sub => 'm2m')), 'sub is not iss');
refused(cc(assertion(alg => 'none')), 'alg none');
refused(cc(assertion(alg => 'HS256', secret => $J->encode({ map { ($_ => $KEY->{$_}) } qw(crv kty x y) }))),
        'HS256 with the public key as the secret');
refused(cc(assertion(), client_id => 'm2m'), 'client_id that is not the iss');
refused(post_form('/oauth/token', [grant_type => 'client_credentials',
                                   client_assertion_type => 'urn:x', client_assertion => assertion()],
                  port => $P), 'another client_assertion_type');
refused(cc(assertion(iss => 'm2m', sub => 'm2m')), 'an assertion for a client_secret_basic client');
refused(post_form('/oauth/token', [grant_type => 'client_credentials'], port => $P,
                  auth => [pkj => 'anything']), 'the private_key_jwt client with HTTP Basic');

# --- client_secret_post -------------------------------------------------------------
my @cc = (grant_type => 'client_credentials');
is post_form('/oauth/token', [@cc, client_id => 'post', client_secret => 'm2m-secret'],
             port => $P)->{status}, 200, 'client_secret_post: 200';
refused(post_form('/oauth/token', [@cc, client_id => 'post', client_secret => 'wrong'], port => $P),
        'client_secret_post with a wrong secret');
refused(post_form('/oauth/token', \@cc, port => $P, auth => [post => 'm2m-secret']),
        'the client_secret_post client with HTTP Basic (the registered method only)');
refused(post_form('/oauth/token', [@cc, client_id => 'm2m', client_secret => 'm2m-secret'], port => $P),
        'a client_secret_basic client with its secret in the body');
refused(post_form('/oauth/token', [@cc, client_id => 'post', client_secret => 'm2m-secret'],
                  port => $P, auth => [post => 'm2m-secret']), 'two methods at once');
$r = post_form('/oauth/introspect', [token => $AT, client_id => 'post', client_secret => 'm2m-secret'],
               port => $P);
ok $r->{status} == 200 && exists $r->{json}{active}, 'introspection with client_secret_post: 200';

# --- the brute-force limits count assertions ----------------------------------------
my $locked = 0;
for (1 .. 12) {
    my $s = cc(assertion(key => $OTHER))->{status};
    if ($s == 429) { $locked = 1; last }
}
ok $locked, 'bad assertions lock the client id (429)';
is cc(assertion())->{status}, 429, '... and then a good assertion gets 429 too';
ok((cc(assertion())->{headers}->header('Retry-After') // '') =~ /^\d+$/, '... with Retry-After');
