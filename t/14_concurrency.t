# Single use under concurrency, across processes (SPEC §8; issue 2 item 3).
#
# 16 perl processes each open their own TLS connection, wait on one pipe, and when
# released all at once POST the same refresh token (or the same authorization code):
# exactly one gets 200, the others 400 invalid_grant.  Several rounds of each.  Then
# 16 processes issue 10 client_credentials tokens each: 160 distinct tokens, all
# active.  tools/run-tests runs this in prefork, worker and event, so the requests
# land in several processes (prefork) or several threads of several processes.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;

my $N      = 16;
my $ROUNDS = 5;
plan tests => $ROUNDS * 4 + $ROUNDS * 3 + $ROUNDS * 4 + 5, need_module('oauth_as'), need_module('ssl');

my $WEBAPP = ['webapp', 'webapp-secret'];

# all $N at once: one POST each on a connection opened beforehand
sub race {
    my ($body) = @_;
    return run_together($N,
        sub { tls_connect() },
        sub {
            my ($i, $sock) = @_;
            my $r = raw_post($sock, '/oauth/token', $body, auth => $WEBAPP);
            close $sock;
            my $j = $r->{json} || {};
            return join ' ', $r->{status} || 0, $j->{error} // '-',
                             $j->{access_token} // '-', $j->{refresh_token} // '-';
        });
}

sub tally {
    my (@res) = @_;
    my @ok   = grep { /^200 / } @res;
    my @lost = grep { /^400 invalid_grant / } @res;
    my @other = grep { !/^200 / && !/^400 invalid_grant / } @res;
    return (\@ok, \@lost, \@other);
}

# --- one refresh token, 16 processes ------------------------------------------------------
for my $round (1 .. $ROUNDS) {
    my $pw = password_token('webapp', 'alice', 'wonderland')->{json} || {};
    my $rt = $pw->{refresh_token} // 'none';
    my ($ok, $lost, $other) = tally(race("grant_type=refresh_token&refresh_token=$rt"));
    ok t_cmp(scalar @$ok, 1, "refresh round $round: exactly one of $N simultaneous "
             . "refreshes succeeds") or diag join "\n", @$ok;
    ok t_cmp(scalar @$lost, $N - 1, "refresh round $round: the other " . ($N - 1)
             . " get 400 invalid_grant") or diag join "\n", @$other;
    # the losers presented a used refresh token: a replay, which revokes the family,
    # the winner's new tokens included (SPEC §5)
    my (undef, undef, $at, $newrt) = split / /, ($ok->[0] // '0 - - -');
    is_deeply introspect($at), { active => JSON::PP::false() },
              "refresh round $round: the replays revoked the family (winner's token inactive)";
    is_oauth_error(refresh('webapp', $newrt), 400, 'invalid_grant',
                   "refresh round $round: the winner's new refresh token is refused");
}

# --- one authorization code, 16 processes -------------------------------------------------
for my $round (1 .. $ROUNDS) {
    my $code = get_code() // 'none';
    my ($ok, $lost, $other) = tally(race('grant_type=authorization_code&code=' . $code
                                         . '&redirect_uri=https%3A%2F%2Fapp.example%2Fcb'));
    ok t_cmp(scalar @$ok, 1, "code round $round: exactly one of $N simultaneous "
             . "redemptions succeeds") or diag join "\n", @$ok;
    ok t_cmp(scalar @$lost, $N - 1, "code round $round: the other " . ($N - 1)
             . " get 400 invalid_grant") or diag join "\n", @$other;
    my (undef, undef, $at) = split / /, ($ok->[0] // '0 - - -');
    is_deeply introspect($at), { active => JSON::PP::false() },
              "code round $round: a second use of the code revoked what it issued";
}

# --- one family, revoked and refreshed at once ---------------------------------------------
# half the processes revoke the refresh token, half refresh with it: at most one refresh
# wins, every revocation is answered 200, and afterwards no token of the family is
# valid -- not the original pair, not what a winning refresh issued (SPEC §5, RFC 7009 §2.1:
# revoking a refresh token revokes the access tokens of the same grant)
for my $round (1 .. $ROUNDS) {
    my $pw = password_token('webapp', 'alice', 'wonderland')->{json} || {};
    my $rt = $pw->{refresh_token} // 'none';
    my @res = run_together($N,
        sub { tls_connect() },
        sub {
            my ($i, $sock) = @_;
            my $r = $i % 2
                ? raw_post($sock, '/oauth/revoke', "token=$rt&token_type_hint=refresh_token",
                           auth => $WEBAPP)
                : raw_post($sock, '/oauth/token', "grant_type=refresh_token&refresh_token=$rt",
                           auth => $WEBAPP);
            close $sock;
            my $j = $r->{json} || {};
            return join ' ', ($i % 2 ? 'revoke' : 'refresh'), $r->{status} || 0,
                             $j->{error} // '-', $j->{access_token} // '-',
                             $j->{refresh_token} // '-';
        });
    my @rev  = grep { /^revoke / } @res;
    my @ref  = grep { /^refresh / } @res;
    my @won  = grep { /^refresh 200 / } @ref;
    my @odd  = grep { !/^refresh (200|400 invalid_grant) / } @ref;
    ok !(grep { !/^revoke 200 / } @rev) && @rev == $N / 2,
       "revoke/refresh round $round: all " . ($N / 2) . " revocations answered 200"
       or diag join "\n", @rev;
    ok @won <= 1 && !@odd, "revoke/refresh round $round: at most one refresh won ("
       . scalar(@won) . "), the others 400 invalid_grant" or diag join "\n", @ref;
    my @family = ($pw->{access_token}, $rt,
                  map { (split / /)[3, 4] } @won);
    my @alive = grep { introspect($_)->{active} } grep { defined && $_ ne '-' } @family;
    ok !@alive, "revoke/refresh round $round: no token of the family is active afterwards ("
       . scalar(@family) . " checked)" or diag "still active: @alive";
    is_oauth_error(refresh('webapp', $won[0] ? (split / /, $won[0])[4] : $rt), 400,
                   'invalid_grant', "revoke/refresh round $round: the newest refresh token "
                   . "is refused");
}

# --- 16 x 10 client_credentials tokens at once --------------------------------------------
my @res = run_together($N, undef, sub {
    my @t;
    for (1 .. 10) {
        my $s = tls_connect();
        my $r = raw_post($s, '/oauth/token', 'grant_type=client_credentials&scope=read',
                         auth => ['m2m', 'm2m-secret']);
        close $s;
        push @t, $r->{status} == 200 ? ($r->{json} || {})->{access_token} // 'none'
                                     : "HTTP$r->{status}";
    }
    return join ' ', @t;
});
my @tokens = map { split / / } @res;
my @bad = grep { !/^[A-Za-z0-9_-]{43}$/ } @tokens;
ok t_cmp(scalar @tokens, $N * 10, ($N * 10) . ' answers') or diag "@res";
ok !@bad, 'all of them 200 with a 43-character token' or diag "@bad";
my %seen;
ok t_cmp(scalar(grep { !$seen{$_}++ } @tokens), $N * 10, 'all tokens distinct');

# every token is visible to every process at once: introspect them, again from 16
# processes (each on its own connections)
my @chunks = map { [ @tokens[$_ * 10 .. $_ * 10 + 9] ] } 0 .. $N - 1;
my @act = run_together($N, undef, sub {
    my ($i) = @_;
    my @a;
    for my $t (@{ $chunks[$i] }) {
        my $s = tls_connect();
        my $r = raw_post($s, '/oauth/introspect', 'token=' . ($t // ''), auth => ['rs', 'rs-secret']);
        close $s;
        push @a, ($r->{json} && $r->{json}{active}) ? 1 : 0;
    }
    return join '', @a;
});
my $active = () = join('', @act) =~ /1/g;
ok t_cmp($active, $N * 10, 'all of them introspect active (from 16 other processes)');
my $st = oas_status();
ok $st->{store}{disk_entries} >= $N * 10, "the store holds them ($st->{store}{disk_entries} on disk)";
