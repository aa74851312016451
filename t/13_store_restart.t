# The default store across restarts and crashes (SPEC §4 codes, §8; issue 2 item 3).
#
# Before each of graceful restart, restart, stop/start and kill -9 of every httpd
# process, fresh tokens are issued (password grant: access + refresh; client
# credentials) and authorization codes are left pending.  After each: every access
# token issued so far introspects active and opens /tok-api (AuthType Bearer), the
# refresh token issued just before refreshes; a pending code survives a graceful
# restart and a restart and is gone after stop/start and after kill -9.
# Then the store of <VirtualHost oas_tiny> (5 entries) fills up: 503
# temporarily_unavailable, nothing issued before is dropped, OAS00401 is logged; once
# its tokens expire it takes new ones.  Last, expired entries are purged in the
# background (the parent's purge runs every 30 s).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::TokenTest;

plan tests => 4 * 10 + 3 + 3 + 15 + 5, need_module('oauth_as'), need_module('ssl');

my (@access, @cc);       # every access token that must stay active, and its origin

sub bearer_ok {
    my ($token) = @_;
    my $r = get('/tok-api', headers => [Authorization => "Bearer $token"]);
    return $r->{status} == 200;
}

sub issue_set {
    my ($label) = @_;
    my $pw = password_token('webapp', 'alice', 'wonderland')->{json} || {};
    my $cc = cc_token('m2m', scope => 'read')->{json} || {};
    my $fv = cc_token('forever')->{json} || {};
    push @access, map { [$_, $label] } grep { defined } $pw->{access_token},
                                                      $cc->{access_token}, $fv->{access_token};
    return $pw->{refresh_token};
}

my %code;
$code{graceful}  = get_code();
$code{restart}   = get_code();     # obtained before the graceful restart, redeemed after the restart
$code{late}      = get_code();     # obtained before the graceful restart, redeemed after it

# what SIGKILL of every process leaves behind: the named shared memory (APR's, in
# /dev/shm), PATH.info naming the dead parent, the pid file, the mutex's lock file.
# The next start must cope with no clean-up.
my %stale;
my $store_base = Apache::Test::vars('t_logs') . '/store/tokens';
sub look_at_crash {
    my $info = do { local (@ARGV, $/) = "$store_base.info"; <> } // '';
    ($stale{info_pid}) = $info =~ /^pid (\d+)/m;
    $stale{pidfile} = -e OAS::Test::pid_file();
}
my @steps = (
    [graceful_restart    => \&graceful_restart,    1],
    [restart             => \&restart,             1],
    [stop_start          => \&stop_start,          0],
    [kill9_all_and_start => sub { kill9_all_and_start(before_start => \&look_at_crash) }, 0],
);
my ($disk_before, $purged_before);
for my $s (@steps) {
    my ($name, $do, $codes_survive) = @$s;
    my $rt = issue_set($name);
    my $pending = $name =~ /^(stop|kill)/ ? get_code() : undef;
    my $sb = oas_status()->{store} || {};
    ($disk_before, $purged_before) = ($sb->{disk_entries}, $sb->{purged});
    my $n_access = @access;

    ok $do->(), "$name: the server is back";

    my @dead = grep { !introspect($_->[0])->{active} } @access;
    ok !@dead, "$name: all $n_access access tokens issued so far introspect active"
        or diag "inactive: " . join ', ', map { "$_->[1]" } @dead;
    my @refused = grep { !bearer_ok($_->[0]) } @access;
    ok !@refused, "$name: ... and open /tok-api (AuthType Bearer)"
        or diag scalar(@refused) . " refused: " . join ', ', map { "$_->[1]" } @refused;

    my $r = refresh('webapp', $rt // 'none');
    ok t_cmp($r->{status}, 200, "$name: the refresh token issued before it refreshes")
        or diag $r->{body};
    my $new = ($r->{json} || {})->{access_token};
    ok $new && introspect($new)->{active}, "$name: the refreshed access token is active";
    push @access, [$new, "$name refreshed"] if $new;
    ok t_cmp(cc_token('m2m')->{status}, 200, "$name: new tokens are issued");

    my $st = store_counts(oas_status());
    # expired tokens of earlier test files may be purged meanwhile (every 30 s)
    # (the count starts again at 0 with new shared memory: stop/start, kill -9)
    my $pa = (oas_status()->{store} || {})->{purged} // 0;
    my $purged = $pa >= $purged_before ? $pa - $purged_before : $pa;
    ok $st->{disk} + $purged >= $disk_before, "$name: /oauth/status shows the disk entries "
        . "($st->{disk} + $purged purged since, before $disk_before)";
    my $sj = oas_status()->{store} || {};
    ok defined $sj->{corrupt} && $sj->{corrupt} == 0 && $sj->{recovered} == 0,
       "$name: the store is not corrupt (corrupt records $sj->{corrupt}, "
       . "memory table recoveries $sj->{recovered})";

    if ($codes_survive) {
        my $c = $name eq 'graceful_restart' ? $code{graceful} : $code{restart};
        $r = redeem_code($c // 'none');
        ok t_cmp($r->{status}, 200, "$name: a code obtained before it is redeemed")
            or diag $r->{body};
        ok(($r->{json} || {})->{refresh_token}, "$name: ... with a refresh token");
        push @access, [$r->{json}{access_token}, "$name code"] if $r->{status} == 200;
    }
    else {
        is_oauth_error(redeem_code($pending // 'none'), 400, 'invalid_grant',
                       "$name: the pending code is gone (codes live in shared memory only)");
        my $late = delete $code{late};
        if (defined $late) {
            is_oauth_error(redeem_code($late), 400, 'invalid_grant',
                           "$name: a code from before the graceful restart is gone too");
        }
        else {
            $r = redeem_code(get_code() // 'none');
            ok t_cmp($r->{status}, 200, "$name: codes issued after it work");
        }
    }
}

# after kill -9, on a server that started with no clean-up
ok $stale{pidfile}, 'kill -9 left the pid file behind (stale), and the server started '
   . 'over it';
ok $stale{info_pid} && !kill(0, $stale{info_pid}),
   "... and $store_base.info naming the dead parent (pid " . ($stale{info_pid} // '?') . ')';
my $info_now = do { local (@ARGV, $/) = "$store_base.info"; <> } // '';
ok t_cmp(($info_now =~ /^pid (\d+)/m)[0], server_pid(), '... which now names the new parent');
my $st = oas_status();
ok $st->{store} && $st->{store}{disk_entries} >= @access,
   "after kill -9: /oauth/status shows the disk entries ($st->{store}{disk_entries} >= "
   . scalar(@access) . ")";
ok t_cmp($st->{store_type}, qr/default|shm|sdbm/i, 'the default store is in use');
my $r = redeem_code(get_code() // 'none');
ok t_cmp($r->{status}, 200, 'the code flow works after kill -9');

# --- the store is full: <VirtualHost oas_tiny>, 5 entries --------------------------------------

# for the background purge at the end: tokens of 2 s in the main store; three are never
# looked at again, so only the parent's purge can remove them; the probe is
# introspected once expired (which removes it at once)
my $p0 = oas_status();
my ($purged0, $runs0) = ($p0->{store}{purged}, $p0->{counters}{purge_runs});
my @short = map { (cc_token('shortlived')->{json} || {})->{access_token} } 1 .. 3;
my $probe = (cc_token('shortlived')->{json} || {})->{access_token};
my $short_issued = time;

my $tp = Apache::Test::vars('oas_tiny_port');
my $t0 = time;
my @tiny = map { cc_token('m2m', port => $tp) } 1 .. 5;
ok !(grep { $_->{status} != 200 } @tiny), 'tiny store: 5 tokens issued'
    or diag join "\n", map { "$_->{status} $_->{body}" } @tiny;
@tiny = map { ($_->{json} || {})->{access_token} // 'none' } @tiny;

expect_error_log(qr/OAS00401: .*store is full/);
my $mark = error_log_mark();
$r = cc_token('m2m', port => $tp);
is_oauth_error($r, 503, 'temporarily_unavailable', 'tiny store: the 6th token -> 503 '
               . 'temporarily_unavailable, Cache-Control: no-store');
ok !defined(($r->{json} || {})->{access_token}), '... and no token';
ok wait_for_log(qr/OAS00401: .*store is full/, $mark, 10), 'OAS00401 logged';
is_oauth_error(password_token('webapp', 'bob', 'builder', port => $tp), 503,
               'temporarily_unavailable', 'tiny store: a password grant -> 503 as well');
my @gone = grep { !introspect($_, port => $tp)->{active} } @tiny;
ok !@gone, 'tiny store: the 5 tokens issued before still introspect active';
ok bearer_ok($tiny[0]) == 0, 'tiny store: its tokens are not in the main store';
my $ts = store_counts(oas_status(port => $tp));
ok t_cmp($ts->{disk}, 5, 'tiny store: 5 entries on disk');
ok $ts->{full} >= 2, "tiny store: /oauth/status counts the refusals (full = $ts->{full})";
my $mc = store_counts(oas_status());
ok $mc->{disk} > 5, 'the main store is another one and not full';

# its tokens live 8 s (OAuthASAccessTokenLifetime 8 in the vhost): then it takes new ones
my $wait = $t0 + 9.5 - time;
sleep $wait if $wait > 0;
my @gone2 = grep { introspect($_, port => $tp)->{active} } @tiny;
ok !@gone2, 'tiny store: its tokens expired after 8 s';
$r = cc_token('m2m', port => $tp);
ok t_cmp($r->{status}, 200, 'tiny store: expired entries make room: a new token is issued')
    or diag $r->{body};
ok introspect(($r->{json} || {})->{access_token} // 'x', port => $tp)->{active},
   '... that introspects active';
ok t_cmp(cc_token('m2m', port => $tp)->{status}, 200, '... and another');
ok t_cmp(cc_token('m2m')->{status}, 200, 'the main store issues all along');

# --- background purge ----------------------------------------------------------------------

$wait = $short_issued + 3 - time;
sleep $wait if $wait > 0;
ok !(grep { !defined } @short, $probe), 'shortlived tokens issued';
is_deeply introspect($probe // 'x'), { active => JSON::PP::false() },
          'a token of access_token_lifetime 2 introspects inactive after 3 s';
my $end = time + 35;
my $p1;
while (time < $end) {
    $p1 = oas_status();
    last if $p1->{store}{purged} >= $purged0 + 4;
    sleep 1;
}
ok t_cmp($p1->{counters}{purge_runs}, qr/^\d+$/, 'purge runs are counted');
ok $p1->{counters}{purge_runs} > $runs0, "the parent's purge ran within 35 s "
   . "(runs $runs0 -> $p1->{counters}{purge_runs})";
ok $p1->{store}{purged} >= $purged0 + 4, 'expired entries were purged in the background '
   . "(purged $purged0 -> $p1->{store}{purged})";
