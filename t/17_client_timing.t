# Response times do not tell which client ids exist (issue 12 item 7).
#
# <VirtualHost oas_timing> (t/conf/timing.conf.in) has one client, "slow", whose secret
# is a cost-12 bcrypt hash (about 200 ms to check).  An unknown client id used to be
# checked against a fixed cost-5 hash (about 2 ms), so the answer came 100 times sooner
# for ids that do not exist.  Now an unknown id pays the check of a dummy hash of the
# registry's highest cost.  The test sends, interleaved, 5 wrong secrets for "slow" and
# 5 for unknown ids, and compares the medians: the unknown ids' must be at least half
# the known id's (a loaded machine's noise allowed for; no absolute threshold).  Both
# answers are the same 401 invalid_client.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time);
use OAS::Test;
use OAS::TokenTest;

plan tests => 5, need_module('oauth_as'), need_module('ssl');

my $TP = Apache::Test::vars('oas_timing_port');
ok $TP, "vhost oas_timing (port " . ($TP // '?') . ")";

sub attempt {
    my ($id, $secret) = @_;
    my $t0 = time;
    my $r = post_form('/oauth/token', [grant_type => 'client_credentials'],
                      auth => [$id, $secret], port => $TP);
    return (time - $t0, $r);
}

sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }

ok t_cmp((attempt('slow', 'slow-secret'))[1]{status}, 200, 'the right secret of slow: 200');
attempt("warm-up-$_", 'x') for 1 .. 2;

my (@known, @unknown, %status);
for my $i (1 .. 5) {
    my ($dk, $rk) = attempt('slow', "wrong-$i");
    my ($du, $ru) = attempt("nosuch-$i-" . int(rand 1e9), "wrong-$i");
    push @known, $dk;
    push @unknown, $du;
    $status{"$rk->{status} " . (($rk->{json} || {})->{error} // '')}++;
    $status{"$ru->{status} " . (($ru->{json} || {})->{error} // '')}++;
}
ok t_cmp(join(',', sort keys %status), '401 invalid_client',
         'every wrong attempt, known id or not: 401 invalid_client');
my ($mk, $mu) = (median(@known), median(@unknown));
diag(sprintf "medians: known id %.1f ms, unknown id %.1f ms", 1000 * $mk, 1000 * $mu);
ok $mk > 0.01, sprintf('a wrong secret of slow takes a measurable time (%.1f ms)', 1000 * $mk);
ok $mu >= $mk / 2, sprintf('an unknown id takes at least half as long (%.1f ms vs %.1f ms)',
                           1000 * $mu, 1000 * $mk);
