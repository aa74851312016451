# A child killed in the middle of requests, while load runs (issue 5 item 2).
#
# Six client processes keep issuing tokens (client_credentials, password grant,
# refresh) and introspecting them over fresh TLS connections, so that the requests
# spread over every httpd child; meanwhile another process SIGKILLs a random httpd
# child every half second (the MPM starts a new one).  Two more clients send their
# token requests' bodies a byte at a time, so that some kills land mid-request for
# sure.  Some kills land while a
# child holds the store's mutex or is changing the shared table: the mutex must
# not stay locked (flock ends with its process), a torn table must not be read
# (OAS00309: the next holder empties it, tokens come back from the store file).
# Afterwards: the server answers at once; every token that was answered 200 is
# still active (introspection and AuthType Bearer); no answer was a 5xx; the store
# reports no corrupt record.  Requests whose connection died with their child are
# counted, not judged.  Duration: OAS_KILL_SECONDS (default 15).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use MIME::Base64 ();
use POSIX ();
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::TokenTest;

my $SECONDS = $ENV{OAS_KILL_SECONDS} || 15;
my $LOADERS = 6;
my $MPM = Apache::Test::config()->{mpm} // '';

plan tests => 10, need_module('oauth_as'), need_module('ssl');

my $M2M    = ['m2m', 'm2m-secret'];
my $WEBAPP = ['webapp', 'webapp-secret'];
my $RS     = ['rs', 'rs-secret'];

# the MPM's worker processes: direct children of the parent; with mod_cgid (worker,
# event) its daemon is a child too, single-threaded, and is left alone
sub workers {
    my $parent = server_pid() or return ();
    my @w;
    opendir my $d, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$pid/status" or next;
        my %f = map { /^(\w+):\s*(.*)$/ ? ($1, $2) : () } <$fh>;
        next unless ($f{PPid} // 0) == $parent && ($f{State} // '') !~ /^[ZX]/;
        next if $MPM ne 'prefork' && ($f{Threads} // 1) < 2;
        push @w, $pid;
    }
    return @w;
}

# the killer: a process of its own, SIGKILL to a random worker every 0.5 s
my $kills_file = Apache::Test::vars('t_logs') . '/kill_child.count';
unlink $kills_file;
my $killer = fork;
die "fork: $!" unless defined $killer;
if ($killer == 0) {
    my ($n, $end) = (0, time + $SECONDS);
    sleep 1;                                      # let the load start
    while (time < $end - 0.5) {
        my @w = workers();
        if (@w) { $n += kill 'KILL', $w[int rand @w] }
        sleep 0.3 + rand 0.4;
    }
    if (open my $fh, '>', $kills_file) { print $fh "$n\n"; close $fh }
    POSIX::_exit(0);
}

# one loader: its answers as "A:token" (answered 200, must stay active), "X:n" (n
# connections lost with their child), "E:status:what" (a 5xx or another surprise)
sub loader {
    my ($i) = @_;
    my (@tok, @bad, $rt);
    my ($lost, $n) = (0, $i);
    my $end = time + $SECONDS;
    while (time < $end) {
        my $s = eval { tls_connect(timeout => 10) } or do { $lost++; sleep 0.05; next };
        my ($what, $r) = ('', undef);
        my $k = $n++ % 4;
        if ($k == 0) {
            ($what, $r) = ('cc', raw_post($s, '/oauth/token', 'grant_type=client_credentials',
                                          auth => $M2M, timeout => 20));
        }
        elsif ($k == 1 || !$rt) {
            ($what, $r) = ('password', raw_post($s, '/oauth/token',
                          'grant_type=password&username=alice&password=wonderland',
                          auth => $WEBAPP, timeout => 20));
        }
        elsif ($k == 2) {
            ($what, $r) = ('refresh', raw_post($s, '/oauth/token',
                          "grant_type=refresh_token&refresh_token=$rt",
                          auth => $WEBAPP, timeout => 20));
            # an answer lost with its child may have used the refresh token up: never
            # present it again (a replay would revoke the family, by design)
            undef $rt if $r->{status} != 200;
        }
        else {
            my $t = @tok ? $tok[int rand @tok] : 'none';
            ($what, $r) = ('introspect', raw_post($s, '/oauth/introspect', "token=$t",
                                                  auth => $RS, timeout => 20));
            if ($r->{status} == 200 && @tok && !($r->{json} || {})->{active}) {
                push @bad, "E:200:introspect said inactive for a token answered 200";
            }
        }
        close $s;
        my $st = $r->{status} || 0;
        if ($st == 0) { $lost++; next }
        if ($st == 200 && $what ne 'introspect') {
            my $j = $r->{json} || {};
            push @tok, $j->{access_token} if $j->{access_token};
            $rt = $j->{refresh_token} if $j->{refresh_token};
        }
        elsif ($st != 200) {
            push @bad, "E:$st:$what:" . substr($r->{body} // '', 0, 80);
        }
    }
    return join ' ', (map { "A:$_" } @tok), "X:$lost", map { s/\s+/_/gr } @bad;
}

# a slow loader: its token requests send their body a byte at a time, so that a
# child serving one is killed mid-request for sure (counted as lost when it is)
sub slow_loader {
    my ($lost, $done, @tok) = (0, 0);
    my $body = 'grant_type=client_credentials&scope=read';
    my $auth = 'Basic ' . MIME::Base64::encode_base64(join(':', @$M2M), '');
    my $end = time + $SECONDS;
    while (time < $end) {
        my $s = eval { tls_connect(timeout => 10) } or do { $lost++; sleep 0.1; next };
        my $ok = syswrite $s, "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
            . "Authorization: $auth\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n";
        for my $c (split //, $body) {
            last unless $ok;
            sleep 0.05;
            local $SIG{PIPE} = 'IGNORE';
            $ok = syswrite $s, $c;
        }
        my $resp = '';
        if ($ok) {
            while (sysread $s, my $buf, 65536) { $resp .= $buf }
        }
        close $s;
        if ($resp =~ m{^HTTP/1\.1 200 } && $resp =~ /"access_token"\s*:\s*"([^"]+)"/) {
            push @tok, $1; $done++;
        }
        elsif ($resp =~ m{^HTTP/1\.1 (\d+)}) { return "E:$1:slow" }
        else { $lost++ }
    }
    return join ' ', (map { "A:$_" } @tok), "X:$lost", "S:$done";
}

my @res = run_together($LOADERS + 2,
                       undef, sub { $_[0] < $LOADERS ? loader($_[0]) : slow_loader() },
                       timeout => $SECONDS + 120);
waitpid $killer, 0;
my $kills = do { local (@ARGV, $/) = $kills_file; <> } // 0;
chomp $kills;

my @words = map { split / / } @res;
my @tokens = map { /^A:(.+)/ ? $1 : () } @words;
my @bad = grep { /^E:/ || /^died/ } @words;
my $lost = 0;
$lost += $_ for map { /^X:(\d+)/ ? $1 : () } @words;
diag "$MPM: $kills children killed in $SECONDS s; " . scalar(@tokens) . " tokens issued, "
   . "$lost requests lost with their child";

ok $kills >= $SECONDS && $lost >= 1, "children were killed under load ($kills in $SECONDS s), "
   . "$lost of them in the middle of a request";
ok @tokens >= 50, 'tokens were issued meanwhile (' . scalar(@tokens) . ')';
ok !@bad, 'no 5xx and no other surprise in any answer' or diag join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)];

# no deadlock: the server answers at once, in every new child
my $t0 = time;
my $r = cc_token('m2m', timeout => 20);
ok t_cmp($r->{status}, 200, 'after the kills a token is issued at once');
my @quick = run_together(8, undef, sub {
    my $s = tls_connect(timeout => 10);
    my $x = raw_post($s, '/oauth/token', 'grant_type=client_credentials', auth => $M2M,
                     timeout => 15);
    return $x->{status} || 0;
}, timeout => 60);
ok !(grep { $_ ne '200' } @quick) && time - $t0 < 30,
   '... and 8 more at once over new connections (no mutex left locked)' or diag "@quick";

# zero lost tokens: every token answered 200 is active, by introspection and as a
# bearer token
my (@inactive, $s);
for my $t (@tokens) {
    my $x = { status => 0 };
    for (1 .. 3) {                 # a keep-alive connection may end: a new one
        $s ||= tls_connect();
        $x = raw_post($s, '/oauth/introspect', "token=$t", auth => $RS);
        last if $x->{status};
        undef $s;
    }
    push @inactive, $t unless ($x->{json} || {})->{active};
    undef $s if ($x->{head} // '') =~ /^Connection:\s*close/mi;
}
ok !@inactive, 'all ' . scalar(@tokens) . ' tokens answered 200 introspect active'
    or diag scalar(@inactive) . ' inactive';
my @sample = @tokens[0 .. ($#tokens < 19 ? $#tokens : 19)];
my @refused = grep { get('/tok-api', headers => [Authorization => "Bearer $_"])->{status} != 200 } @sample;
ok !@refused, scalar(@sample) . ' of them open /tok-api (AuthType Bearer)';

my $st = oas_status()->{store} || {};
ok defined $st->{corrupt} && $st->{corrupt} == 0, 'the store file has no corrupt record';
ok defined $st->{recovered}, "the store counts memory-table recoveries ($st->{recovered})";
ok $st->{disk_entries} >= @tokens, "the store holds the tokens ($st->{disk_entries} on disk)";
