# The soak (issue 5 item 4): a bounded load run on loopback mixing every grant
# (client credentials, password, authorization code with PKCE through the approval
# form), refresh with rotation, a replayed refresh token, introspection, revocation and
# protected-resource requests (AuthType Bearer), from forked workers on keep-alive TLS
# connections (t/lib/OAS/Soak.pm), against the vhost oas_soak (t/conf/soak.conf.in: a
# store of its own).  Proves: no 5xx (seen by the clients and in the vhost's own access
# log), no unexpected answer, no lost token (every token issued and not revoked is still
# active at the end: introspection and a bearer request; every revoked or expired one
# inactive), and the httpd children's RSS, open files and the store flat at the end
# versus the start (after a warm-up).  The figures go to diag and t/logs/soak-figures.txt.
#
# Environment (tools/run-tests passes every OAS_* variable on):
#   OAS_SOAK_SECONDS=45    the soak's length (make soak: 600)
#   OAS_SOAK_WARMUP=15     the warm-up before the start figures
#   OAS_SOAK_WORKERS=3     client processes, one keep-alive connection each
#   OAS_SOAK_RATE=60       requests per second per worker (0: as fast as it goes)
#   OAS_SANITIZE=1         the ASan build: the RSS assertion is skipped (ASan's
#                          quarantine holds freed memory), everything else stays
#
# "Flat", the tolerances:
#   RSS     per child present at both points (a child the MPM started later has no
#           start figure): private RSS (VmRSS - RssShmem) grows by at most
#           max(2 MiB, 10 %).  Shared memory is left out: a child's RssShmem grows as it
#           touches more of the store's fixed segment, which is no leak.  2 MiB is
#           httpd's own MaxMemFree per allocator (APR keeps that much freed memory);
#           a leak of 50 bytes a request shows above it in the long form (make soak).
#   files   per such child, the number of open descriptors is the same (after the
#           workers closed their connections and the counts stopped moving).
#   store   the shared-memory segment has the same size; memory entries stay within
#           OAuthASStoreMemory, no pending code or approval form is left, the store was
#           never full; the store file holds exactly the entries the ledger accounts
#           for (OAS::Soak::expected_entries), give or take short-lived tokens the
#           30-s purge has not reached yet.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::Soak;
use JSON::PP ();
use Time::HiRes qw(time sleep);

plan tests => 15, need_module('oauth_as'), need_module('ssl');

my $SECS    = $ENV{OAS_SOAK_SECONDS} || 45;
my $WARM    = $ENV{OAS_SOAK_WARMUP}  || 15;
my $WORKERS = $ENV{OAS_SOAK_WORKERS} || 3;
my $RATE    = $ENV{OAS_SOAK_RATE}    // 60;
my $SAN     = ($ENV{OAS_SANITIZE} // '') eq '1';
my $PORT    = Apache::Test::vars('oas_soak_port') or die "no oas_soak vhost\n";
my $LOGS    = Apache::Test::vars('t_logs');
my $MPM     = Apache::Test::config()->{mpm} // '?';
my $STORE   = "$LOGS/soak/tokens";
my $status_requests = 0;

sub store_status {
    $status_requests++;
    my $r = get('/oauth/status', port => $PORT);
    diag("status: HTTP $r->{status}: $r->{body}") unless $r->{status} == 200;
    my $s = ($r->{json} || {})->{store} || {};
    return $s;
}

sub shm_file {
    open my $fh, '<', "$STORE.info" or return undef;
    while (<$fh>) { return OAS::Soak::apr_shm_path($1) if /^shm\s+(\S+)/ }
    return undef;
}

# the children's figures once their counts of open files stopped moving (the
# workers closed their connections; a server closes its side a moment later)
sub settled_procs {
    my $end = time + 20;
    my $prev = OAS::Soak::proc_figures(child_pids());
    while (1) {
        sleep 1;
        my $now = OAS::Soak::proc_figures(child_pids());
        my $same = keys %$now == keys %$prev
            && !grep { !$prev->{$_} || $prev->{$_}{fds} != $now->{$_}{fds} } keys %$now;
        return $now if $same || time > $end;
        $prev = $now;
    }
}

sub snapshot {
    my %s = (time => time, procs => settled_procs(), store => store_status(),
             served => OAS::Soak::served_by_child(http_port()));
    $s{parent} = OAS::Soak::proc_figures(server_pid())->{ server_pid() };
    for my $ext (qw(.dir .pag)) {             # the shards PATH.<i>.dir, .pag
        $s{files}{$ext} = 0;
        $s{files}{$ext} += -s $_ // 0 for glob "$STORE.[0-9]*$ext";
    }
    my $shm = shm_file();
    $s{shm_name} = $shm // '?';
    $s{shm_size} = defined $shm && -e $shm ? -s $shm : -1;
    return \%s;
}

sub run_all {
    my ($workers, $secs) = @_;
    $_->run($secs) for @$workers;
    return OAS::Soak::merge_reports(map { $_->wait_report($secs + 600) } @$workers);
}

$SIG{PIPE} = 'IGNORE';           # a worker that died is reported, not fatal here

# --- warm-up, start figures, the soak, end figures, the final check ----------------------
my $t0 = time;
my @workers = map {
    OAS::Soak::Worker->start(port => $PORT, rate => $RATE, live_cap => 200,
                             seed => $$ * 31 + $_)
} 1 .. $WORKERS;
my $warm = run_all(\@workers, $WARM);
my $start = snapshot();
my $soak = run_all(\@workers, $SECS);          # cumulative: warm-up included
my $end = snapshot();
for (@workers) { $_->check }
my $final = OAS::Soak::merge_reports(map { $_->wait_report(1800) } @workers);
$_->finish for @workers;
my $elapsed = time - $t0;

# --- requests -----------------------------------------------------------------------------
my $soak_reqs = $soak->{requests} - $warm->{requests};
my $span = $end->{time} - $start->{time};
my %kinds = %{ $final->{by_kind} };
my @want_kinds = qw(cc password authorize_page authorize_approve code_token refresh replay
                    introspect introspect_revoked revoke bearer bearer_revoked shortlived);
my @missing = grep { !$soak->{by_kind}{$_} } @want_kinds;
ok !@missing, "the mix ran every kind of request ($soak_reqs requests in "
   . sprintf('%.0f', $span) . " s, $WORKERS workers)" or diag "missing: @missing";

ok t_cmp($final->{s5xx}, 0, 'no 5xx answer (as the clients saw them)');

# the server's own view: the vhost's access log, one "status method path" line a request
my %log_status;
my $log_lines = 0;
if (open my $fh, '<', "$LOGS/soak_access_log") {
    while (<$fh>) { $log_lines++; $log_status{$1}++ if /^(\d{3}) / }
}
my $log_5xx = 0;
$log_5xx += $log_status{$_} for grep { /^5/ } keys %log_status;
my $sent = $final->{requests} + $status_requests;
ok $log_5xx == 0 && $log_lines == $sent,
   "access log: $log_lines requests ($sent sent), no 5xx"
   or diag "statuses in the access log: " . join ', ', map { "$_ x$log_status{$_}" } sort keys %log_status;

ok t_cmp($final->{unexpected}, 0, 'every answer was the expected one')
    or diag join "\n", @{ $final->{errors} };

my $chk = $final->{check};
ok $chk->{live_checked} > 0 && $chk->{lost} == 0,
   "no lost token: $chk->{live_checked} live tokens all active at the end "
   . "(introspection, and a bearer request for the access tokens)";
ok $chk->{revoked_checked} > 0 && $chk->{resurrected} == 0,
   "$chk->{revoked_checked} revoked tokens (of $chk->{revoked_total}) all inactive, "
   . "$chk->{expired_checked} expired ones too";

# --- the children: RSS and open files ---------------------------------------------------
# like with like: a child compared has served at least $WARM_REQS requests before the
# start figures (one the MPM started late, or that the warm-up's connections missed,
# would show its first use of every code path as growth)
my $WARM_REQS = 50;
my @common = sort { $a <=> $b } grep { $end->{procs}{$_} } keys %{ $start->{procs} };
my @cold = grep { ($start->{served}{$_} // 0) < $WARM_REQS } @common;
@common = grep { ($start->{served}{$_} // 0) >= $WARM_REQS } @common;
my (@rss_bad, @fd_bad, @rows);
for my $pid (@common) {
    my ($a, $b) = ($start->{procs}{$pid}, $end->{procs}{$pid});
    my ($pa, $pb) = ($a->{rss} - $a->{shmem}, $b->{rss} - $b->{shmem});
    my $tol = $pa * 0.10 > 2048 ? $pa * 0.10 : 2048;
    push @rss_bad, "$pid: private RSS $pa -> $pb kB (tolerance +" . int($tol) . ")"
        if $pb - $pa > $tol;
    push @fd_bad, "$pid: $a->{fds} -> $b->{fds} open files" if $a->{fds} != $b->{fds};
    push @rows, sprintf "  child %-7d RSS %6d -> %6d kB (private %6d -> %6d, shm %5d -> %5d)"
        . "  fds %3d -> %3d (sockets %d -> %d)  requests %d -> %d", $pid, $a->{rss}, $b->{rss},
        $pa, $pb, $a->{shmem}, $b->{shmem}, $a->{fds}, $b->{fds}, $a->{sockets}, $b->{sockets},
        $start->{served}{$pid} // 0, $end->{served}{$pid} // 0;
}
for my $pid (@cold) {
    my ($a, $b) = ($start->{procs}{$pid}, $end->{procs}{$pid});
    push @rows, sprintf "  child %-7d RSS %6d -> %6d kB, fds %d -> %d, requests %d -> %d: "
        . "not compared (served fewer than $WARM_REQS before the start)", $pid, $a->{rss},
        $b->{rss}, $a->{fds}, $b->{fds}, $start->{served}{$pid} // 0, $end->{served}{$pid} // 0;
}
for my $pid (sort { $a <=> $b } grep { !$end->{procs}{$_} } keys %{ $start->{procs} }) {
    push @rows, sprintf "  child %-7d RSS %6d kB, fds %d at the start; gone at the end",
        $pid, $start->{procs}{$pid}{rss}, $start->{procs}{$pid}{fds};
}
for my $pid (sort { $a <=> $b } grep { !$start->{procs}{$_} } keys %{ $end->{procs} }) {
    push @rows, sprintf "  child %-7d RSS %6d kB, fds %d at the end; started during the soak",
        $pid, $end->{procs}{$pid}{rss}, $end->{procs}{$pid}{fds};
}

# prefork replaces children all along (Apache::Test's MaxSpareServers 2 against three
# clients that reconnect): when no warmed child lived through the soak, compare the
# warmed children of the start with those of the end (the largest private RSS, the
# most open files) -- like with like across processes
my $compared = scalar @common;
if (!@common) {
    my %side;
    for my $p (['start', $start], ['end', $end]) {
        my ($when, $f) = @$p;
        my @w = grep { ($f->{served}{$_} // 0) >= $WARM_REQS } keys %{ $f->{procs} };
        my ($rss, $fds) = (0, 0);
        for my $pid (@w) {
            my $x = $f->{procs}{$pid};
            $rss = $x->{rss} - $x->{shmem} if $x->{rss} - $x->{shmem} > $rss;
            $fds = $x->{fds} if $x->{fds} > $fds;
        }
        $side{$when} = { n => scalar @w, rss => $rss, fds => $fds };
    }
    my ($a, $b) = ($side{start}, $side{end});
    if ($a->{n} && $b->{n}) {
        $compared = $a->{n} + $b->{n};
        my $tol = $a->{rss} * 0.10 > 2048 ? $a->{rss} * 0.10 : 2048;
        push @rss_bad, "warmed children: largest private RSS $a->{rss} -> $b->{rss} kB"
            if $b->{rss} - $a->{rss} > $tol;
        push @fd_bad, "warmed children: most open files $a->{fds} -> $b->{fds}"
            if $a->{fds} != $b->{fds};
        push @rows, sprintf "  warmed children (%d at the start, %d at the end, none lived "
            . "through): largest private RSS %d -> %d kB, most open files %d -> %d",
            $a->{n}, $b->{n}, $a->{rss}, $b->{rss}, $a->{fds}, $b->{fds};
    }
}
ok $compared > 0, scalar(@common) . " httpd children warmed up at the start and present at "
   . "the end" . (@common ? '' : ", or warmed children at both ends ($compared)");
SKIP: {
    skip 'OAS_SANITIZE=1: ASan holds freed memory in quarantine', 1 if $SAN;
    ok !@rss_bad, 'private RSS of every child flat (growth within max(2 MiB, 10 %))'
        or diag join "\n", @rss_bad;
}
ok !@fd_bad, 'open files of every child the same at the end as at the start'
    or diag join "\n", @fd_bad;

# --- the store --------------------------------------------------------------------------
my ($ss, $se) = ($start->{store}, $end->{store});
ok $start->{shm_size} > 0 && $start->{shm_size} == $end->{shm_size},
   "shared-memory segment $end->{shm_name}: $start->{shm_size} -> $end->{shm_size} bytes";
my $mem = sub { my $s = shift; my $n = 0; $n += $_ for values %{ $s->{memory_entries} || {} }; $n };
my %me = %{ $se->{memory_entries} || {} };
# (the nonces of posted approval forms stay until those forms expire, 10 min, in at
# most about a quarter of the memory tier)
ok $mem->($se) <= ($se->{memory_capacity} // 0)
   && !($me{code} // 0) && ($me{csrf} // 0) <= int(($se->{memory_capacity} // 0) / 4) + 1,
   'memory entries within capacity (' . $mem->($se) . " of $se->{memory_capacity}), "
   . 'no pending code left, posted forms\' nonces (' . ($me{csrf} // 0) . ') within their share';
ok t_cmp($se->{full} // -1, 0, 'the store was never full');

for my $p (['start', $ss, $warm], ['end', $se, $soak]) {
    my ($when, $st, $rep) = @$p;
    my $range = OAS::Soak::expected_entries($rep);
    my $n = $st->{disk_entries} // -1;
    ok $n >= $range->[0] && $n <= $range->[1],
       "store file at the $when: $n entries, the ledger accounts for "
       . "$range->[0]..$range->[1] (live tokens, rotation tombstones, revoked families)"
       or diag JSON::PP->new->canonical->encode($rep->{ledger});
}

# --- the figures --------------------------------------------------------------------------
my @fig;
push @fig, sprintf "soak: %s MPM, %d s after a %d-s warm-up, %d workers at %s req/s each, "
    . "%s", $MPM, $span, $WARM, $WORKERS, $RATE || 'max', scalar localtime;
push @fig, sprintf "requests: %d in the soak (%.0f/s), %d in all (warm-up and final check "
    . "included); 5xx: %d (clients), %d (access log); unexpected answers: %d; reconnects: %d",
    $soak_reqs, $soak_reqs / ($span || 1), $final->{requests}, $final->{s5xx}, $log_5xx,
    $final->{unexpected}, $final->{reconnects};
push @fig, 'per kind (all phases): ' . join ', ', map {
    my $k = $_; "$k " . join '/', map { "$_ x$kinds{$k}{$_}" } sort keys %{ $kinds{$k} }
} sort keys %kinds;
my $l = $soak->{ledger};
push @fig, sprintf "ledger: %d client-credentials and %d refreshable grants issued, %d codes, "
    . "%d rotations, %d replays, %d families and %d cc tokens revoked, %d short-lived tokens; "
    . "at the end %d live grants (%d access, %d refresh tokens)",
    map { $l->{$_} // 0 } qw(cc family codes rotations replays revoked_families revoked_cc short
                             live_grants live_access live_refresh);
push @fig, sprintf "final check: %d live tokens active, %d lost; %d of %d revoked tokens "
    . "inactive (%d not); %d expired inactive", $chk->{live_checked}, $chk->{lost},
    $chk->{revoked_checked} - $chk->{resurrected}, $chk->{revoked_total}, $chk->{resurrected},
    $chk->{expired_checked};
push @fig, 'children (start -> end):', @rows;
push @fig, sprintf "  parent  %-7d RSS %6d -> %6d kB, fds %d -> %d", server_pid(),
    $start->{parent}{rss}, $end->{parent}{rss}, $start->{parent}{fds}, $end->{parent}{fds};
my $kinds_str = sub {
    my $m = shift->{memory_entries} || {};
    join ' ', map { "$_=$m->{$_}" } sort keys %$m;
};
push @fig, sprintf "store memory: %s -> %s (capacity %d); disk entries %d -> %d (capacity %d); "
    . "purged %d -> %d; full %d -> %d", $kinds_str->($ss), $kinds_str->($se),
    $se->{memory_capacity} // 0, $ss->{disk_entries} // 0, $se->{disk_entries} // 0,
    $se->{disk_capacity} // 0, $ss->{purged} // 0, $se->{purged} // 0, $ss->{full} // 0,
    $se->{full} // 0;
push @fig, sprintf "store files: shm %s %d -> %d bytes; %s.N.dir %d -> %d, .pag %d -> %d bytes",
    $end->{shm_name}, $start->{shm_size}, $end->{shm_size}, $STORE,
    $start->{files}{'.dir'}, $end->{files}{'.dir'}, $start->{files}{'.pag'},
    $end->{files}{'.pag'};
push @fig, sprintf "wall time %.0f s", $elapsed;
diag $_ for @fig;
if (open my $fh, '>>', "$LOGS/soak-figures.txt") {
    print $fh "$_\n" for @fig, '';
    close $fh;
}
ok -s "$LOGS/soak-figures.txt", "figures written to t/logs/soak-figures.txt";
