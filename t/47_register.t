# Clients that register themselves (SPEC section 12): RFC 7591 registration on
# oauth-as-register, RFC 7592 management on registration_client_uri, the clients in
# the store (a code flow, the approval page, another issuer, restarts), the limits,
# the metadata field, and oauth4webapi (t/clients/register.mjs) as an independent
# registrar.
# Virtual hosts: t/conf/register.conf.in
#   oas_reg     open registration, scopes read write, grants code/refresh/cc
#   oas_reglim  OAuthASRegistrationLimit 2
#   oas_regrl   3 registrations per address lock it for 10 s
#   oas_regtok  an initial access token (AuthType Bearer, Require oauth-scope admin)
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use Digest::SHA qw(sha256);
use FindBin ();
use File::Spec ();
use File::Path ();
use OAS::MultiNode;

plan tests => 129, need_module('ssl'), need_module('oauth_as');

my $RP = Apache::Test::vars('oas_reg_port');
my $LP = Apache::Test::vars('oas_reglim_port');
my $XP = Apache::Test::vars('oas_regrl_port');
my $TP = Apache::Test::vars('oas_regtok_port');
my $ISS = "https://localhost:$RP";
my $JSON = JSON::PP->new->canonical;
my $LOOP = 'http://127.0.0.1:8000/cb';

sub register {   # register(\%meta or raw string, %opt) -> response
    my ($meta, %opt) = @_;
    my $port = delete $opt{port} || $RP;
    my $body = ref $meta ? $JSON->encode($meta) : $meta;
    return request('POST', '/oauth/register', port => $port, body => $body,
                   content_type => delete $opt{content_type} || 'application/json', %opt);
}

sub manage {     # manage(METHOD, $reg (the 201 answer), token, body) -> response
    my ($method, $reg, $token, $body, %opt) = @_;
    my ($path) = ($reg->{registration_client_uri} // '') =~ m{^https://[^/]+(/.*)$};
    $path //= '/oauth/register/' . ($reg->{client_id} // 'none');
    my @h = defined $token ? (headers => [Authorization => "Bearer $token"]) : ();
    return request($method, $path, port => $opt{port} || $RP, @h,
                   (defined $body ? (body => $JSON->encode($body),
                                     content_type => 'application/json') : ()));
}

sub reg_error {  # one ok(): 400/401 status, RFC 7591 error code, no-store
    my ($res, $status, $code, $name) = @_;
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == $status;
    my $got = ref $res->{json} eq 'HASH' ? $res->{json}{error} // '(none)' : '(no JSON)';
    push @why, "error $got" unless $got eq $code;
    push @why, 'no Cache-Control: no-store'
        unless ($res->{headers}->header('Cache-Control') // '') =~ /no-store/;
    ok(!@why, $name) or diag(join('; ', @why) . "\nbody: $res->{body}");
}

sub count_here { (oas_status(port => $_[0] || $RP)->{self_registered_clients}) // -1 }

# ---- metadata --------------------------------------------------------------------------

my $md = get('/.well-known/oauth-authorization-server', port => $RP)->{json} || {};
ok(t_cmp($md->{registration_endpoint}, "$ISS/oauth/register",
         'metadata: registration_endpoint is the mapped URL'));
my $main = get('/.well-known/oauth-authorization-server')->{json} || {};
ok(!exists $main->{registration_endpoint},
   'metadata: no registration_endpoint where oauth-as-register is not mapped');

# ---- RFC 7591: registering -------------------------------------------------------------

my $mark = error_log_mark();
my $before = count_here();
my $r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none',
                   client_name => 'Test App', scope => 'read', contacts => ['ops@example.org'],
                   client_uri => 'https://app.example/', software_id => 'sw-1',
                   software_version => '1.0', unknown_field => 'ignored' });
ok(t_cmp($r->{status}, 201, 'a public client registers: 201')) or diag $r->{body};
my $pub = $r->{json} || {};
ok(($r->{headers}->header('Cache-Control') // '') =~ /no-store/, '... with no-store');
ok($pub->{client_id} && $pub->{client_id} =~ /^[A-Za-z0-9_-]{20,}$/, '... a random client_id');
ok(abs(($pub->{client_id_issued_at} // 0) - time) < 60, '... client_id_issued_at is now');
ok(!exists $pub->{client_secret}, '... no client_secret for a none client');
ok($pub->{registration_access_token}, '... a registration_access_token');
ok(t_cmp($pub->{registration_client_uri}, "$ISS/oauth/register/$pub->{client_id}",
         '... registration_client_uri is the endpoint URL / client_id'));
ok(t_cmp($pub->{token_endpoint_auth_method}, 'none', '... token_endpoint_auth_method none'));
is_deeply($pub->{grant_types}, ['authorization_code'], '... default grant_types');
is_deeply($pub->{response_types}, ['code'], '... response_types code');
is_deeply($pub->{redirect_uris}, [$LOOP], '... the redirect URIs');
ok(t_cmp($pub->{scope}, 'read', '... the scope asked for'));
ok(t_cmp($pub->{client_name}, 'Test App', '... client_name'));
is_deeply($pub->{contacts}, ['ops@example.org'], '... contacts');
ok(!exists $pub->{unknown_field}, '... unknown fields are ignored');
ok(t_cmp(count_here(), $before + 1, 'status: self_registered_clients counts it'));
ok(wait_for_log(qr/OAS08302\b.*'\Q$pub->{client_id}\E' registered \(name 'Test App', redirect host 127\.0\.0\.1\) from 127\.0\.0\.1/, $mark),
   'the registration is logged (info: client_id, name, redirect host, address)');
ok(index(error_log_since($mark), $pub->{registration_access_token}) < 0,
   '... and the registration access token is not');

$r = register({ redirect_uris => ['https://app.example/cb'], client_name => 'Conf App',
                grant_types => ['authorization_code', 'refresh_token', 'client_credentials'],
                scope => 'read write' });
ok(t_cmp($r->{status}, 201, 'a confidential client registers (client_secret_basic by default)'))
    or diag $r->{body};
my $conf = $r->{json} || {};
ok(t_cmp($conf->{token_endpoint_auth_method}, 'client_secret_basic',
         '... token_endpoint_auth_method client_secret_basic'));
ok($conf->{client_secret} && length $conf->{client_secret} >= 32, '... a client_secret');
ok(defined $conf->{client_secret_expires_at} && $conf->{client_secret_expires_at} == 0,
   '... client_secret_expires_at 0');
is_deeply($conf->{grant_types}, ['authorization_code', 'refresh_token', 'client_credentials'],
          '... the grants asked for');

$r = register({ redirect_uris => ['com.example.app:/cb'], token_endpoint_auth_method => 'none' });
ok(t_cmp($r->{status}, 201, 'a private-use scheme for a none client (RFC 8252): 201'));
my $native = $r->{json} || {};
$r = register({ redirect_uris => ['http://[::1]:9/cb'], token_endpoint_auth_method => 'none',
                scope => 'read' });
ok(t_cmp($r->{status}, 201, 'http on [::1] (loopback, RFC 8252): 201'));
$r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' });
ok(t_cmp(($r->{json} || {})->{scope}, 'read write',
         'no scope asked for: every scope OAuthASRegistrationScopes allows (not admin)'));

# ---- RFC 7591 section 3.2.2: errors ----------------------------------------------------

$before = count_here();
my @bad = (
    [invalid_redirect_uri => 'http on a public host',
     { redirect_uris => ['http://app.example/cb'] }],
    [invalid_redirect_uri => 'a fragment',
     { redirect_uris => ['https://app.example/cb#x'] }],
    [invalid_redirect_uri => 'no redirect URI for a code client', { client_name => 'x' }],
    [invalid_redirect_uri => 'an empty list for a code client', { redirect_uris => [] }],
    [invalid_redirect_uri => 'a private-use scheme for a secret client',
     { redirect_uris => ['com.example.app:/cb'] }],
    [invalid_redirect_uri => 'redirect_uris not an array', { redirect_uris => $LOOP }],
    [invalid_redirect_uri => 'a javascript: URI',
     { redirect_uris => ['javascript:alert(1)'], token_endpoint_auth_method => 'none' }],
    [invalid_client_metadata => 'the password grant',
     { redirect_uris => [$LOOP], grant_types => ['password'] }],
    [invalid_client_metadata => 'the implicit grant',
     { redirect_uris => [$LOOP], grant_types => ['implicit'] }],
    [invalid_client_metadata => 'an unknown grant',
     { redirect_uris => [$LOOP], grant_types => ['magic'] }],
    [invalid_client_metadata => 'client_credentials for a none client',
     { grant_types => ['client_credentials'], token_endpoint_auth_method => 'none' }],
    [invalid_client_metadata => 'a scope beyond OAuthASRegistrationScopes',
     { redirect_uris => [$LOOP], scope => 'read admin' }],
    [invalid_client_metadata => 'an undefined scope',
     { redirect_uris => [$LOOP], scope => 'nosuch' }],
    [invalid_client_metadata => 'client_name of a bad type',
     { redirect_uris => [$LOOP], client_name => 5 }],
    [invalid_client_metadata => 'grant_types of a bad type',
     { redirect_uris => [$LOOP], grant_types => 'authorization_code' }],
    [invalid_client_metadata => 'logo_uri not a URL',
     { redirect_uris => [$LOOP], logo_uri => 'javascript:x' }],
    [invalid_client_metadata => 'response_types token',
     { redirect_uris => [$LOOP], response_types => ['token'] }],
    [invalid_client_metadata => 'private_key_jwt (not supported by the registry)',
     { redirect_uris => [$LOOP], token_endpoint_auth_method => 'private_key_jwt',
       jwks => { keys => [] } }],
    [invalid_client_metadata => 'client_secret_post (the token endpoint takes Basic only)',
     { redirect_uris => [$LOOP], token_endpoint_auth_method => 'client_secret_post' }],
    [invalid_client_metadata => 'a body that is a JSON array', '[]'],
    [invalid_client_metadata => 'a body that is a JSON string', '"x"'],
    [invalid_client_metadata => 'a body that is not JSON', '{"redirect_uris":'],
    [invalid_client_metadata => 'metadata too large for a store entry',
     { redirect_uris => [map { "https://app.example/cb/" . ('x' x 200) . $_ } 1 .. 5] }],
);
for my $b (@bad) {
    my ($code, $name, $meta) = @$b;
    reg_error(register($meta), 400, $code, "400 $code: $name");
}
reg_error(register({ redirect_uris => [$LOOP] }, content_type => 'application/x-www-form-urlencoded'),
          400, 'invalid_client_metadata', '400 invalid_client_metadata: not application/json');
ok(t_cmp(count_here(), $before, 'no refused registration stored anything'));
$r = request('GET', '/oauth/register', port => $RP);
ok(t_cmp($r->{status}, 405, 'GET on the registration endpoint: 405'));

# ---- RFC 7592: read, update, delete ----------------------------------------------------

$r = manage('GET', $pub, $pub->{registration_access_token});
ok(t_cmp($r->{status}, 200, 'RFC 7592 GET with the registration access token: 200'));
ok(t_cmp(($r->{json} || {})->{client_name}, 'Test App', '... the registered metadata'));
ok(t_cmp(($r->{json} || {})->{client_id}, $pub->{client_id}, '... and its client_id'));
ok(($r->{headers}->header('Cache-Control') // '') =~ /no-store/, '... no-store');
$r = manage('GET', $pub, undef);
reg_error($r, 401, 'invalid_token', 'GET without a token: 401 invalid_token');
ok(($r->{headers}->header('WWW-Authenticate') // '') =~ /^Bearer/, '... WWW-Authenticate: Bearer');
reg_error(manage('GET', $pub, 'wrong'), 401, 'invalid_token', 'GET with a wrong token: 401');
reg_error(manage('GET', $pub, $conf->{registration_access_token}), 401, 'invalid_token',
          "GET with another client's token: 401");
reg_error(manage('GET', { client_id => 'webapp' }, $pub->{registration_access_token}), 401,
          'invalid_token', 'a registry client is never managed here: 401');
$r = manage('POST', $pub, $pub->{registration_access_token}, {});
ok(t_cmp($r->{status}, 405, 'POST on a client URL: 405'));

my %upd = (client_id => $pub->{client_id}, redirect_uris => [$LOOP, 'http://localhost:8001/cb'],
           token_endpoint_auth_method => 'none', client_name => 'Renamed App', scope => 'read');
$r = manage('PUT', $pub, $pub->{registration_access_token}, \%upd);
ok(t_cmp($r->{status}, 200, 'PUT replaces the metadata: 200')) or diag $r->{body};
ok(t_cmp(($r->{json} || {})->{client_name}, 'Renamed App', '... the new name'));
ok(!exists(($r->{json} || {})->{contacts}), '... and what it left out is gone (replace)');
reg_error(manage('PUT', $pub, $pub->{registration_access_token}, { %upd, client_id => 'other' }),
          400, 'invalid_client_metadata', 'PUT with another client_id: 400');
reg_error(manage('PUT', $pub, $pub->{registration_access_token},
                 { %upd, redirect_uris => ['http://evil.example/cb'] }),
          400, 'invalid_redirect_uri', 'PUT by the same rules: http on a public host, 400');
reg_error(manage('PUT', $pub, $pub->{registration_access_token}, { %upd, scope => 'admin' }),
          400, 'invalid_client_metadata', 'PUT with a scope beyond the allowed: 400');
reg_error(manage('PUT', $pub, 'wrong', \%upd), 401, 'invalid_token', 'PUT with a wrong token: 401');
$r = manage('GET', $pub, $pub->{registration_access_token});
ok(t_cmp(($r->{json} || {})->{client_name}, 'Renamed App', '... refused PUTs changed nothing'));

# ---- a full code flow with the registered public client --------------------------------

sub code_flow {   # (client_id, redirect_uri, port) -> (approval page, token response)
    my ($cid, $redirect, $port) = @_;
    my $verifier = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
    my $challenge = encode_base64url(sha256($verifier));
    my %q = (response_type => 'code', client_id => $cid, redirect_uri => $redirect,
             state => 'st1', code_challenge => $challenge, code_challenge_method => 'S256',
             scope => 'read');
    my $page = get('/oauth/authorize?' . form_encode(\%q), auth => ['alice', 'wonderland'],
                   port => $port);
    my @f;
    while (($page->{body} // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
        push @f, html_unescape($1), html_unescape($2);
    }
    my $d = post_form('/oauth/authorize', [@f, decision => 'approve'],
                      auth => ['alice', 'wonderland'], port => $port);
    my ($code) = ($d->{headers}->header('Location') // '') =~ /[?&]code=([^&#]+)/;
    my $t = post_form('/oauth/token', [grant_type => 'authorization_code', code => $code // 'x',
                                       redirect_uri => $redirect, client_id => $cid,
                                       code_verifier => $verifier], port => $port);
    return ($page, $t);
}

my ($page, $tok) = code_flow($pub->{client_id}, $LOOP, $RP);
ok(t_cmp($page->{status}, 200, 'code flow: the approval page for the registered client'));
ok(($page->{body} // '') =~ /Renamed App/, '... shows its client_name');
ok(($page->{body} // '') =~ /registered itself/, '... marked as self-registered');
ok(($page->{body} // '') =~ m{class="redirect-host">127\.0\.0\.1<}, '... with its redirect host');
ok(t_cmp($tok->{status}, 200, '... the code is redeemed (PKCE S256, public client)'))
    or diag $tok->{body};
my $at = ($tok->{json} || {})->{access_token} // 'none';
my $api = get('/reg-api', port => $RP, headers => [Authorization => "Bearer $at"]);
ok(t_cmp($api->{status}, 200, '... and its access token opens a page of this issuer'));
$page = get('/oauth/authorize?' . form_encode({ response_type => 'code', client_id => $pub->{client_id},
                                               redirect_uri => $LOOP, code_challenge => 'x' x 43,
                                               code_challenge_method => 'S256' }),
            auth => ['alice', 'wonderland']);
ok(t_cmp($page->{status}, 400, 'another issuer does not know the registered client (400 page)'));
ok(($page->{body} // '') =~ /not known/, '... "The client is not known."');
$page = get('/oauth/authorize?' . form_encode({ response_type => 'code', client_id => 'webapp',
                                               redirect_uri => 'https://app.example/cb',
                                               scope => 'read', state => 's1' }),
            auth => ['alice', 'wonderland'], port => $RP);
ok($page->{status} == 200 && ($page->{body} // '') !~ /registered itself/,
   'a registry client is not marked self-registered')
    or diag "$page->{status}: " . substr($page->{body} // '', 0, 400);

# the confidential client: client_credentials with its secret (HTTP Basic)
$r = token_req([grant_type => 'client_credentials', scope => 'read'],
               auth => [$conf->{client_id}, $conf->{client_secret} // 'x'], port => $RP);
ok(t_cmp($r->{status}, 200, 'the confidential client gets a token with its secret'))
    or diag $r->{body};
my $cc_at = ($r->{json} || {})->{access_token} // 'none';
is_oauth_error(token_req([grant_type => 'client_credentials'],
                         auth => [$conf->{client_id}, 'wrong'], port => $RP),
               401, 'invalid_client', '... a wrong secret: 401 invalid_client');
is_oauth_error(token_req([grant_type => 'client_credentials', scope => 'admin'],
                         auth => [$conf->{client_id}, $conf->{client_secret} // 'x'], port => $RP),
               400, 'invalid_scope', '... a scope it did not register: invalid_scope');

# ---- restarts: the clients are in the store ---------------------------------------------

for my $step ([graceful_restart => \&graceful_restart], [stop_start => \&stop_start],
              [kill9_all_and_start => sub { kill9_all_and_start() }]) {
    my ($name, $do) = @$step;
    ok($do->(), "$name: the server is back");
    $r = manage('GET', $pub, $pub->{registration_access_token});
    ok(t_cmp($r->{status}, 200, "$name: the registered client is still there (RFC 7592 GET)"));
    $r = token_req([grant_type => 'client_credentials', scope => 'read'],
                   auth => [$conf->{client_id}, $conf->{client_secret} // 'x'], port => $RP);
    ok(t_cmp($r->{status}, 200, "$name: the confidential one still gets tokens"));
    $api = get('/reg-api', port => $RP, headers => [Authorization => "Bearer $at"]);
    ok(t_cmp($api->{status}, 200, "$name: a token issued to a registered client still works"));
}

# ---- oauth-as-client list and remove -------------------------------------------------

my $V = Apache::Test::config()->{vars};
my @TOOL = ("$V->{top_dir}/build/oauth-as-client", '-r', "$V->{serverroot}/conf/clients.json",
            (map { (-S => $_) } qw(read write admin)), '-s', "$V->{t_logs}/store/tokens");
sub tool_out { my $cmd = join ' ', map { "'$_'" } @TOOL, @_; my $o = `$cmd 2>&1`; ($?, $o) }
my ($trc, $tout) = tool_out('list');
ok($trc == 0 && $tout =~ /^\Q$pub->{client_id}\E\s+public\s+yes\s+authorization_code\s+read\s+Renamed App \(self-registered, redirect host 127\.0\.0\.1\)$/m,
   'oauth-as-client list: the self-registered client, marked, with its redirect host')
    or diag $tout;
ok($tout =~ /^webapp\s/m, '... besides the registry\'s');
my $gone = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' })->{json} || {};
($trc, $tout) = tool_out('remove', $gone->{client_id} // 'none');
ok($trc == 0 && $tout =~ /Removed the self-registered client/, 'oauth-as-client remove') or diag $tout;
reg_error(manage('GET', $gone, $gone->{registration_access_token}), 401, 'invalid_token',
          '... it is gone at once (RFC 7592 GET: 401)');

# ---- DELETE: the client and its tokens go ----------------------------------------------

reg_error(manage('DELETE', $conf, 'wrong'), 401, 'invalid_token', 'DELETE with a wrong token: 401');
ok(t_cmp(get('/reg-api', port => $RP, headers => [Authorization => "Bearer $cc_at"])->{status},
         200, "the confidential client's token works before DELETE"));
$r = manage('DELETE', $conf, $conf->{registration_access_token});
ok(t_cmp($r->{status}, 204, 'DELETE with the registration access token: 204'));
ok(t_cmp(get('/reg-api', port => $RP, headers => [Authorization => "Bearer $cc_at"])->{status},
         401, '... its tokens are revoked'));
reg_error(manage('GET', $conf, $conf->{registration_access_token}), 401, 'invalid_token',
          '... and GET on it: 401');
is_oauth_error(token_req([grant_type => 'client_credentials'],
                         auth => [$conf->{client_id}, $conf->{client_secret} // 'x'], port => $RP),
               401, 'invalid_client', '... and it cannot authenticate');

# ---- an initial access token (AuthType Bearer on the endpoint's own URL) ----------------

$r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' }, port => $TP);
ok(t_cmp($r->{status}, 401, 'protected registration without a token: 401'));
my $iat = (cc_token('m2m', scope => 'admin', port => $TP)->{json} || {})->{access_token} // 'x';
my $rdt = (cc_token('m2m', scope => 'read', port => $TP)->{json} || {})->{access_token} // 'x';
expect_error_log(qr/AH01631: user m2m: authorization failure for "\/oauth\/register"/);
$r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' }, port => $TP,
              headers => [Authorization => "Bearer $rdt"]);
ok(t_cmp($r->{status}, 401, '... with a token without the admin scope: 401'));
ok(($r->{headers}->header('WWW-Authenticate') // '') =~ /insufficient_scope/,
   '... insufficient_scope');
$r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' }, port => $TP,
              headers => [Authorization => "Bearer $iat"]);
ok(t_cmp($r->{status}, 201, '... with an initial access token (scope admin): 201'));
my $tokc = $r->{json} || {};
$r = manage('GET', $tokc, $tokc->{registration_access_token}, undef, port => $TP);
ok(t_cmp($r->{status}, 200, '... RFC 7592 below it takes the registration access token'));
reg_error(manage('GET', $tokc, $iat, undef, port => $TP), 401, 'invalid_token',
          '... and not the initial access token');

# ---- the limits -------------------------------------------------------------------------

my @lim = map { register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' },
                         port => $LP) } 1 .. 3;
ok(t_cmp($lim[0]{status} . ' ' . $lim[1]{status}, '201 201',
         'OAuthASRegistrationLimit 2: two clients register'));
reg_error($lim[2], 400, 'invalid_client_metadata', '... the third: 400 invalid_client_metadata');
ok((($lim[2]{json} || {})->{error_description} // '') =~ /limit of 2 /,
   '... naming the limit');
$r = manage('DELETE', $lim[0]{json}, ($lim[0]{json} || {})->{registration_access_token}, undef,
            port => $LP);
ok(t_cmp($r->{status}, 204, '... one is deleted'));
$r = register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' }, port => $LP);
ok(t_cmp($r->{status}, 201, '... and there is room for one again'));

expect_error_log(qr/OAS00501\b.*registrations for address \(registrations\)/);
my @rl = map { register({ redirect_uris => [$LOOP], token_endpoint_auth_method => 'none' },
                        port => $XP)->{status} } 1 .. 4;
ok(t_cmp("@rl", '201 201 201 429', '3 registrations from one address, then 429'));

# ---- an independent registrar: oauth4webapi --------------------------------------------

SKIP: {
    my $node = `command -v node 2>/dev/null`;
    skip 'node is not installed', 4 unless $node;
    my $cdir = File::Spec->catdir($FindBin::Bin, 'clients');
    unless (-d "$cdir/node_modules/oauth4webapi") {
        my $out = `cd '$cdir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
        diag "npm ci: $out" if $?;
    }
    skip 'oauth4webapi is not installed (npm ci in t/clients failed)', 4
        unless -d "$cdir/node_modules/oauth4webapi";
    local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
    my $out = `timeout 60 node '$cdir/register.mjs' '$ISS' '$LOOP' 2>&1`;
    my ($line) = $out =~ /^(\{.*\})\s*$/m;
    my $j = eval { JSON::PP->new->decode($line // '') } || {};
    ok($j->{client_id}, 'oauth4webapi: dynamic registration gives a client_id') or diag $out;
    ok(t_cmp($j->{registration_endpoint}, "$ISS/oauth/register",
             '... found through the metadata'));
    ok($j->{client_secret}, '... and a secret for its client_secret_basic client');
    $r = manage('GET', $j, $j->{registration_access_token});
    ok(t_cmp($r->{status}, 200, '... a client we can read back with its token'));
}

# ---- two nodes on Redis: a client registered on A works on B --------------------------

my ($redis_pid, $nodes);
END {
    stop_nodes($nodes) if $nodes;
    stop_daemon($redis_pid) if $redis_pid;
}
SKIP: {
    my $REDIS = find_program('redis-server');
    skip 'redis-server is not installed', 6 unless $REDIS;
    my $DIR = Apache::Test::vars('t_logs') . '/multinode-register';
    my $RPORT = free_port();
    File::Path::remove_tree("$DIR/redis");
    File::Path::make_path("$DIR/redis");
    open my $fh, '>', "$DIR/redis/redis.conf" or die "redis.conf: $!\n";
    print $fh "port $RPORT\nbind 127.0.0.1\ndir $DIR/redis\nsave \"\"\n"
            . "appendonly no\nlogfile $DIR/redis/redis.log\ndaemonize no\n";
    close $fh;
    $redis_pid = start_daemon([$REDIS, "$DIR/redis/redis.conf"], $RPORT);
    $nodes = $redis_pid && start_nodes(name => 'register', store => "redis:127.0.0.1:$RPORT",
        extra => "OAuthASRegistrationGrants authorization_code refresh_token client_credentials\n"
               . "<Location /oauth/register>\n    SetHandler oauth-as-register\n</Location>\n");
    ok($nodes, 'Redis and two nodes A and B sharing it') or skip 'the nodes did not start', 5;
    my ($A, $B) = @$nodes{qw(A B)};
    my $c = register({ redirect_uris => ['https://app.example/cb'], scope => 'read',
                       grant_types => ['client_credentials'] }, port => $A->{port});
    ok(t_cmp($c->{status}, 201, 'A: a confidential client registers')) or diag $c->{body};
    my $cj = $c->{json} || {};
    $r = token_req([grant_type => 'client_credentials', scope => 'read'],
                   auth => [$cj->{client_id} // 'x', $cj->{client_secret} // 'x'],
                   port => $B->{port});
    ok(t_cmp($r->{status}, 200, 'B: it gets a token with its secret')) or diag $r->{body};
    $r = manage('GET', $cj, $cj->{registration_access_token}, undef, port => $B->{port});
    ok(t_cmp($r->{status}, 200, 'B: RFC 7592 GET finds it'));
    $r = manage('DELETE', $cj, $cj->{registration_access_token}, undef, port => $B->{port});
    ok(t_cmp($r->{status}, 204, 'B: DELETE'));
    is_oauth_error(token_req([grant_type => 'client_credentials'],
                             auth => [$cj->{client_id} // 'x', $cj->{client_secret} // 'x'],
                             port => $A->{port}),
                   401, 'invalid_client', 'A: the client deleted on B is unknown');
}

ok(error_log_clean(), 'no unexpected errors in the error log')
    or diag join "\n", error_log_clean();
