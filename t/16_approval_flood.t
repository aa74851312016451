# Approval pages fill no store (issue 12 item 3; SPEC section 8: "entries that anyone
# can create never crowd out codes, tokens or the failure counters").
#
# <VirtualHost oas_flood> (t/conf/bruteforce.conf.in) has a store of its own with 16
# memory entries and the limits 3 failures / lock 10 s.  Signed in as alice, the test
# shows the approval page 100 times (each page used to hold a memory entry for 10
# minutes, so that after 16 pages every code flow got temporarily_unavailable and the
# failure counters could not be written: the limits let every attempt through).  Then:
#  - the store's memory holds no approval-form entry
#  - a code flow still works: the code is issued and redeemed for tokens; its form
#    cannot be posted twice
#  - client credentials still issue tokens
#  - failed client authentications are still limited: 401 three times, then 429
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;

plan tests => 13, need_module('oauth_as'), need_module('ssl');

my $FP    = Apache::Test::vars('oas_flood_port');
my $ALICE = ['alice', 'wonderland'];
my $Q     = form_encode([response_type => 'code', client_id => 'webapp',
                         redirect_uri => 'https://app.example/cb', state => 'flood']);

ok $FP, "vhost oas_flood (port " . ($FP // '?') . ")";

my $st0 = oas_status(port => $FP);
ok t_cmp($st0->{store}{memory_capacity} // -1, 16, 'its store holds 16 entries in memory');

my ($shown, $first) = (0, undef);
for my $i (1 .. 100) {
    my $r = get("/oauth/authorize?$Q", auth => $ALICE, port => $FP);
    unless ($r->{status} == 200) {
        diag("page $i: HTTP $r->{status} " . ($r->{headers}->header('Location') // ''));
        last;
    }
    $first //= $r;
    $shown++;
}
ok t_cmp($shown, 100, 'alice was shown the approval page 100 times (6 x the memory tier)');
my $st1 = oas_status(port => $FP);
ok t_cmp($st1->{store}{memory_entries}{csrf} // -1, 0, 'no approval page holds a store entry');

my $code = get_code(req => { port => $FP });
ok $code, 'a code flow after the pages: the code is issued';
my $t = redeem_code($code // 'none', port => $FP);
ok t_cmp($t->{status}, 200, '... and redeemed');
ok $t->{json} && $t->{json}{access_token} && $t->{json}{refresh_token},
   '... for an access and a refresh token';

# the first of the 100 pages, posted twice
my ($form) = ($first->{body} // '') =~ m{<form method="post"[^>]*>(.*?)</form>}s;
my @f;
push @f, html_unescape($1), html_unescape($2)
    while ($form // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g;
my $a1 = post_form('/oauth/authorize', [@f, decision => 'approve'], auth => $ALICE, port => $FP);
ok t_cmp($a1->{status}, 303, 'the first page shown, posted: approved');
my $a2 = post_form('/oauth/authorize', [@f, decision => 'approve'], auth => $ALICE, port => $FP);
ok t_cmp($a2->{status}, 403, '... posted again: 403 (each form is taken once)');

ok t_cmp(cc_token('m2m', port => $FP)->{status}, 200, 'client credentials: a token');

my @st = map { post_form('/oauth/token', [grant_type => 'client_credentials'],
                         auth => ['m2m', "wrong-$_"], port => $FP)->{status} } 1 .. 3;
ok t_cmp("@st", '401 401 401', 'three wrong secrets of m2m: 401 each');
my $locked = post_form('/oauth/token', [grant_type => 'client_credentials'],
                       auth => ['m2m', 'm2m-secret'], port => $FP);
ok t_cmp($locked->{status}, 429, '... then m2m is locked: 429, the right secret too');
ok t_cmp(($locked->{json} || {})->{error} // '', 'temporarily_unavailable',
         '... temporarily_unavailable');
