# Who may use a used grant, what a refresh checks, and user names JSON cannot carry
# (issue 12 items 6 and 8, and the UTF-8 user name; t/unit/test_refresh_rules.c does
# the same in the core).
#
# 1. A used refresh token or code presented by another client (public, or confidential
#    with its own secret), or by its own client without valid credentials, is refused
#    and changes nothing: the owner's current tokens stay active.  Its own client's
#    replay still revokes the family.
# 2. A refresh checks the client's current registry entry after a graceful restart
#    with a rewritten t/conf/clients.json: the grant that issued the refresh token
#    taken away -> unauthorized_client; refresh_limit 0 -> unauthorized_client; a
#    lowered refresh_limit counts the refreshes already done.  clients.json is
#    restored at the end.
# 3. A user whose name is not valid UTF-8 (jérôme in ISO-8859-1, in t/conf/users)
#    gets invalid_request from the password grant, not a token that introspects
#    without username and sub.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Digest::SHA qw(sha1);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use OAS::Test;
use OAS::TokenTest;

plan tests => 10 + 9 + 12 + 3, need_module('oauth_as'), need_module('ssl');

sub active { my $i = introspect($_[0] // 'none'); return $i->{active} ? 1 : 0 }

sub both_active {
    my ($t, $name) = @_;
    my $ok = ok(active($t->{access_token}) && active($t->{refresh_token}), $name);
    diag('the family was revoked') unless $ok;
    return $ok;
}

# --- 1. a used refresh token ---------------------------------------------------------

my $first = password_token('webapp', 'alice', 'wonderland')->{json} || {};
my $used = $first->{refresh_token} // 'none';
my $r = refresh('webapp', $used);
ok t_cmp($r->{status}, 200, 'webapp refreshes its refresh token once') or diag $r->{body};
my $cur = $r->{json} || {};

my @rt = (grant_type => 'refresh_token', refresh_token => $used);
is_oauth_error(token_req([@rt, client_id => 'spa']), 400, 'invalid_grant',
               'the used refresh token presented by another, public, client: invalid_grant');
is_oauth_error(token_req([@rt], client => 'm2m'), 400, 'invalid_grant',
               '... by another confidential client with its secret: invalid_grant');
is_oauth_error(token_req([@rt], auth => ['webapp', 'not-the-secret']), 401, 'invalid_client',
               '... by its own client with a wrong secret: invalid_client');
is_oauth_error(token_req([@rt, client_id => 'webapp']), 401, 'invalid_client',
               '... by its own client id without a secret: invalid_client');
both_active($cur, "the owner's current access and refresh tokens are still active");
is_oauth_error(refresh('webapp', $used), 400, 'invalid_grant',
               'its own client replaying it: invalid_grant');
ok !active($cur->{access_token}), '... and the family is revoked: the access token';
ok !active($cur->{refresh_token}), '... and the refresh token';
ok !active($first->{access_token}), '... and the first access token';

# --- 1. a used code ----------------------------------------------------------------

my $code = get_code() // 'none';
$r = redeem_code($code);
ok t_cmp($r->{status}, 200, 'webapp redeems a code') or diag $r->{body};
my $from_code = $r->{json} || {};
my @cf = (grant_type => 'authorization_code', code => $code,
          redirect_uri => 'https://app.example/cb');
is_oauth_error(token_req([@cf, client_id => 'spa']), 400, 'invalid_grant',
               'the used code presented by another, public, client: invalid_grant');
is_oauth_error(token_req([@cf], client => 'multi'), 400, 'invalid_grant',
               '... by another confidential client with its secret: invalid_grant');
is_oauth_error(token_req([@cf], auth => ['webapp', 'not-the-secret']), 401, 'invalid_client',
               '... by its own client with a wrong secret: invalid_client');
is_oauth_error(token_req([@cf, client_id => 'webapp']), 401, 'invalid_client',
               '... by its own client id without a secret: invalid_client');
both_active($from_code, "the tokens issued from the code are still active");
is_oauth_error(redeem_code($code), 400, 'invalid_grant', 'its own client replaying it');
ok !active($from_code->{access_token}), '... revokes the access token';
ok !active($from_code->{refresh_token}), '... and the refresh token';

# --- 2. the current registry entry -----------------------------------------------------

my $clients = Apache::Test::vars('t_conf') . '/clients.json';
my $orig = do { open my $fh, '<:raw', $clients or die "$clients: $!"; local $/; <$fh> };
my $restored = 1;

sub write_registry {
    my ($text) = @_;
    my $tmp = "$clients.tmp.$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!";
    print $fh $text;
    close $fh or die "$tmp: $!";
    rename $tmp, $clients or die "rename $tmp: $!";
}

END { if (!$restored) { write_registry($orig); graceful_restart() } }

# the client "rules" (secret rules-secret) with these grants and refresh_limit
sub set_rules {
    my ($grants, $limit) = @_;
    my $reg = JSON::PP->new->decode($orig);
    push @{ $reg->{clients} }, {
        client_id => 'rules', type => 'confidential',
        secret => '{SHA}' . encode_base64(sha1('rules-secret'), ''),
        redirect_uris => ['https://rules.example/cb'],
        grant_types => $grants, scopes => ['read'], refresh_limit => $limit };
    write_registry(JSON::PP->new->pretty->canonical->encode($reg));
    $restored = 0;
    return graceful_restart();
}

my @both = ('authorization_code', 'password');
ok set_rules([@both], 5), 'graceful restart: client rules, password grant, refresh_limit 5';
my @fam = map { (password_token('rules', 'alice', 'wonderland')->{json} || {})->{refresh_token} }
          1 .. 4;
my ($rt_a, $rt_b, $rt_c, $rt_d) = @fam;
$rt_c = ((refresh('rules', $rt_c)->{json}) || {})->{refresh_token};   # c: 1 refresh done
$rt_d = ((refresh('rules', $rt_d)->{json}) || {})->{refresh_token};   # d: 2 refreshes done
$rt_d = ((refresh('rules', $rt_d)->{json}) || {})->{refresh_token};
ok 4 == grep({ defined } $rt_a, $rt_b, $rt_c, $rt_d), 'four refresh tokens of rules';

ok set_rules(['authorization_code'], 5), 'graceful restart: the password grant taken away';
is_oauth_error(refresh('rules', $rt_a), 400, 'unauthorized_client',
               'a refresh token of the password grant: unauthorized_client');
ok set_rules([@both], 0), 'graceful restart: password back, refresh_limit 0';
is_oauth_error(refresh('rules', $rt_b), 400, 'unauthorized_client',
               'refresh_limit 0 (no refresh_token grant): unauthorized_client');
ok set_rules([@both], 2), 'graceful restart: refresh_limit lowered from 5 to 2';
$r = refresh('rules', $rt_c);
ok t_cmp($r->{status}, 200, 'a family with 1 refresh done gets its 2nd') or diag $r->{body};
ok !defined(($r->{json} || {})->{refresh_token}), '... and no new refresh token: the limit';
is_oauth_error(refresh('rules', $rt_d), 400, 'invalid_grant',
               'a family with 2 refreshes done: invalid_grant (refresh limit reached)');
$r = refresh('rules', $rt_a);
ok t_cmp($r->{status}, 200, 'the refused refresh tokens were not used up: the grant back, '
         . 'it refreshes') or diag $r->{body};

write_registry($orig);
ok graceful_restart(), 'graceful restart with clients.json restored';
$restored = 1;

# --- 3. a user name that is not valid UTF-8 ----------------------------------------------

my $latin1 = "j\xe9r\xf4me";    # bytes, as in t/conf/users
$r = password_token('webapp', $latin1, 'wonderland');
is_oauth_error($r, 400, 'invalid_request', 'password grant for a Latin-1 user name: '
               . 'invalid_request');
ok t_cmp(($r->{json} || {})->{error_description}, 'username is not valid UTF-8',
         '... saying why');
is_oauth_error(password_token('webapp', $latin1, 'wrong'), 400, 'invalid_request',
               '... whatever the password (the name is refused before it is checked)');
