# httpd as resource server (SPEC section 7, RFC 6750): AuthType Bearer and the authz
# providers oauth-scope and oauth-scope-path over HTTPS, on static files, a CGI
# script and a ProxyPass back end, in every Require combination of
# t/conf/resource.conf.in; the RFC 6750 section 3 answers; expired, revoked and
# disabled-client tokens; a token in the query string; malformed Authorization
# headers (always a clear 4xx, never a 5xx).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use MIME::Base64 ();
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

plan tests => 145, need_module('oauth_as'), need_module('ssl'), need_cgi,
    need_module('proxy'), need_module('proxy_http'), need_module('headers');

# mod_authz_core logs every refusal of an authenticated user (AH01631) and of an
# address (AH01630) at level error: expected here, on these Locations only.
expect_error_log(qr{AH01631: user \S+: authorization failure for "/(?:rs|api|files|admin)/},
                 qr{AH01630: client denied by server configuration: \S*/t/htdocs/rs/ok\.txt});

# --- helpers ---------------------------------------------------------------------------

# is_answer($res, $status, $error, $name, scope => '...'): one ok() for an RFC 6750
# answer: the status, and the challenge: for 401/403 a Bearer challenge with realm
# "api" whose error is $error (undef: no error attribute at all); for 200 none at all.
sub is_answer {
    my ($res, $status, $error, $name, %o) = @_;
    my @why;
    push @why, "status $res->{status}, want $status" unless ($res->{status} // 0) == $status;
    my $wa = challenge($res);
    if ($status == 200) {
        push @why, "a 200 with WWW-Authenticate: $wa" if length $wa;
    }
    elsif ($status == 401 || ($status == 403 && defined $error)) {
        my $p = challenge_params($wa);
        push @why, "WWW-Authenticate '$wa' is no Bearer challenge"
            unless ($p->{scheme} // '') eq 'Bearer';
        push @why, "realm '" . ($p->{realm} // '(none)') . "', want api"
            unless ($p->{realm} // '') eq 'api';
        if (defined $error) {
            push @why, "error '" . ($p->{error} // '(none)') . "', want $error"
                unless ($p->{error} // '') eq $error;
        }
        elsif (exists $p->{error}) {
            push @why, "an error attribute '$p->{error}' where none belongs";
        }
        if (exists $o{scope}) {
            push @why, "scope '" . ($p->{scope} // '(none)') . "', want '$o{scope}'"
                unless ($p->{scope} // '') eq $o{scope};
        }
    }
    my $ok = ok(!@why, $name);
    diag(join('; ', @why) . "\nbody: " . substr($res->{body} // '', 0, 300)) unless $ok;
    return $ok;
}

sub env_of {      # the rs_env.cgi output -> {NAME => value}
    my ($res) = @_;
    my %env;
    for (split /\n/, $res->{body} // '') {
        $env{$1} = $2 if /^([^=]+)=(.*)$/;
    }
    return \%env;
}

sub is_4xx {
    my ($res, $name) = @_;
    my $s = $res->{status} // 0;
    ok($s >= 400 && $s < 500, "$name: a 4xx ($s)")
        or diag(substr($res->{raw} // $res->{body} // '', 0, 400));
}

sub raw_get {     # a raw HTTP/1.1 GET over TLS with the given header lines
    my ($path, @lines) = @_;
    return raw_request("GET $path HTTP/1.1\r\nHost: localhost\r\n"
                       . join('', map { "$_\r\n" } @lines) . "Connection: close\r\n\r\n");
}

# --- tokens ----------------------------------------------------------------------------

my $log_mark = error_log_mark();
my $cc       = token_of(cc_token('m2m'));                         # read write admin
my $cc_read  = token_of(cc_token('m2m', scope => 'read'));
my $cc_write = token_of(cc_token('m2m', scope => 'write'));
my $forever  = token_of(cc_token('forever'));                     # never expires
my $alice_res = password_token('webapp', 'alice', 'wonderland');  # read write
my $alice    = token_of($alice_res);
my $alice_read = token_of(password_token('webapp', 'alice', 'wonderland', scope => 'read'));
my $bob      = token_of(password_token('webapp', 'bob', 'builder'));
# shortlived's token lives 2 s (expiry in whole seconds: 1 to 2 s after the issue). It is
# checked right after the issue; a check that came a second or more later (a loaded
# machine) proves nothing either way and is made again with a new token.
my ($short, $t0, $fresh);
for (1 .. 5) {
    $t0 = time;
    $short = token_of(cc_token('shortlived'));
    $fresh = bearer('/rs/valid/ok.txt', $short);
    last if time - $t0 < 1;
}
ok($short && $cc && $cc_read && $cc_write && $forever && $alice && $alice_read && $bob,
   'tokens issued');

is_answer($fresh, 200, undef, 'short-lived token: accepted while fresh');

# --- RFC 6750 section 3: the answers ---------------------------------------------------

my $r = bearer('/rs/scope/ok.txt', undef);
is_answer($r, 401, undef, 'no token: 401, Bearer realm="api", no error');
ok t_cmp(challenge($r), 'Bearer realm="api"', 'no token: the challenge is exactly that');

$r = bearer('/rs/scope/ok.txt', 'AAAAbogusbogusbogusbogusbogus_-');
is_answer($r, 401, 'invalid_token', 'unknown token: 401 invalid_token');
ok t_cmp(challenge_params(challenge($r))->{scope}, undef, 'invalid_token: no scope attribute');

$r = bearer('/rs/scope/ok.txt', $cc_read);
is_answer($r, 403, 'insufficient_scope', 'scope read where write or admin is needed: 403',
          scope => 'write admin');

$r = bearer('/rs/scope/ok.txt', $cc_write);
is_answer($r, 200, undef, 'oauth-scope write admin: write is enough');
ok t_cmp($r->{body}, qr/^rs ok/, 'the static file');
is_answer(bearer('/rs/scope/ok.txt', $cc), 200, undef, 'oauth-scope: a token with all scopes');

$r = bearer('/rs/scope401/ok.txt', $cc_read);
is_answer($r, 401, 'insufficient_scope',
          'without AuthzSendForbiddenOnFailure: 401 insufficient_scope', scope => 'write admin');
is_answer(bearer('/rs/scope401/ok.txt', $cc_write), 200, undef, '... and 200 with write');
is_answer(bearer('/rs/scope401/ok.txt', undef), 401, undef, '... and 401 without a token');

# --- oauth-scope-path ------------------------------------------------------------------

is_answer(bearer('/api/read/x.txt', $alice_read), 200, undef, 'scope-path: /api/read/x.txt with read');
is_answer(bearer('/files/read/f.txt', $alice_read), 200, undef, 'scope-path: /files/read/f.txt with read');
$r = bearer('/api/read/', $alice_read);
is_answer($r, 200, undef, 'scope-path: /api/read/ (directory index, a subrequest) with read');
ok t_cmp($r->{body}, qr/api read index/, '... the index page');
is_answer(bearer('/api/readx/y.txt', $alice_read), 403, 'insufficient_scope',
          'scope-path: /api/readx is not under /api/read');
is_answer(bearer('/api/write/y.txt', $alice_read), 403, 'insufficient_scope',
          'scope-path: /api/write/y.txt needs write', scope => 'write');
is_answer(bearer('/admin/a.txt', $alice_read), 403, 'insufficient_scope',
          'scope-path: /admin needs admin', scope => 'admin');
is_answer(bearer('/api/write/y.txt', $alice), 200, undef, 'scope-path: read write token on /api/write');
is_answer(bearer('/admin/a.txt', $cc), 200, undef, 'scope-path: admin token on /admin');
is_answer(bearer('/api/read/x.txt', $cc_write), 403, 'insufficient_scope',
          'scope-path: a write token on /api/read', scope => 'read');
is_answer(bearer('/api/readx/y.txt', $cc), 403, 'insufficient_scope',
          'scope-path: no scope covers /api/readx, not even all of them');
is_answer(bearer('/api/read/x.txt', undef), 401, undef, 'scope-path: no token: 401');
is_answer(bearer('/api/read/x.txt', 'AAAAbogusbogusbogusbogusbogus'), 401, 'invalid_token',
          'scope-path: unknown token: 401 invalid_token');
# the path that is checked is the one httpd serves: dot segments and %-escapes resolved
$r = raw_get('/api/read/../write/y.txt', "Authorization: Bearer $alice_read");
ok t_cmp($r->{status}, 403, 'scope-path: /api/read/../write/y.txt with read: 403');
$r = raw_get('/api/read/%2e%2e/write/y.txt', "Authorization: Bearer $alice_read");
ok t_cmp($r->{status}, 403, 'scope-path: /api/read/%2e%2e/write/y.txt with read: 403');
$r = raw_get('/api/rea%64/x.txt', "Authorization: Bearer $alice_read");
ok t_cmp($r->{status}, 200, 'scope-path: /api/rea%64/x.txt is /api/read/x.txt');
$r = raw_get('//api//read//x.txt', "Authorization: Bearer $cc_write");
ok t_cmp($r->{status}, 403, 'scope-path: //api//read//x.txt is /api/read/x.txt (write: 403)');

# --- valid-user ------------------------------------------------------------------------

is_answer(bearer('/rs/valid/ok.txt', $cc_read), 200, undef, 'valid-user: a client-credentials token');
is_answer(bearer('/rs/valid/ok.txt', $alice), 200, undef, 'valid-user: a password-grant token');
is_answer(bearer('/rs/valid/ok.txt', $forever), 200, undef, 'valid-user: a token that never expires');
is_answer(bearer('/rs/valid/ok.txt', undef), 401, undef, 'valid-user: no token: 401');
is_answer(bearer('/rs/valid/ok.txt', 'AAAAbogusbogusbogusbogusbogus'), 401, 'invalid_token',
          'valid-user: unknown token: 401 invalid_token');
my $refresh = $alice_res->{json} && $alice_res->{json}{refresh_token};
ok $refresh, 'the password grant gave a refresh token';
is_answer(bearer('/rs/valid/ok.txt', $refresh), 401, 'invalid_token',
          'a refresh token is no access token');

# --- <RequireAll> oauth-scope + user ----------------------------------------------------

is_answer(bearer('/rs/all-user/ok.txt', $alice_read), 200, undef, 'RequireAll scope+user: alice with read');
$r = bearer('/rs/all-user/ok.txt', $bob);
ok t_cmp($r->{status}, 403, 'RequireAll scope+user: bob with read: 403');
is_answer(bearer('/rs/all-user/ok.txt', $cc_write), 403, 'insufficient_scope',
          'RequireAll scope+user: m2m with write only: 403 insufficient_scope', scope => 'read');
is_answer(bearer('/rs/all-user/ok.txt', undef), 401, undef, 'RequireAll scope+user: no token: 401');

# --- <RequireAny> oauth-scope + user: the outvoted challenge must not leak --------------

$r = bearer('/rs/any-user/ok.txt', $alice);
is_answer($r, 200, undef, 'RequireAny scope|user: alice without admin passes, no challenge in the 200');
is_answer(bearer('/rs/any-user/ok.txt', $bob), 403, 'insufficient_scope',
          'RequireAny scope|user: bob without admin: 403', scope => 'admin');
is_answer(bearer('/rs/any-user/ok.txt', $cc), 200, undef, 'RequireAny scope|user: m2m with admin');

# --- <RequireAny> oauth-scope + Require ip (ours) --------------------------------------

is_answer(bearer('/rs/any-ip/ok.txt', undef), 200, undef,
          'RequireAny scope|ip 127.0.0.1: no token needed from loopback, no challenge');
is_answer(bearer('/rs/any-ip/ok.txt', $alice_read), 200, undef,
          'RequireAny scope|ip: a token without admin changes nothing');
is_answer(bearer('/rs/any-ip/ok.txt', 'AAAAbogusbogusbogusbogusbogus'), 200, undef,
          'RequireAny scope|ip: Require ip grants before any token is looked at');

# --- <RequireAny> Require ip (not ours) + oauth-scope ----------------------------------

is_answer(bearer('/rs/any-otherip/ok.txt', undef), 401, undef, 'RequireAny ip 10.0.0.1|scope: no token: 401');
is_answer(bearer('/rs/any-otherip/ok.txt', $alice_read), 200, undef, 'RequireAny ip 10.0.0.1|scope: read: 200');
is_answer(bearer('/rs/any-otherip/ok.txt', $cc_write), 403, 'insufficient_scope',
          'RequireAny ip 10.0.0.1|scope: write only: 403', scope => 'read');

# --- <RequireAll> Require ip (not ours) + oauth-scope -----------------------------------

ok t_cmp(bearer('/rs/all-ip/ok.txt', $alice_read)->{status}, 403,
         'RequireAll ip 10.0.0.1 + scope: 403 even with the scope');
ok t_cmp(bearer('/rs/all-ip/ok.txt', $cc)->{status}, 403, 'RequireAll ip 10.0.0.1 + scope: 403 with every scope');
ok t_cmp(bearer('/rs/all-ip/ok.txt', undef)->{status}, 403, 'RequireAll ip 10.0.0.1 + scope: 403 without a token');

# --- <RequireAll> valid-user + Require not oauth-scope ------------------------------------

is_answer(bearer('/rs/not-admin/ok.txt', $alice), 200, undef,
          'Require not oauth-scope admin: a token without admin passes, no challenge in the 200');
ok t_cmp(bearer('/rs/not-admin/ok.txt', $cc)->{status}, 403, '... a token with admin: 403');
is_answer(bearer('/rs/not-admin/ok.txt', undef), 401, undef, '... no token: 401');

# --- the realm is quoted properly -----------------------------------------------------------

$r = bearer('/rs/realm/ok.txt', $cc_read);
ok t_cmp($r->{status}, 401, 'AuthName with quotes: 401');
my $p = challenge_params(challenge($r));
ok t_cmp($p->{realm}, 'the "quoted" realm', '... the realm comes back whole (quotes escaped)');
ok t_cmp($p->{error}, 'insufficient_scope', '... and the attributes after it are intact');
ok t_cmp($p->{scope}, 'admin', '... scope="admin"');

# --- CGI: REMOTE_USER and OAUTH_* -------------------------------------------------------

my $intro_alice = introspect($alice);
$r = bearer('/rs/cgi/env', $alice);
is_answer($r, 200, undef, 'CGI with a password-grant token');
my $env = env_of($r);
ok t_cmp($env->{REMOTE_USER}, 'alice', 'CGI: REMOTE_USER is the resource owner');
ok t_cmp($env->{AUTH_TYPE}, 'Bearer', 'CGI: AUTH_TYPE Bearer');
ok t_cmp($env->{OAUTH_CLIENT_ID}, 'webapp', 'CGI: OAUTH_CLIENT_ID');
ok t_cmp($env->{OAUTH_SCOPE}, 'read write', 'CGI: OAUTH_SCOPE');
ok t_cmp($env->{OAUTH_EXPIRES}, $intro_alice->{exp}, 'CGI: OAUTH_EXPIRES is the token exp');
ok abs(($env->{OAUTH_EXPIRES} // 0) - (time + 3600)) < 120, 'CGI: OAUTH_EXPIRES about an hour ahead'
    or diag "OAUTH_EXPIRES " . ($env->{OAUTH_EXPIRES} // 'undef');
ok !(grep { index($_, $alice) >= 0 } values %$env), 'CGI: the token itself is not in the environment';

$env = env_of(bearer('/rs/cgi/env', $cc));
ok t_cmp($env->{REMOTE_USER}, 'm2m', 'CGI, client credentials: REMOTE_USER is the client');
ok t_cmp($env->{OAUTH_CLIENT_ID}, 'm2m', 'CGI, client credentials: OAUTH_CLIENT_ID');
ok t_cmp($env->{OAUTH_SCOPE}, 'read write admin', 'CGI, client credentials: OAUTH_SCOPE');
ok t_cmp($env->{OAUTH_EXPIRES}, qr/^\d{10,}$/, 'CGI, client credentials: OAUTH_EXPIRES a time');

$r = bearer('/rs/cgi/env', $forever);
$env = env_of($r);
ok t_cmp($env->{REMOTE_USER}, 'forever', 'CGI, a token that never expires: REMOTE_USER');
ok t_cmp($env->{OAUTH_EXPIRES}, '0', 'CGI, a token that never expires: OAUTH_EXPIRES 0');

is_answer(bearer('/rs/cgi/env', $cc_write), 403, 'insufficient_scope', 'CGI: a write token: 403',
          scope => 'read');
$r = bearer('/rs/cgi/env', undef);
is_answer($r, 401, undef, 'CGI: no token: 401');
ok $r->{body} !~ /REMOTE_ADDR=/, 'CGI: the script did not run';
$r = request('POST', '/rs/cgi/env', form => { access_token => $alice });
is_answer($r, 401, undef, 'CGI: a token in a POST body is not taken (Authorization header only)');

# --- ProxyPass: the back end gets the user in headers -----------------------------------

$r = bearer('/rs/proxy/env', $alice, headers => ['X-Remote-User' => 'mallory']);
is_answer($r, 200, undef, 'ProxyPass front with a password-grant token');
$env = env_of($r);
ok t_cmp($env->{SCRIPT_NAME}, '/rs/backend/env', 'the back end answered');
ok t_cmp($env->{HTTP_X_REMOTE_USER}, 'alice',
         'back end: X-Remote-User (RequestHeader set ... expr=%{REMOTE_USER}), not the client\'s own');
ok t_cmp($env->{HTTP_X_REMOTE_USER_ENV}, 'alice', 'back end: X-Remote-User-Env (%{REMOTE_USER}e)');
ok t_cmp($env->{HTTP_X_OAUTH_CLIENT_ID}, 'webapp', 'back end: X-OAuth-Client-Id (%{OAUTH_CLIENT_ID}e)');
ok t_cmp($env->{HTTP_X_OAUTH_SCOPE}, 'read write', 'back end: X-OAuth-Scope');
ok t_cmp($env->{HTTP_X_OAUTH_EXPIRES}, $intro_alice->{exp}, 'back end: X-OAuth-Expires');

$env = env_of(bearer('/rs/proxy/env', $cc_read));
ok t_cmp($env->{HTTP_X_REMOTE_USER}, 'm2m', 'back end, client credentials: X-Remote-User is the client');
ok t_cmp($env->{HTTP_X_OAUTH_SCOPE}, 'read', 'back end, client credentials: X-OAuth-Scope');
$r = bearer('/rs/proxy/env', undef, headers => ['X-Remote-User' => 'alice']);
is_answer($r, 401, undef, 'ProxyPass front: no token: 401');
ok $r->{body} !~ /SCRIPT_NAME=/, '... and the back end was not reached';
is_answer(bearer('/rs/proxy/env', $cc_write), 403, 'insufficient_scope',
          'ProxyPass front: a write token: 403', scope => 'read');

# --- a token in the query string ---------------------------------------------------------

$r = get('/rs/valid/ok.txt?access_token=' . $cc_read);
ok t_cmp($r->{status}, 400, 'a valid token in the query string: 400');
ok t_cmp(challenge_params(challenge($r))->{error}, 'invalid_request', '... error="invalid_request"');
$r = bearer('/rs/valid/ok.txt?access_token=' . $cc_read, $cc_read);
ok t_cmp($r->{status}, 400, 'a token in the header and in the query string: 400');
$r = bearer('/rs/valid/ok.txt?a=1&access_token=' . $cc_read . '&b=2', undef);
ok t_cmp($r->{status}, 400, 'access_token among other parameters: 400');
$r = bearer('/rs/cgi/env?access_token=' . $alice, undef);
ok t_cmp($r->{status}, 400, 'a token in the query string of the CGI: 400');
ok $r->{body} !~ /REMOTE_ADDR=/, '... and the script did not run';
is_answer(bearer('/rs/valid/ok.txt?x=access_token', $cc_read), 200, undef,
          'access_token as a value, not a name: the header token counts');

# --- malformed Authorization headers: a clear 4xx, never a 5xx ---------------------------

my $basic = 'Basic ' . MIME::Base64::encode_base64('m2m:m2m-secret', '');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => $basic]);
is_answer($r, 401, undef, 'Authorization: Basic: 401 with a Bearer challenge');
$r = bearer('/rs/valid/ok.txt', undef,
            headers => [Authorization => 'Digest username="m2m", realm="api", nonce="x", uri="/", response="y"']);
is_answer($r, 401, undef, 'Authorization: Digest: 401 with a Bearer challenge');
$r = raw_get('/rs/valid/ok.txt', 'Authorization: ');
is_4xx($r, 'Authorization: (empty)');
$r = raw_get('/rs/valid/ok.txt', 'Authorization: Bearer');
is_4xx($r, 'Authorization: Bearer (alone)');
ok $r->{status} != 200, '... not accepted';
$r = raw_get('/rs/valid/ok.txt', 'Authorization: Bearer   ');
is_4xx($r, 'Authorization: Bearer and spaces');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => 'Bearer  two words']);
is_answer($r, 401, 'invalid_token', 'Authorization: Bearer  two words: 401 invalid_token');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => "Bearer $cc_read extra"]);
is_answer($r, 401, 'invalid_token', 'a valid token followed by a second word: refused');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => "Bearer $cc_read,"]);
is_answer($r, 401, 'invalid_token', 'a valid token followed by a comma: refused');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer $cc_read", "Authorization: Bearer $cc_read");
is_4xx($r, 'two Authorization headers');
is_answer(bearer('/rs/valid/ok.txt', undef, headers => [Authorization => "bearer $cc_read"]), 200, undef,
          'the scheme name is case-insensitive (RFC 7235): "bearer" works');
is_answer(bearer('/rs/valid/ok.txt', undef, headers => [Authorization => "BEARER $cc_read"]), 200, undef,
          '... "BEARER" too');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => 'Bearer ' . ('A' x 4000)]);
is_answer($r, 401, 'invalid_token', 'a 4000-byte token: 401 invalid_token');
$r = bearer('/rs/valid/ok.txt', undef, headers => [Authorization => 'Bearer ' . ('A' x 10240)]);
is_4xx($r, 'a 10 KB Authorization header');
$r = raw_get('/rs/valid/ok.txt', 'Authorization: Bearer ' . ('B' x 10240));
is_4xx($r, 'a 10 KB Authorization header (raw)');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer \xff\xfe\x80\x81abc");
is_4xx($r, 'non-ASCII bytes in the token');
ok t_cmp($r->{status}, 401, '... 401');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer t\xc3\xb6k\xe2\x82\xacn");
is_4xx($r, 'UTF-8 in the token');
$r = raw_get('/rs/valid/ok.txt', "Authorization: \xc3\x9fearer abc");
is_4xx($r, 'non-ASCII bytes in the scheme');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer abc\x01def");
is_4xx($r, 'a control character in the token');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer " . substr($cc_read, 0, -1) . "\x00");
is_4xx($r, 'a NUL byte in the token');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer =abc");
is_4xx($r, 'a token that starts with "="');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer \"$cc_read\"");
is_4xx($r, 'a quoted token');
$r = raw_get('/rs/valid/ok.txt', "Authorization: Bearer\t$cc_read");
is_4xx($r, 'a tab instead of the space');
$r = raw_get('/rs/scope/ok.txt', "Authorization: Bearer \xff\xfe");
is_4xx($r, 'non-ASCII bytes on an oauth-scope Location');
$r = raw_get('/api/read/x.txt', "Authorization: Bearer \xff\xfe");
is_4xx($r, 'non-ASCII bytes on an oauth-scope-path Location');

# --- a revoked token ----------------------------------------------------------------------

my $to_revoke = token_of(password_token('webapp', 'alice', 'wonderland'));
is_answer(bearer('/rs/valid/ok.txt', $to_revoke), 200, undef, 'before revocation: 200');
ok t_cmp(revoke('webapp', $to_revoke)->{status}, 200, 'revoked at /oauth/revoke');
is_answer(bearer('/rs/valid/ok.txt', $to_revoke), 401, 'invalid_token', 'revoked password-grant token: 401 invalid_token');
is_answer(bearer('/rs/cgi/env', $to_revoke), 401, 'invalid_token', '... on the CGI too');
my $cc_revoke = token_of(cc_token('m2m', scope => 'read'));
is_answer(bearer('/rs/proxy/env', $cc_revoke), 200, undef, 'client-credentials token before revocation: 200');
ok t_cmp(revoke('m2m', $cc_revoke)->{status}, 200, 'revoked');
is_answer(bearer('/rs/proxy/env', $cc_revoke), 401, 'invalid_token', 'revoked client-credentials token: 401 invalid_token');

# --- a disabled client ----------------------------------------------------------------------

is_answer(bearer('/rs/valid/ok.txt', $cc), 200, undef, 'm2m token before m2m is disabled: 200');
ok set_client_enabled(m2m => 0), 'clients.json with m2m disabled, graceful restart';
is_answer(bearer('/rs/valid/ok.txt', $cc), 401, 'invalid_token', 'disabled client: its token gets 401 invalid_token');
is_answer(bearer('/rs/cgi/env', $cc), 401, 'invalid_token', '... on the CGI');
is_answer(bearer('/rs/proxy/env', $cc), 401, 'invalid_token', '... on the proxy');
is_answer(bearer('/admin/a.txt', $cc), 401, 'invalid_token', '... on a scope-path Location');
$r = introspect_raw($cc);
ok t_cmp($r->{body}, '{"active":false}', 'disabled client: its token introspects exactly {"active":false}');
ok t_cmp(cc_token('m2m')->{status}, 401, 'disabled client: no new token');
is_answer(bearer('/rs/valid/ok.txt', $alice), 200, undef, 'tokens of other clients still work');
ok restore_registry(), 'clients.json restored, graceful restart';
is_answer(bearer('/rs/valid/ok.txt', token_of(cc_token('m2m'))), 200, undef,
          'm2m enabled again: a new token works');

# --- an expired token (shortlived: 2 s) ------------------------------------------------------

my $wait = $t0 + 3.5 - time;
sleep $wait if $wait > 0;
is_answer(bearer('/rs/valid/ok.txt', $short), 401, 'invalid_token', 'expired token: 401 invalid_token');
is_answer(bearer('/rs/cgi/env', $short), 401, 'invalid_token', 'expired token on the CGI: 401 invalid_token');
ok t_cmp(introspect_raw($short)->{body}, '{"active":false}', 'expired token: introspects inactive');

# --- SPEC section 9: no token in the error log (LogLevel oauth_as:debug) ---------------------

my @tokens = grep { defined && length } ($short, $cc, $cc_read, $cc_write, $forever, $alice,
                                         $alice_read, $bob, $refresh, $to_revoke, $cc_revoke);
my $logged = error_log_since($log_mark);
my @found = grep { index($logged, $_) >= 0 } @tokens;
ok !@found, 'none of the ' . scalar(@tokens) . ' tokens used here is in the error log'
    or diag scalar(@found) . ' found';
