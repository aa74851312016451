# A real OAuth client library: Debian's python3-authlib (run with /usr/bin/python3, not
# whatever python3 comes first on PATH) does the authorization code flow with PKCE
# (S256), the exchange, a refresh and a call of a protected page, with
# t/client/authlib_flow.py — for the public client spa (client_id in the body) and
# the confidential client webapp (client_secret_basic).  The protected page is
# /authlib/protected/ (t/conf/authorize.conf.in: AuthType Bearer, oauth-scope read).
# Fast: runs in every MPM.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use JSON::PP ();
use FindBin ();
use URI ();
use Time::HiRes qw(time);

plan tests => 2 + 2 * 27, need_module('ssl'), need_module('oauth_as');

my $T0  = time;
my $ISS = 'https://localhost:' . https_port();
my $PY  = '/usr/bin/python3';
my $script = "$FindBin::Bin/client/authlib_flow.py";

sub check {
    my ($got, $exp, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return ref $exp eq 'Regexp' ? like($got, $exp, $name) : is($got, $exp, $name);
}

ok(-x $PY, "$PY is there");
my $ver = `$PY -c 'import authlib, requests; print(authlib.__version__)' 2>&1`;
chomp $ver;
ok($? == 0, "python3-authlib and python3-requests importable by $PY") or diag $ver;
diag "authlib $ver";

sub introspect {
    my ($tok) = @_;
    my $r = post_form('/oauth/introspect', { token => $tok // 'x' }, auth => [rs => 'rs-secret']);
    return $r->{json} || {};
}

for my $c (['spa', undef, 'https://spa.example/cb', 'read'],
           ['webapp', 'webapp-secret', 'https://app.example/cb', 'read write']) {
    my ($client, $secret, $cb, $scope) = @$c;
    my $cmd = "timeout 120 $PY '$script' '$ISS' '$client'" . ($secret ? " '$secret'" : '')
            . ' 2>&1';
    my $outp = `$cmd`;
    my $rc = $? >> 8;
    my ($line) = grep { /^\{/ } split /\n/, $outp // '';
    my $r = eval { JSON::PP->new->decode($line // '') } || {};
    ok($rc == 0 && !$r->{error}, "$client: authlib ran the whole flow")
        or diag "exit $rc: " . ($r->{error} // '') . "\n" . ($r->{trace} // $outp // '');

    my $u = URI->new($r->{authorization_url} // '');
    my %q = $u->query_form;
    check($q{response_type}, 'code', "$client: authlib asked for response_type=code");
    check($q{code_challenge_method}, 'S256', "$client: with an S256 challenge");
    check($q{code_challenge}, qr/^[A-Za-z0-9_-]{43}$/, "$client: code_challenge");
    check($q{state}, $r->{state}, "$client: and its state");
    check($r->{page_status}, 200, "$client: the approval page");
    ok(scalar(grep { $_->[1] eq 'approve' } @{ $r->{page_buttons} || [] }),
       "$client: with an Approve button");
    check($r->{decision_status}, 303, "$client: approved");
    my $l = URI->new($r->{location} // '');
    my %lq = $l->query_form;
    check(($r->{location} // '') =~ s/\?.*//r, $cb, "$client: redirected to $cb");
    check($lq{state}, $r->{state}, "$client: state back (authlib checked it too)");
    check($lq{iss}, $ISS, "$client: iss (RFC 9207)");

    my $t = $r->{token} || {};
    ok($t->{access_token}, "$client: fetch_token got an access token");
    check(lc($t->{token_type} // ''), 'bearer', "$client: token_type Bearer");
    check($t->{scope}, $scope, "$client: scope $scope");
    ok($t->{refresh_token}, "$client: a refresh token");
    ok($t->{expires_in} && $t->{expires_at}, "$client: expires_in (authlib made expires_at of it)");

    check($r->{protected_status}, 200, "$client: the protected page with the token");
    check($r->{protected_body}, qr/authlib-protected-page-ok/, "$client: its content");

    my $n = $r->{refreshed} || {};
    ok($n->{access_token} && $n->{access_token} ne ($t->{access_token} // ''),
       "$client: refresh_token gave a new access token");
    ok($n->{refresh_token} && $n->{refresh_token} ne ($t->{refresh_token} // ''),
       "$client: and a rotated refresh token");
    check($r->{protected_after_refresh_status}, 200, "$client: the new token opens the page");
    check($r->{anonymous_status}, 401, "$client: without a token: 401");
    check($r->{anonymous_www_authenticate}, qr/^Bearer realm="api"/, "$client: Bearer challenge");

    my $i = introspect($n->{access_token});
    ok($i->{active}, "$client: the refreshed token introspects active");
    check($i->{client_id}, $client, "$client: issued to $client");
    check($i->{username}, 'alice', "$client: for alice");
    my $old = introspect($t->{refresh_token});
    ok(!$old->{active}, "$client: the used refresh token is no longer active");
}

diag sprintf 't/22_authlib.t took %.1f s', time - $T0;
