# A real remote resource server: OpenIDC's mod_oauth2 (Debian's libapache2-mod-oauth2)
# in a second httpd, started here, validates our tokens through our introspection
# endpoint (RFC 7662) as the confidential client rs:
#     OAuth2TokenVerify introspect https://127.0.0.1:PORT/oauth/introspect \
#         introspect.auth=client_secret_basic&client_id=rs&client_secret=rs-secret&...
# A valid token passes, and the user and the client come through; a token revoked after
# mod_oauth2 has seen it is refused (its result cache is switched off: expiry=0, and
# every request is an introspection, which the status counters show); so are unknown
# and expired tokens and a missing one.
#
# The second httpd (OAS::SecondHttpd): same binary and MPM as this run, its own config, port (free one
# picked at run time, on 127.0.0.1), pid file, logs and runtime dir in t/logs/rs2; it
# is stopped by an END block whatever happens.  Its TLS client does not verify our
# self-signed certificate (introspect.ssl_verify=false: mod_oauth2 has no CA file
# option).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;
use OAS::SecondHttpd;

my $so = OAS::SecondHttpd::moddir() . '/mod_oauth2.so';

plan tests => 24, need_module('oauth_as'), need_module('ssl'),
    need({ "mod_oauth2 is not installed ($so; Debian: libapache2-mod-oauth2)" => -f $so });

# --- the second httpd ----------------------------------------------------------------------

my $intro = 'https://127.0.0.1:' . https_port() . '/oauth/introspect';
my $opts  = join '&', 'introspect.auth=client_secret_basic', 'client_id=rs',
                      'client_secret=rs-secret', 'introspect.ssl_verify=false',
                      'expiry=0';                      # no result cache: see the header
my $rs2 = OAS::SecondHttpd::start('rs2', modules => [qw(authn_core authz_core authz_user headers)],
    so => { oauth2 => $so }, files => { 'open.txt' => "open\n",
                                        'protected/index.txt' => "protected by mod_oauth2\n" },
    conf => <<"CONF");
<Location /protected>
    AuthType oauth2
    OAuth2TokenVerify introspect $intro $opts
    Require valid-user
    Header always set X-RS2-User "expr=%{REMOTE_USER}"
    Header always set X-RS2-Client "%{OAUTH2_CLAIM_client_id}e"
    Header always set X-RS2-Scope "%{OAUTH2_CLAIM_scope}e"
</Location>
CONF

sub rs2 { my ($path, $token) = @_; return $rs2->get($path, $token) }

sub introspections { OAS::TokenTest::oas_status()->{counters}{introspections} // 0 }

my $r = rs2('/open.txt');
ok t_cmp($r->code, 200, 'an open page of the second httpd');

# --- no token, an unknown token ----------------------------------------------------------------

$r = rs2('/protected/index.txt');
ok t_cmp($r->code, 401, 'no token: 401');
ok t_cmp($r->header('WWW-Authenticate') // '', qr/^Bearer\b/i, '... with a Bearer challenge');
$r = rs2('/protected/index.txt', 'AAAAunknownunknownunknownunknownAAAA');
ok t_cmp($r->code, 401, 'an unknown token: 401');

# --- valid tokens ---------------------------------------------------------------------------------

my $alice = token_of(password_token('webapp', 'alice', 'wonderland'));
my $n0 = introspections();
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 200, 'a password-grant token from our token endpoint: 200');
ok t_cmp($r->content, qr/protected by mod_oauth2/, '... the protected page');
ok t_cmp($r->header('X-RS2-User'), 'alice', '... REMOTE_USER (sub) is alice');
ok t_cmp($r->header('X-RS2-Client'), 'webapp', '... the client_id claim is webapp');
ok t_cmp($r->header('X-RS2-Scope'), 'read write', '... the scope claim');
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 200, 'the same token again: 200');
ok t_cmp(introspections() - $n0, 2, 'each request was one introspection (no result cache)');

my $cc = token_of(cc_token('m2m', scope => 'read'));
$r = rs2('/protected/index.txt', $cc);
ok t_cmp($r->code, 200, 'a client-credentials token: 200');
ok t_cmp($r->header('X-RS2-User'), 'm2m', '... REMOTE_USER (sub) is the client id');

# --- revoked after use -----------------------------------------------------------------------------

ok t_cmp(revoke('webapp', $alice)->{status}, 200, 'alice\'s token revoked at /oauth/revoke');
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 401, 'the revoked token, which mod_oauth2 accepted before: 401');
ok t_cmp($r->header('WWW-Authenticate') // '', qr/invalid_token/, '... invalid_token');
ok t_cmp(revoke('m2m', $cc)->{status}, 200, 'the client-credentials token revoked');
ok t_cmp(rs2('/protected/index.txt', $cc)->code, 401, '... 401 now');

my $unseen = token_of(cc_token('m2m'));
revoke('m2m', $unseen);
ok t_cmp(rs2('/protected/index.txt', $unseen)->code, 401, 'a token revoked before its first use: 401');

# --- expired ----------------------------------------------------------------------------------------

# expiry in whole seconds: 1 to 2 s after the issue; a check a second or more later (a
# loaded machine) proves nothing either way and is made again with a new token
my ($t0, $short, $code);
for (1 .. 5) {
    $t0 = time;
    $short = token_of(cc_token('shortlived'));
    $code = rs2('/protected/index.txt', $short)->code;
    last if time - $t0 < 1;
}
ok t_cmp($code, 200, 'a token that lives 2 s: 200 while fresh');
my $wait = $t0 + 3.5 - time;
sleep $wait if $wait > 0;
ok t_cmp(rs2('/protected/index.txt', $short)->code, 401, '... 401 once expired');

# --- stop ---------------------------------------------------------------------------------------------

ok $rs2->stop, 'the second httpd stopped';
ok !OAS::SecondHttpd::port_open($rs2->{port}), '... its port is closed';
