# Token introspection (RFC 7662) and revocation (RFC 7009), SPEC section 6:
# the exact fields of an active token (client credentials, password grant, refresh
# token, a token that never expires), exactly {"active":false} for everything else
# (unknown, expired, revoked, disabled client, a code), aud (the default resource: the
# issuer, SPEC section 11), caller authentication,
# POST only; revocation of a client's own tokens, of both tokens of a pair whichever
# is revoked, never of another client's token; Cache-Control: no-store everywhere.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use MIME::Base64 qw(encode_base64);
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

plan tests => 107, need_module('oauth_as'), need_module('ssl');

my $INACTIVE = '{"active":false}';
my $ISSUER   = 'https://localhost:' . https_port();

# --- helpers ---------------------------------------------------------------------------

sub no_store {
    my ($res) = @_;
    return (($res->{headers}->header('Cache-Control') // '') =~ /\bno-store\b/) ? 1 : 0;
}

# is_active($res, \%want, $name, %o): one ok(): 200, JSON, no-store, exactly the keys
# of %want (a value: equal; undef: present), active true; %o: exp_minus_iat => N
sub is_active {
    my ($res, $want, $name, %o) = @_;
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == 200;
    push @why, 'no Cache-Control: no-store' unless no_store($res);
    my $ct = $res->{headers}->header('Content-Type') // '';
    push @why, "Content-Type '$ct'" unless $ct =~ m{^application/json\b};
    my $j = $res->{json};
    if (ref $j ne 'HASH') {
        push @why, 'no JSON object';
    }
    else {
        push @why, 'active is not JSON true'
            unless JSON::PP::is_bool($j->{active}) && $j->{active};
        my %want = (active => undef, %$want);
        my @got = sort keys %$j;
        my @exp = sort keys %want;
        push @why, "keys [@got], want [@exp]" unless "@got" eq "@exp";
        for my $k (sort keys %want) {
            next unless defined $want{$k};
            push @why, "$k '" . ($j->{$k} // '(none)') . "', want '$want{$k}'"
                unless defined $j->{$k} && $j->{$k} eq $want{$k};
        }
        for my $k (grep { exists $j->{$_} } qw(exp iat)) {
            push @why, "$k '$j->{$k}' is not a number of seconds"
                unless $j->{$k} =~ /^\d+$/ && !ref $j->{$k};
        }
        if (defined $j->{iat}) {
            push @why, "iat $j->{iat} is not now" if abs($j->{iat} - time) > 120;
        }
        if (defined $o{exp_minus_iat}) {
            my $d = ($j->{exp} // 0) - ($j->{iat} // 0);
            push @why, "exp - iat = $d, want $o{exp_minus_iat}" unless $d == $o{exp_minus_iat};
        }
    }
    my $ok = ok(!@why, $name);
    diag(join('; ', @why) . "\nbody: $res->{body}") unless $ok;
    return $ok;
}

sub is_inactive {
    my ($res, $name) = @_;
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == 200;
    push @why, 'no Cache-Control: no-store' unless no_store($res);
    (my $body = $res->{body} // '') =~ s/\s+//g;
    push @why, "body '$res->{body}'" unless $body eq $INACTIVE;
    my $ok = ok(!@why, $name);
    diag(join '; ', @why) unless $ok;
    return $ok;
}

sub is_revoke_ok {
    my ($res, $name) = @_;
    my $ok = ok($res->{status} == 200 && no_store($res), $name);
    diag("HTTP $res->{status}: $res->{body}") unless $ok;
    return $ok;
}

sub is_405 {
    my ($res, $name) = @_;
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == 405;
    my $allow = $res->{headers}->header('Allow') // '';
    push @why, "Allow '$allow'" unless $allow eq 'POST';
    push @why, 'no Cache-Control: no-store' unless no_store($res);
    my $ok = ok(!@why, $name);
    diag(join('; ', @why) . "\nbody: $res->{body}") unless $ok;
    return $ok;
}

sub active_of {  # an introspection answer -> 1 (active), 0 (inactive) or 'HTTP n'
    my ($res) = @_;
    return "HTTP $res->{status}" unless $res->{status} == 200 && ref $res->{json} eq 'HASH';
    return $res->{json}{active} ? 1 : 0;
}

sub pair {       # a password-grant pair of webapp for alice: (access, refresh)
    my (%opt) = @_;
    my $r = password_token('webapp', 'alice', 'wonderland', %opt);
    diag("password grant: HTTP $r->{status}: $r->{body}") unless $r->{status} == 200;
    return ($r->{json}{access_token}, $r->{json}{refresh_token});
}

# --- tokens --------------------------------------------------------------------------------

my $log_mark = error_log_mark();
my $cc      = token_of(cc_token('m2m', scope => 'read write'));
my $forever = token_of(cc_token('forever'));
my ($pw, $pw_rt) = pair();
# shortlived's access token lives 2 s (expiry in whole seconds: 1 to 2 s after the issue).
# It is introspected right after the issue; an introspection that came a second or more
# later (a loaded machine) proves nothing either way and is made again with a new token.
my ($t0, $short_res, $short, $short_rt, $short_info);
for (1 .. 5) {
    $t0 = time;
    $short_res = password_token('shortlived', 'alice', 'wonderland');
    $short = token_of($short_res);
    $short_rt = $short_res->{json}{refresh_token};
    $short_info = introspect_raw($short);
    last if time - $t0 < 1;
}
ok($short && $short_rt && $cc && $forever && $pw && $pw_rt, 'tokens issued');

# === introspection ==========================================================================

# --- active: the fields of SPEC section 6 ---------------------------------------------------

is_active(introspect_raw($cc),
          { scope => 'read write', client_id => 'm2m', sub => 'm2m', token_type => 'Bearer',
            exp => undef, iat => undef, iss => $ISSUER, aud => $ISSUER },
          'client credentials: active, sub is the client id, no username', exp_minus_iat => 3600);
is_active(introspect_raw($pw),
          { scope => 'read write', client_id => 'webapp', username => 'alice', sub => 'alice',
            token_type => 'Bearer', exp => undef, iat => undef, iss => $ISSUER, aud => $ISSUER },
          'password grant: username and sub are the resource owner', exp_minus_iat => 3600);
is_active(introspect_raw($forever),
          { scope => 'read', client_id => 'forever', sub => 'forever', token_type => 'Bearer',
            iat => undef, iss => $ISSUER, aud => $ISSUER },
          'a token that never expires: no exp');
is_active($short_info,
          { scope => 'read', client_id => 'shortlived', username => 'alice', sub => 'alice',
            token_type => 'Bearer', exp => undef, iat => undef, iss => $ISSUER, aud => $ISSUER },
          'access_token_lifetime 2: exp = iat + 2', exp_minus_iat => 2);
my $rt_info = introspect_raw($pw_rt);
ok t_cmp($rt_info->{status}, 200, 'a refresh token introspects');
ok $rt_info->{json} && $rt_info->{json}{active}, '... active';
ok t_cmp($rt_info->{json}{client_id}, 'webapp', '... client_id');
ok t_cmp($rt_info->{json}{username}, 'alice', '... username');
ok t_cmp($rt_info->{json}{sub}, 'alice', '... sub');
ok t_cmp($rt_info->{json}{scope}, 'read write', '... scope');
ok t_cmp(($rt_info->{json}{exp} // 0) - ($rt_info->{json}{iat} // 0), 2592000,
         '... exp = iat + OAuthASRefreshTokenLifetime (default 30 days)');
ok !defined $rt_info->{json}{token_type} || $rt_info->{json}{token_type} ne 'Bearer',
   '... and it does not claim to be a Bearer access token';
my ($narrow) = pair(scope => 'read');
ok t_cmp(introspect_raw($narrow)->{json}{scope}, 'read', 'a narrowed scope is what introspects');

# token_type_hint is a hint only
ok t_cmp(active_of(introspect_raw($pw, hint => 'refresh_token')), 1,
         'an access token with token_type_hint=refresh_token: still found');
ok t_cmp(introspect_raw($pw_rt, hint => 'access_token')->{json}{client_id}, 'webapp',
         'a refresh token with token_type_hint=access_token: still found');
ok t_cmp(active_of(introspect_raw($pw, hint => 'something_else')), 1,
         'an unknown token_type_hint is ignored');

# any confidential client may introspect any token
is_active(post_form('/oauth/introspect', [token => $pw], auth => ['m2m', 'm2m-secret']),
          { scope => 'read write', client_id => 'webapp', username => 'alice', sub => 'alice',
            token_type => 'Bearer', exp => undef, iat => undef, iss => $ISSUER, aud => $ISSUER },
          'another confidential client (m2m) may introspect webapp\'s token');

# the issuer is the one of the metadata document
my $meta = get('/.well-known/oauth-authorization-server');
ok t_cmp($meta->{json} && $meta->{json}{issuer}, $ISSUER, 'iss equals the metadata issuer');

# --- inactive: exactly {"active":false} -------------------------------------------------------

is_inactive(introspect_raw('AAAAunknownunknownunknownunknownAAAA'), 'unknown token');
is_inactive(introspect_raw($cc . 'x'), 'a valid token with one more character');
is_inactive(introspect_raw(substr($cc, 0, -1)), 'a valid token with one character less');
is_inactive(introspect_raw(lc $cc eq $cc ? uc $cc : lc $cc), 'a valid token in another case');
# malformed requests rather than tokens: an OAuth error, as at the token endpoint
is_oauth_error(introspect_raw(''), 400, 'invalid_request', 'an empty token: 400 invalid_request');
is_oauth_error(introspect_raw("\xff\xfe\x00"), 400, 'invalid_request',
               'control bytes in the token: 400 invalid_request');
is_oauth_error(introspect_raw('x' x 5000), 400, 'invalid_request',
               'a 5000-byte token: 400 invalid_request');
my $code = get_code();
ok $code, 'an authorization code (webapp, alice)';
is_inactive(introspect_raw($code), 'an authorization code is no token');

# --- caller authentication ------------------------------------------------------------------

is_oauth_error(post_form('/oauth/introspect', [token => $pw]), 401, 'invalid_client',
               'no client authentication: 401 invalid_client, WWW-Authenticate: Basic');
is_oauth_error(post_form('/oauth/introspect', [token => $pw], auth => ['rs', 'wrong']),
               401, 'invalid_client', 'wrong secret: 401 invalid_client');
is_oauth_error(post_form('/oauth/introspect', [token => $pw], auth => ['nobody', 'x']),
               401, 'invalid_client', 'unknown client: 401 invalid_client');
is_oauth_error(post_form('/oauth/introspect', [token => $pw], auth => ['disabled', 'disabled-secret']),
               401, 'invalid_client', 'disabled client: 401 invalid_client');
is_oauth_error(post_form('/oauth/introspect', [token => $pw, client_id => 'spa']),
               401, 'invalid_client', 'a public client (client_id=spa) may not introspect');
is_oauth_error(post_form('/oauth/introspect',
                         [token => $pw, client_id => 'rs', client_secret => 'rs-secret']),
               401, 'invalid_client', 'a secret in the body is not accepted');
is_oauth_error(post_form('/oauth/introspect', [token => $pw],
                         headers => [Authorization => 'Basic !!!notbase64']),
               401, 'invalid_client', 'malformed Basic credentials: 401 invalid_client');
is_oauth_error(post_form('/oauth/introspect', [token => $pw],
                         headers => [Authorization => "Bearer $cc"]),
               401, 'invalid_client', 'a bearer token does not authenticate a client');
my $r = post_form('/oauth/introspect', [token => $pw]);
ok t_cmp($r->{body}, qr/^\{"error"/, 'the refusal says nothing about the token');

# --- transport rules -------------------------------------------------------------------------

is_405(get('/oauth/introspect?token=' . $pw, auth => ['rs', 'rs-secret']),
       'GET: 405 with Allow: POST');
is_405(request('PUT', '/oauth/introspect', form => [token => $pw], auth => ['rs', 'rs-secret']),
       'PUT: 405 with Allow: POST');
is_oauth_error(post_form('/oauth/introspect', [], auth => ['rs', 'rs-secret']),
               400, 'invalid_request', 'no token parameter: 400 invalid_request');
is_oauth_error(post_form('/oauth/introspect', [token => $pw, token => $cc], auth => ['rs', 'rs-secret']),
               400, 'invalid_request', 'token given twice: 400 invalid_request');
is_oauth_error(request('POST', '/oauth/introspect', body => '{"token":"x"}',
                       content_type => 'application/json', auth => ['rs', 'rs-secret']),
               400, 'invalid_request', 'a JSON body: 400 invalid_request');
is_oauth_error(post_form('/oauth/introspect', [token => $pw], auth => ['rs', 'rs-secret'],
                         scheme => 'http'),
               400, 'invalid_request', 'plain HTTP: 400 invalid_request');

# === revocation ===============================================================================

# --- revoking the access token revokes the refresh token --------------------------------------

my ($a1, $r1) = pair();
is_revoke_ok(revoke('webapp', $a1, hint => 'access_token'), 'webapp revokes its access token: 200');
is_inactive(introspect_raw($a1), '... the access token is inactive');
is_inactive(introspect_raw($r1), '... and so is its refresh token');
is_oauth_error(refresh('webapp', $r1), 400, 'invalid_grant', '... which no longer refreshes');
is_revoke_ok(revoke('webapp', $a1), 'revoking it again: 200');

# --- revoking the refresh token revokes the access token --------------------------------------

my ($a2, $r2) = pair();
is_revoke_ok(revoke('webapp', $r2, hint => 'refresh_token'), 'webapp revokes its refresh token: 200');
is_inactive(introspect_raw($r2), '... the refresh token is inactive');
is_inactive(introspect_raw($a2), '... and so is its access token');
is_oauth_error(refresh('webapp', $r2), 400, 'invalid_grant', '... the refresh token no longer refreshes');
is_answer_401($a2, 'the access token of a revoked refresh token is refused by the access hook');

# --- a wrong hint, or none ---------------------------------------------------------------------

my ($a3, $r3) = pair();
is_revoke_ok(revoke('webapp', $r3, hint => 'access_token'), 'a refresh token revoked with hint access_token');
is_inactive(introspect_raw($r3), '... is revoked all the same');
is_inactive(introspect_raw($a3), '... with its access token');
my ($a4, $r4) = pair();
is_revoke_ok(revoke('webapp', $a4), 'an access token revoked without a hint');
is_inactive(introspect_raw($r4), '... takes its refresh token along');

# --- after a refresh: the whole grant goes -------------------------------------------------------

my ($a5, $r5) = pair();
my $ref = refresh('webapp', $r5);
ok t_cmp($ref->{status}, 200, 'a refresh');
my ($a5b, $r5b) = ($ref->{json}{access_token}, $ref->{json}{refresh_token});
ok $a5b && $r5b, '... gives a new pair';
is_revoke_ok(revoke('webapp', $r5b), 'the new refresh token revoked');
is_inactive(introspect_raw($a5b), '... the new access token is inactive');
is_inactive(introspect_raw($a5), '... and the first access token of the grant too (RFC 7009 2.1)');

# --- client credentials: no refresh token -----------------------------------------------------

my $cc2 = token_of(cc_token('m2m'));
is_revoke_ok(revoke('m2m', $cc2), 'm2m revokes its client-credentials token');
is_inactive(introspect_raw($cc2), '... inactive');
is_answer_401($cc2, '... and refused by the access hook');

# --- another client's token: 200, and nothing happens --------------------------------------------

my ($a6, $r6) = pair();
is_revoke_ok(revoke('m2m', $a6), 'm2m "revokes" webapp\'s access token: 200');
ok t_cmp(active_of(introspect_raw($a6)), 1, '... it stays active');
is_revoke_ok(revoke('m2m', $r6, hint => 'refresh_token'), 'm2m "revokes" webapp\'s refresh token: 200');
ok t_cmp(active_of(introspect_raw($r6)), 1, '... it stays active');
is_revoke_ok(revoke('rs', $a6), 'the resource server rs "revokes" it: 200');
ok t_cmp(active_of(introspect_raw($a6)), 1, '... it stays active');
is_revoke_ok(revoke('webapp', $cc), 'webapp "revokes" m2m\'s token: 200');
ok t_cmp(active_of(introspect_raw($cc)), 1, '... it stays active');
is_revoke_ok(post_form('/oauth/revoke', [token => $a6, client_id => 'spa']),
             'a public client (spa, by client_id) "revokes" webapp\'s token: 200');
ok t_cmp(active_of(introspect_raw($a6)), 1, '... it stays active');
my $still = refresh('webapp', $r6);
ok t_cmp($still->{status}, 200, 'and the refresh token still refreshes');

# --- unknown tokens ----------------------------------------------------------------------------

is_revoke_ok(revoke('webapp', 'AAAAunknownunknownunknownunknownAAAA'), 'an unknown token: 200');
is_revoke_ok(revoke('webapp', 'AAAAunknown', hint => 'refresh_token'), 'an unknown refresh token: 200');
is_revoke_ok(revoke('webapp', 'x', hint => 'weird_hint'), 'an unknown hint: 200');
is_revoke_ok(post_form('/oauth/revoke', [token => 'AAAAunknown', client_id => 'spa']),
             'a public client (spa) may call the endpoint: 200');

# --- client authentication and transport --------------------------------------------------------

my ($a7) = pair();
is_oauth_error(post_form('/oauth/revoke', [token => $a7]), 401, 'invalid_client',
               'no client authentication: 401 invalid_client');
is_oauth_error(post_form('/oauth/revoke', [token => $a7], auth => ['webapp', 'wrong']), 401,
               'invalid_client', 'wrong secret: 401 invalid_client');
is_oauth_error(post_form('/oauth/revoke', [token => $a7], auth => ['disabled', 'disabled-secret']),
               401, 'invalid_client', 'disabled client: 401 invalid_client');
is_oauth_error(post_form('/oauth/revoke',
                         [token => $a7, client_id => 'webapp', client_secret => 'webapp-secret']),
               401, 'invalid_client', 'a secret in the body is not accepted');
is_oauth_error(post_form('/oauth/revoke', [token => $a7, client_id => 'webapp'],
                         auth => ['m2m', 'm2m-secret']),
               401, 'invalid_client', 'client_id that is not the authenticated client');
ok t_cmp(active_of(introspect_raw($a7)), 1, 'after all that the token is active');
is_405(get('/oauth/revoke?token=' . $a7, auth => ['webapp', 'webapp-secret']),
       'GET: 405 with Allow: POST');
is_405(request('DELETE', '/oauth/revoke', auth => ['webapp', 'webapp-secret']),
       'DELETE: 405 with Allow: POST');
is_oauth_error(post_form('/oauth/revoke', [], auth => ['webapp', 'webapp-secret']),
               400, 'invalid_request', 'no token parameter: 400 invalid_request');
is_oauth_error(post_form('/oauth/revoke', [token => $a7], auth => ['webapp', 'webapp-secret'],
                         scheme => 'http'),
               400, 'invalid_request', 'plain HTTP: 400 invalid_request');
ok t_cmp(active_of(introspect_raw($a7)), 1, 'the refused requests revoked nothing');

# === a disabled client ============================================================================

my ($a8, $r8) = pair();
my $cc8 = token_of(cc_token('m2m'));
ok set_client_enabled(webapp => 0), 'clients.json with webapp disabled, graceful restart';
is_inactive(introspect_raw($a8), 'disabled client: its access token is inactive');
is_inactive(introspect_raw($r8), 'disabled client: its refresh token is inactive');
is_inactive(introspect_raw($a6, hint => 'access_token'), 'disabled client: an older token too');
is_oauth_error(refresh('webapp', $r8), 401, 'invalid_client', 'disabled client: no refresh');
is_oauth_error(revoke('webapp', $a8), 401, 'invalid_client', 'disabled client: cannot call revoke');
is_active(introspect_raw($cc8),
          { scope => 'read write admin', client_id => 'm2m', sub => 'm2m', token_type => 'Bearer',
            exp => undef, iat => undef, iss => $ISSUER, aud => $ISSUER },
          'another client\'s token is still active');
ok restore_registry(), 'clients.json restored, graceful restart';
my ($a9) = pair();
ok t_cmp(active_of(introspect_raw($a9)), 1, 'webapp enabled again: a new token is active');

# === an expired token =============================================================================

my $wait = $t0 + 3.5 - time;
sleep $wait if $wait > 0;
is_inactive(introspect_raw($short), 'expired access token: exactly {"active":false}');
is_inactive(introspect_raw($short, hint => 'access_token'), '... with the hint too');
ok t_cmp(active_of(introspect_raw($short_rt)), 1,
         'its refresh token lives on (its own lifetime)');
my $fresh = refresh('shortlived', $short_rt);
ok t_cmp($fresh->{status}, 200, '... and gives a new access token');
is_revoke_ok(revoke('shortlived', $short), 'revoking an expired token: 200');

# --- SPEC section 9: no token in the error log (LogLevel oauth_as:debug) ---------------------

my @tokens = grep { defined && length } ($short, $short_rt, $cc, $forever, $pw, $pw_rt, $narrow,
    $code, $a1, $r1, $a2, $r2, $a3, $r3, $a4, $r4, $a5, $r5, $a5b, $r5b, $cc2, $a6, $r6, $a7,
    $a8, $r8, $cc8, $a9);
my $logged = error_log_since($log_mark);
my @found = grep { index($logged, $_) >= 0 } @tokens;
ok !@found, 'none of the ' . scalar(@tokens) . ' tokens and codes used here is in the error log'
    or diag scalar(@found) . ' found';

sub is_answer_401 {
    my ($token, $name) = @_;
    my $res = request('GET', '/rs/valid/ok.txt', headers => [Authorization => "Bearer $token"]);
    my $ok = ok($res->{status} == 401
                && (challenge_params(challenge($res))->{error} // '') eq 'invalid_token', $name);
    diag("HTTP $res->{status}, WWW-Authenticate: " . challenge($res)) unless $ok;
    return $ok;
}
