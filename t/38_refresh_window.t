# The refresh reuse window (OAuthASRefreshReuseWindow, SPEC sections 2 and 5; issue 17
# item 3).  t/conf/refresh_window.conf.in: vhost oas_rwin (window 60 s), oas_rwin2
# (window 3 s); oas_https has none (strict rotation).  The client is webapp of
# t/conf/clients.json (password grant, refresh_limit 2: the first refresh token may be
# used twice, the second refresh issues no refresh token); multi is "another client".
#
# The rules:
#   - within the window, the client the token was issued to presenting a used refresh
#     token again gets a NEW pair of the same family, and nothing is revoked;
#   - every pair handed out stays live (until used, expired or revoked), each counting
#     against refresh_limit from the same point: reuse never lets a chain of refreshes
#     grow longer than refresh_limit;
#   - after the window reuse is a replay: the family is revoked; another client gets
#     what it gets without a window;
#   - 16 simultaneous refreshes of one token: all succeed with the window, and the 16
#     pairs are live; without it exactly one succeeds and the family is revoked.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use JSON::PP ();
use Time::HiRes qw(sleep);

my $N      = 16;
my $ROUNDS = 3;
plan tests => 14 + 4 + 5 + 3 + $ROUNDS * 7 + $ROUNDS * 4,
     need_module('oauth_as'), need_module('ssl');

my $WIN    = Apache::Test::vars('oas_rwin_port')  or die "no oas_rwin vhost\n";
my $WIN2   = Apache::Test::vars('oas_rwin2_port') or die "no oas_rwin2 vhost\n";
my $STRICT = https_port();

sub pw { password_token('webapp', 'alice', 'wonderland', port => $_[0])->{json} || {} }
sub active { introspect($_[0] // 'none')->{active} ? 1 : 0 }

# --- the same client, twice within the window ------------------------------------------
{
    my $p0 = pw($WIN);
    ok $p0->{refresh_token}, 'password grant at the window vhost: a refresh token';
    my $r1 = refresh('webapp', $p0->{refresh_token}, port => $WIN);
    ok t_cmp($r1->{status}, 200, 'first use of the refresh token: 200');
    my $r2 = refresh('webapp', $p0->{refresh_token}, port => $WIN);
    ok t_cmp($r2->{status}, 200, 'the same token again, same client, within the window: 200')
        or diag $r2->{body};
    my ($a1, $t1, $a2, $t2) = map { $_ // 'none' } ($r1->{json}{access_token},
        $r1->{json}{refresh_token}, $r2->{json}{access_token}, $r2->{json}{refresh_token});
    ok $a2 ne $a1 && $t2 ne $t1 && $t2 ne 'none',
       'the reuse gets a new pair, not the one already handed out';
    is $r2->{headers}->header('Cache-Control'), 'no-store', 'reuse answer: Cache-Control no-store';
    ok active($p0->{access_token}) && active($a1) && active($a2),
       'nothing was revoked: the first access token, the first refresh\'s and the reuse\'s are active';
    my $i2 = introspect($a2);
    ok $i2->{active} && ($i2->{client_id} // '') eq 'webapp' && ($i2->{username} // '') eq 'alice'
       && ($i2->{scope} // '') eq 'read write',
       'the reuse\'s token: same client, user and scope' or diag explain $i2;
    # refresh_limit 2: both second-generation refresh tokens were issued with one refresh
    # left; using either is the second refresh of the chain and issues no refresh token
    my $g1 = refresh('webapp', $t1, port => $WIN);
    my $g2 = refresh('webapp', $t2, port => $WIN);
    ok t_cmp($g1->{status}, 200, 'the first pair\'s refresh token still works');
    ok t_cmp($g2->{status}, 200, 'the reuse pair\'s refresh token works too');
    ok !exists $g1->{json}{refresh_token} && !exists $g2->{json}{refresh_token},
       'refresh_limit 2 holds on both branches: the second refresh issues no refresh token'
       or diag "$g1->{body} / $g2->{body}";
    # a narrower scope in the reuse is honoured, never a wider one
    my $p1 = pw($WIN);
    refresh('webapp', $p1->{refresh_token}, port => $WIN);
    my $n = refresh('webapp', $p1->{refresh_token}, port => $WIN, scope => 'read');
    ok t_cmp($n->{json}{scope} // '', 'read', 'a reuse may narrow the scope');
    is_oauth_error(refresh('webapp', $p1->{refresh_token}, port => $WIN, scope => 'read admin'),
                   400, 'invalid_scope', 'a reuse may not widen the scope');
    ok active($n->{json}{access_token}), '... and that refusal revoked nothing';
    # the window counts from the first use: a reuse does not extend it (checked in the
    # short-window block below); the tombstone stays, so reuse works more than once
    my $r3 = refresh('webapp', $p1->{refresh_token}, port => $WIN);
    ok t_cmp($r3->{status}, 200, 'a third presentation within the window: 200');
}

# --- another client within the window: exactly as without a window ----------------------
{
    my %after;
    for my $port ($STRICT, $WIN) {
        my $p0 = pw($port);
        my $r1 = refresh('webapp', $p0->{refresh_token}, port => $port);
        my $o = refresh('multi', $p0->{refresh_token}, port => $port);
        $after{$port} = [$r1->{status}, $o->{status}, $o->{json}{error} // '-',
                         exists $o->{json}{access_token} ? 'pair' : 'no pair',
                         active($r1->{json}{access_token}), active($p0->{access_token})];
    }
    ok t_cmp($after{$WIN}[0], 200, 'first use by webapp: 200');
    ok $after{$WIN}[1] == 400 && $after{$WIN}[2] eq 'invalid_grant',
       'another client presenting the used token within the window: 400 invalid_grant';
    is $after{$WIN}[3], 'no pair', '... and no pair for it';
    is_deeply $after{$WIN}, $after{$STRICT},
              'answer and family afterwards the same as without a window (status, error, '
              . 'tokens still active or not)';
}

# --- after the window: a replay -------------------------------------------------------
{
    my $p0 = pw($WIN2);
    my $r1 = refresh('webapp', $p0->{refresh_token}, port => $WIN2);
    ok t_cmp($r1->{status}, 200, 'short window: first use 200');
    # times are whole seconds: first use in second S, the reuse 2 s later in S+2 or S+3
    # (inside), the last 4.5 s after the first use in S+4 or S+5: outside a window
    # that runs from the first use, inside one that a reuse had moved to S+2 or S+3
    sleep 2;
    my $r2 = refresh('webapp', $p0->{refresh_token}, port => $WIN2);
    ok t_cmp($r2->{status}, 200, 'window 3 s: a reuse 2 s after the first use gets a pair');
    sleep 2.5;
    is_oauth_error(refresh('webapp', $p0->{refresh_token}, port => $WIN2), 400, 'invalid_grant',
                   'reuse 4.5 s after the first use, 2.5 s after the last reuse, window 3 s: '
                   . 'invalid_grant (the window runs from the first use)');
    ok !active($r1->{json}{access_token}) && !active($r2->{json}{access_token}),
       'reuse after the window revoked the family: both pairs\' access tokens inactive';
    is_oauth_error(refresh('webapp', $r2->{json}{refresh_token} // 'none', port => $WIN2), 400,
                   'invalid_grant', '... and the reuse pair\'s refresh token is refused');
}

# --- no window (the default): a replay at once ------------------------------------------
{
    my $p0 = pw($STRICT);
    my $r1 = refresh('webapp', $p0->{refresh_token}, port => $STRICT);
    ok t_cmp($r1->{status}, 200, 'no window: first use 200');
    is_oauth_error(refresh('webapp', $p0->{refresh_token}, port => $STRICT), 400,
                   'invalid_grant', 'no window: the same token again is invalid_grant');
    ok !active($r1->{json}{access_token}), 'no window: the replay revoked the family';
}

# --- 16 at once --------------------------------------------------------------------------
sub race {
    my ($port, $rt) = @_;
    return run_together($N,
        sub { tls_connect(port => $port) },
        sub {
            my ($i, $sock) = @_;
            my $r = raw_post($sock, '/oauth/token', "grant_type=refresh_token&refresh_token=$rt",
                             auth => ['webapp', 'webapp-secret']);
            close $sock;
            my $j = $r->{json} || {};
            return join ' ', $r->{status} || 0, $j->{error} // '-',
                             $j->{access_token} // '-', $j->{refresh_token} // '-';
        });
}

for my $round (1 .. $ROUNDS) {
    my $p0 = pw($WIN);
    my @res = race($WIN, $p0->{refresh_token} // 'none');
    my @ok = grep { /^200 / } @res;
    ok t_cmp(scalar @ok, $N, "window round $round: all $N simultaneous refreshes succeed")
        or diag join "\n", grep { !/^200 / } @res;
    my @at = map { (split / /)[2] } @ok;
    my @rt = map { (split / /)[3] } @ok;
    my (%sa, %sr);
    ok t_cmp(scalar(grep { !$sa{$_}++ } @at) + scalar(grep { !$sr{$_}++ } @rt), 2 * $N,
             "window round $round: $N distinct access and $N distinct refresh tokens");
    my @live = grep { active($_) } @at;
    ok t_cmp(scalar @live, $N, "window round $round: afterwards all $N access tokens are active");
    ok active($p0->{access_token}), "window round $round: the original access token is active";
    # every refresh token handed out works once more, and (refresh_limit 2) issues none
    my @again = map { refresh('webapp', $_, port => $WIN) } @rt;
    ok t_cmp(scalar(grep { $_->{status} == 200 } @again), $N,
             "window round $round: each of the $N refresh tokens refreshes");
    ok !(grep { exists $_->{json}{refresh_token} } @again),
       "window round $round: none of those issues a refresh token (refresh_limit 2 kept)";
    # the family is one: revoking one of its tokens revokes every branch
    post_form('/oauth/revoke', [token => $at[0], token_type_hint => 'access_token'],
              auth => ['webapp', 'webapp-secret']);
    ok !(grep { active($_) } @at, map { $_->{json}{access_token} } @again),
       "window round $round: revoking one access token revokes all " . (2 * $N)
       . ' access tokens of the family';
}

for my $round (1 .. $ROUNDS) {
    my $p0 = pw($STRICT);
    my @res = race($STRICT, $p0->{refresh_token} // 'none');
    my @ok = grep { /^200 / } @res;
    my @lost = grep { /^400 invalid_grant / } @res;
    ok t_cmp(scalar @ok, 1, "no-window round $round: exactly one of $N succeeds");
    ok t_cmp(scalar @lost, $N - 1, "no-window round $round: the others get invalid_grant")
        or diag join "\n", grep { !/^(200|400 invalid_grant) / } @res;
    my (undef, undef, $at, $rt) = split / /, ($ok[0] // '0 - none none');
    ok !active($at), "no-window round $round: the family is revoked (winner's access token)";
    is_oauth_error(refresh('webapp', $rt, port => $STRICT), 400, 'invalid_grant',
                   "no-window round $round: the winner's refresh token is refused");
}
