# The device authorization grant (RFC 8628, SPEC section 14) against the real server:
# the device authorization endpoint, the verification page (Basic auth: alice, bob),
# the token endpoint's polling answers, the brute-force limits on user codes, and
# oauth4webapi (t/clients/device.mjs) as an independent device client.
# Virtual hosts and registry: t/conf/device.conf.in, t/conf/device-clients.json
#   oas_device   interval 1 s, 3 wrong user codes lock for 10 s
#   oas_devshort device codes live 2 s
#   oas_devanon  a verification page that authenticates nobody
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest qw(run_together raw_post tls_connect);
use HTML::Entities qw(decode_entities);
use JSON::PP ();
use File::Spec ();
use FindBin ();
use Time::HiRes qw(time sleep);

plan tests => 131, need_module('ssl'), need_module('oauth_as');

my $DP    = Apache::Test::vars('oas_device_port');
my $SP    = Apache::Test::vars('oas_devshort_port');
my $AP    = Apache::Test::vars('oas_devanon_port');
my $ISS   = "https://localhost:$DP";
my $GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
my $ALICE = [alice => 'wonderland'];
my $BOB   = [bob => 'builder'];
my $CODE_RE = qr/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

sub start {   # start(client, %form) -> $res of the device authorization endpoint
    my ($client, %o) = @_;
    my $port = delete $o{port} || $DP;
    my %auth = $client eq 'cli' ? (auth => [cli => 'cli-secret']) : ();
    my %form = ($client eq 'cli' ? () : (client_id => $client), %o);
    return post_form('/oauth/device_authorization', \%form, port => $port, %auth);
}

sub poll {    # poll(client, device_code, port) -> $res of the token endpoint
    my ($client, $dc, $port) = @_;
    my %auth = $client eq 'cli' ? (auth => [cli => 'cli-secret']) : ();
    return post_form('/oauth/token', { grant_type => $GRANT, device_code => $dc,
                                       ($client eq 'cli' ? () : (client_id => $client)) },
                     port => $port || $DP, %auth);
}

sub err { my ($r) = @_; ($r->{json} || {})->{error} // "(status $r->{status})" }

sub enter {   # the user types a code into the verification page
    my ($code, $user, $port) = @_;
    return post_form('/device', { user_code => $code }, auth => $user || $ALICE,
                     port => $port || $DP);
}

sub hidden {  # the approval form's hidden inputs
    my ($html) = @_;
    my %h;
    while (($html // '') =~ /<input type="hidden" name="([^"]+)" value="([^"]*)">/g) {
        $h{$1} = decode_entities($2);
    }
    return \%h;
}

sub decide {  # post the approval form back with a decision
    my ($form, $decision, $user, $port) = @_;
    return post_form('/device', { %$form, decision => $decision }, auth => $user || $ALICE,
                     port => $port || $DP);
}

sub approved_device {   # a device code of client, approved by alice
    my ($client, %o) = @_;
    my $d = start($client, %o)->{json} || {};
    my $page = enter($d->{user_code} // 'x');
    my $done = decide(hidden($page->{body}), 'approve');
    return ($d, $done);
}

# ---- metadata ----------------------------------------------------------------------
my $m = get('/.well-known/oauth-authorization-server', port => $DP)->{json} || {};
is($m->{device_authorization_endpoint}, "$ISS/oauth/device_authorization",
   'metadata: device_authorization_endpoint where it is mapped');
ok((grep { $_ eq $GRANT } @{ $m->{grant_types_supported} || [] }),
   'metadata: the device grant in grant_types_supported');
my $mm = get('/.well-known/oauth-authorization-server')->{json} || {};
ok(!exists $mm->{device_authorization_endpoint},
   'metadata of a server without the endpoint: no device_authorization_endpoint');
ok(!(grep { $_ eq $GRANT } @{ $mm->{grant_types_supported} || [] }),
   '... and no device grant');

# ---- the device authorization endpoint -----------------------------------------------
my $r = start('tv', scope => 'read write');
is($r->{status}, 200, 'public client: 200');
is($r->{headers}->header('Cache-Control'), 'no-store', 'Cache-Control: no-store');
my $d = $r->{json} || {};
like($d->{device_code} // '', qr/^[A-Za-z0-9_-]{43,}$/, 'device_code: >= 256 bits, base64url');
like($d->{user_code} // '', $CODE_RE, 'user_code: XXXX-XXXX of BCDFGHJKLMNPQRSTVWXZ');
is($d->{verification_uri}, "$ISS/device", 'verification_uri: the mapped page');
is($d->{verification_uri_complete}, "$ISS/device?user_code=" . ($d->{user_code} // ''),
   'verification_uri_complete carries the user code');
is($d->{expires_in}, 600, 'expires_in: OAuthASDeviceCodeLifetime default 600');
is($d->{interval}, 1, 'interval: OAuthASDevicePollInterval');
my %codes = map { ((start('tv')->{json} || {})->{user_code} // '') => 1 } 1 .. 5;
is(scalar keys %codes, 5, 'five requests, five different user codes');

$r = start('cli');
is($r->{status}, 200, 'confidential client with HTTP Basic: 200');
$r = post_form('/oauth/device_authorization', { client_id => 'cli' }, port => $DP);
is($r->{status}, 401, 'confidential client without credentials: 401');
is(err($r), 'invalid_client', '... invalid_client');
$r = post_form('/oauth/device_authorization', {}, port => $DP, auth => [cli => 'wrong']);
is(err($r), 'invalid_client', 'wrong secret: invalid_client');
$r = start('web');
is($r->{status}, 400, 'client without the device grant: 400');
is(err($r), 'unauthorized_client', '... unauthorized_client');
$r = start('nobody');
is(err($r), 'invalid_client', 'unknown client: invalid_client');
$r = start('tv', scope => 'admin');
is(err($r), 'invalid_scope', 'a scope the client may not have: invalid_scope');
$r = get('/oauth/device_authorization?client_id=tv', port => $DP);
is($r->{status}, 405, 'GET: 405');

# ---- polling before the decision: authorization_pending, slow_down -----------------------
$d = start('tv', scope => 'read')->{json} || {};
$r = poll('tv', $d->{device_code});
is($r->{status}, 400, 'pending: 400');
is(err($r), 'authorization_pending', 'authorization_pending until the user decides');
is($r->{headers}->header('Cache-Control'), 'no-store', '... Cache-Control: no-store');
sleep 1.2;
is(err(poll('tv', $d->{device_code})), 'authorization_pending',
   'polled after the interval (1 s): authorization_pending');
# The interval is counted in whole seconds: a poll right after another may still fall
# into the next second and be in time; of two polls at once, one is too fast.
my @quick;
for (1 .. 3) {
    push @quick, err(poll('tv', $d->{device_code}));
    last if $quick[-1] eq 'slow_down';
}
is($quick[-1], 'slow_down', "polled at once again: slow_down (@quick)");
sleep 2.2;
$r = poll('tv', $d->{device_code});
is(err($r), 'slow_down', '2 s later (more than 1 s): still slow_down, the interval grew by 5');
like(($r->{json} || {})->{error_description} // '', qr/wait 11 seconds/,
     '... and grew again: the description says 11 seconds');
sleep 11.3;
is(err(poll('tv', $d->{device_code})), 'authorization_pending',
   'after waiting the grown interval: authorization_pending again');

# ---- the verification page -------------------------------------------------------------
my $uc = $d->{user_code};
$r = get('/device?user_code=' . $uc, port => $DP, auth => $ALICE);
is($r->{status}, 200, 'GET verification_uri_complete: 200');
like($r->{body}, qr/<input id="user_code" name="user_code" value="\Q$uc\E"/,
     'the form is prefilled with the user code');
like($r->{body}, qr/<form method="post" action="\/device">/, 'it posts to the page itself');
like($r->{body}, qr/alice/, 'it names the signed-in user');
is($r->{headers}->header('X-Frame-Options'), 'DENY', 'X-Frame-Options: DENY');
like($r->{headers}->header('Content-Security-Policy') // '', qr/frame-ancestors 'none'/,
     "CSP frame-ancestors 'none'");
like($r->{body}, qr/Device sign-in &lt;help&gt; &amp; support/,
     'OAuthASApprovalPage footer, escaped');
$r = get('/device', port => $DP, auth => $ALICE);
like($r->{body}, qr/name="user_code" value=""/, 'GET without user_code: an empty form');
$r = get('/device', port => $DP);
is($r->{status}, 401, 'no credentials: httpd asks for them (401)');

for my $typed (lc($uc), join('', split /-/, $uc), lc(join '', split /-/, $uc), " $uc ") {
    $r = enter($typed);
    is($r->{status}, 200, "user code typed as '$typed': the approval page");
}
like($r->{body}, qr/Living-room TV/, 'the approval page names the client');
like($r->{body}, qr/<strong>read<\/strong>: <span class="scope-desc">Read your data/,
     'and the scope with its description');
unlike($r->{body}, qr/<strong>write<\/strong>/, 'only the requested scope');
like($r->{body}, qr/<strong id="user-code">\Q$uc\E<\/strong>/,
     'it shows the user code (XXXX-XXXX) to compare with the device');
like($r->{body}, qr/name="decision" value="approve".*name="decision" value="deny"/s,
     'Approve and Deny buttons');
is($r->{headers}->header('X-Frame-Options'), 'DENY', 'approval page: X-Frame-Options DENY');
my $form = hidden($r->{body});
is($form->{client_id}, 'tv', 'hidden client_id');
ok(length($form->{csrf} // ''), 'a CSRF token');
my $form2 = hidden(enter($uc)->{body});         # a second page for the same code

# CSRF (SPEC section 4): every form post needs its own valid token
$r = decide({ %$form, csrf => undef }, 'approve');
is($r->{status}, 403, 'decision without a CSRF token: 403');
$r = decide({ %$form, csrf => 'x' . ($form->{csrf} // '') }, 'approve');
is($r->{status}, 403, 'decision with a forged CSRF token: 403');
my $bobform = hidden(enter($uc, $BOB)->{body});
$r = decide($bobform, 'approve', $ALICE);
is($r->{status}, 403, "bob's form posted by alice: 403");
$r = decide({ %$form, scope => 'read write' }, 'approve');
is($r->{status}, 403, 'a widened scope in the form: 403');
$r = decide({ %$form, client_id => 'cli' }, 'approve');
is($r->{status}, 403, 'another client in the form: 403');
like(err(poll('tv', $d->{device_code})), qr/^(?:authorization_pending|slow_down)$/,
   'after the refused posts the grant is still undecided (its interval is 11 s now)');

$r = decide($form, 'approve');
is($r->{status}, 200, 'approve: 200');
like($r->{body}, qr/Device connected/, 'the page says the device is connected');
$r = decide($form2, 'deny');
is($r->{status}, 400, 'a second decision on the same user code (another valid form): 400');
like($r->{body}, qr/already been used/, '... the code was used');
$r = decide($form, 'approve');
is($r->{status}, 403, 'the same form again: 403 (its CSRF token was used)');
$r = enter($uc);
is($r->{status}, 400, 'the decided user code is no longer accepted');

$r = poll('tv', $d->{device_code});
is($r->{status}, 200, 'after approval: 200 with the tokens');
my $t = $r->{json} || {};
like($t->{access_token} // '', qr/^[A-Za-z0-9_-]{22,}$/, 'access_token');
is($t->{token_type}, 'Bearer', 'token_type Bearer');
is($t->{scope}, 'read', 'scope read');
ok($t->{expires_in} && $t->{expires_in} > 0, 'expires_in');
ok($t->{refresh_token}, 'a refresh token (refresh_limit 1)');
is($r->{headers}->header('Cache-Control'), 'no-store', 'Cache-Control: no-store');
$r = poll('tv', $d->{device_code});
is(err($r), 'invalid_grant', 'the device code is single use: invalid_grant afterwards');
my $i = post_form('/oauth/introspect', { token => $t->{access_token} // 'x' }, port => $DP,
                  auth => [rs => 'rs-secret'])->{json} || {};
ok($i->{active}, 'introspection: active');
is($i->{username}, 'alice', '... the user who approved');
is($i->{client_id}, 'tv', '... client tv');
$r = post_form('/oauth/token', { grant_type => 'refresh_token', client_id => 'tv',
                                 refresh_token => $t->{refresh_token} // 'x' }, port => $DP);
is($r->{status}, 200, 'the refresh token works');
ok(!($r->{json} || {})->{refresh_token}, '... and, refresh_limit 1, gives no further one');

# ---- deny ---------------------------------------------------------------------------------
$d = start('tv')->{json} || {};
$r = decide(hidden(enter($d->{user_code})->{body}), 'deny');
is($r->{status}, 200, 'deny: 200');
like($r->{body}, qr/denied/, 'the page says so');
$r = poll('tv', $d->{device_code});
is($r->{status}, 400, 'after denial: 400');
is(err($r), 'access_denied', 'access_denied');
is(err(poll('tv', $d->{device_code})), 'access_denied', 'and again access_denied');
$r = decide(hidden(enter($d->{user_code})->{body}), 'approve');
isnt($r->{status}, 200, 'a denied user code cannot be approved afterwards');

# ---- the confidential client ----------------------------------------------------------------
my ($cd, $cdone) = approved_device('cli');
is($cdone->{status}, 200, 'cli: approved');
$r = poll('tv', $cd->{device_code});
is(err($r), 'invalid_grant', "another client's device code: invalid_grant");
$r = post_form('/oauth/token', { grant_type => $GRANT, device_code => $cd->{device_code},
                                 client_id => 'cli' }, port => $DP);
is(err($r), 'invalid_client', 'the confidential client without its secret: invalid_client');
$r = poll('cli', $cd->{device_code});
is($r->{status}, 200, 'cli with HTTP Basic gets its tokens');
ok(!($r->{json} || {})->{refresh_token}, 'no refresh token (refresh_limit 0)');

# ---- bad polls ----------------------------------------------------------------------------------
is(err(poll('tv', 'no-such-device-code')), 'invalid_grant', 'unknown device_code: invalid_grant');
$r = post_form('/oauth/token', { grant_type => $GRANT, client_id => 'tv' }, port => $DP);
is(err($r), 'invalid_request', 'no device_code: invalid_request');
$d = start('tv')->{json} || {};
$r = post_form('/oauth/token', { grant_type => $GRANT, client_id => 'web',
                                 device_code => $d->{device_code} }, port => $DP);
is(err($r), 'unauthorized_client', 'a client without the device grant: unauthorized_client');
$r = post_form('/oauth/token', { grant_type => 'device_code', client_id => 'tv',
                                 device_code => $d->{device_code} }, port => $DP);
is(err($r), 'unsupported_grant_type',
   'the short form device_code is a registry name only: unsupported_grant_type');
$r = poll('tv', $d->{device_code}, $SP);
is(err($r), 'invalid_grant', 'a device code of another issuer (same store): invalid_grant');

# ---- expiry --------------------------------------------------------------------------------------
$d = start('tv', port => $SP)->{json} || {};
is($d->{expires_in}, 2, 'OAuthASDeviceCodeLifetime 2: expires_in 2');
is($d->{interval}, 5, 'default interval: 5');
is($d->{verification_uri}, "https://localhost:$SP/device", 'that vhost\'s own page');
my $sform = hidden(enter($d->{user_code}, $ALICE, $SP)->{body});
ok($sform->{csrf}, 'its user code works while it lives');
sleep 3.2;
$r = poll('tv', $d->{device_code}, $SP);
is($r->{status}, 400, 'expired device code: 400');
is(err($r), 'expired_token', 'expired_token');
$r = enter($d->{user_code}, $ALICE, $SP);
is($r->{status}, 400, 'its user code is refused on the page');
$r = decide($sform, 'approve', $ALICE, $SP);
isnt($r->{status}, 200, 'a form shown before the expiry cannot approve it');

# ---- concurrent polls of one approved device code: exactly one winner -----------------------------
my $N = 16;
($d) = approved_device('tv');
my @res = run_together($N, sub { tls_connect(port => $DP) }, sub {
    my ($n, $s) = @_;
    my $res = raw_post($s, '/oauth/token',
                       "grant_type=$GRANT&client_id=tv&device_code=$d->{device_code}");
    return "$res->{status} " . (($res->{json} || {})->{error} // 'tokens');
});
my $won = grep { $_ eq '200 tokens' } @res;
my $lost = grep { $_ eq '400 invalid_grant' } @res;
is($won, 1, "$N simultaneous polls of one approved device code: exactly one gets tokens");
is($lost, $N - 1, '... the others invalid_grant') or diag join ', ', @res;

# ---- concurrent decisions on one user code: exactly one is taken -----------------------------------
$d = start('tv')->{json} || {};
my @forms = map { hidden(enter($d->{user_code})->{body}) } 1 .. $N;
@res = run_together($N, sub { tls_connect(port => $DP) }, sub {
    my ($n, $s) = @_;
    my $f = form_encode({ %{ $forms[$n] }, decision => $n % 2 ? 'deny' : 'approve' });
    return raw_post($s, '/device', $f, auth => $ALICE)->{status};
});
is(scalar(grep { $_ eq '200' } @res), 1,
   "$N simultaneous decisions (each with a valid form) on one user code: exactly one taken")
    or diag join ', ', @res;
like(err(poll('tv', $d->{device_code})), qr/^(?:access_denied|\(status 200\))$/,
     'the device sees that one decision');

# ---- wrong user codes count for the brute-force limits ------------------------------------------------
$d = start('tv')->{json} || {};
for my $k (1 .. 3) {
    $r = enter($k == 3 ? 'nope' : 'BCDF-GHJK', $BOB);
    is($r->{status}, 400, "bob's wrong user code #$k: 400");
    like($r->{body}, qr/not valid/, '... the form again, with the reason');
}
$r = enter($d->{user_code}, $BOB);
is($r->{status}, 429, 'bob is locked now: 429, even for a right code');
ok(($r->{headers}->header('Retry-After') // 0) > 0, 'Retry-After');
like($r->{body}, qr/Too many wrong codes/, 'an HTML page that says why');
is($r->{headers}->header('X-Frame-Options'), 'DENY', '... that cannot be framed');
$r = enter($d->{user_code}, $ALICE);
is($r->{status}, 200, 'alice is not locked: the right code shows her the approval page');
my $st = post_form('/oauth/token', { grant_type => 'client_credentials' }, port => $DP,
                   auth => [rs => 'rs-secret']);
is($st->{status}, 200, "clients are not locked by users' wrong codes");

# ---- anonymous --------------------------------------------------------------------------------------
expect_error_log(qr/OAS07805/);
$r = get('/device?user_code=BCDF-GHJK', port => $AP);
is($r->{status}, 500, 'a verification page that authenticates nobody: 500');
unlike($r->{body}, qr/<form/, '... no form');
$r = post_form('/device', { user_code => 'BCDF-GHJK' }, port => $AP);
is($r->{status}, 500, '... for a POST too');

# ---- status ---------------------------------------------------------------------------------------------
my $s = get('/oauth/status')->{json} || {};
ok(exists((($s->{store} || {})->{memory_entries} || {})->{device_code}),
   'status: device_code entries are counted') or diag explain $s->{store};

# ---- oauth4webapi: an independent device client ------------------------------------------------------------
my $cdir = File::Spec->rel2abs("$FindBin::Bin/clients");
unless (-d "$cdir/node_modules/oauth4webapi") {
    my $out = `cd '$cdir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
    diag "npm ci: $out" if $?;
}
ok(-f "$cdir/node_modules/oauth4webapi/package.json", 'oauth4webapi installed in t/clients');
my $logs = Apache::Test::vars('t_logs');
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
my $pid = open(my $node, '-|',
               "timeout 120 node '$cdir/device.mjs' '$ISS' tv 'read write' 2>'$logs/device-mjs-stderr.txt'");
ok($pid, 'node t/clients/device.mjs started');
my %step;
while (my $line = <$node>) {
    my $o = eval { JSON::PP->new->decode($line) } or next;
    $step{ $o->{step} } = $o;
    if ($o->{step} eq 'early') {      # the device is polling: the user approves now
        my $page = enter($step{authorized}{user_code} // 'x');
        $step{approve} = decide(hidden($page->{body}), 'approve')->{status};
    }
}
close $node;
my $a4 = $step{authorized} || {};
like($a4->{user_code} // '', $CODE_RE, 'oauth4webapi: user_code');
is($a4->{endpoint}, "$ISS/oauth/device_authorization", 'it found the endpoint by discovery');
is($a4->{interval}, 1, 'interval 1');
my @early = @{ ($step{early} || {})->{errors} || [] };
is($early[0], 'authorization_pending', 'its first poll: authorization_pending');
is($early[-1], 'slow_down', 'its quick polls after it: slow_down') or diag "@early";
is($step{approve}, 200, 'alice approved its user code meanwhile');
my $done = $step{done} || {};
ok($done->{token} && $done->{token}{access_token}, 'its polling loop got the tokens')
    or diag(($done->{error} // '') . ' ' . do { local (@ARGV, $/) = "$logs/device-mjs-stderr.txt"; <> // '' });
is(($done->{token} || {})->{scope}, 'read write', 'scope read write');
is(($done->{waits} || [])->[0], 6, 'it waited 1 + 5 seconds after the slow_down');

# authlib (python3-authlib 1.2.0) implements RFC 8628 only on the server side
# (authlib.oauth2.rfc8628: DeviceAuthorizationEndpoint, DeviceCodeGrant); it has no
# device-flow client, so there is no authlib run here.
