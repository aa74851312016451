# Brute-force limits (issue 5 item 8): OAuthASAuthFailLimit / OAuthASAuthFailLockout.
#
# <VirtualHost oas_brute> (t/conf/bruteforce.conf.in) locks a client id or user name
# for 10 s after 3 failures in a row; <VirtualHost oas_bruteoff> has the limits Off;
# the main HTTPS vhost has the defaults (10 failures within 60 s of each other, 60 s).
#  - a client: wrong secrets up to the limit get 401, then 429 temporarily_unavailable
#    with Retry-After, the right secret too (not checked: no OAS00403 line), at the
#    token and the introspection endpoint; another client goes on; one OAS00501
#    warning, no secret in the log; after the lockout the right secret works
#  - a user of the password grant: the same, and nothing is issued or counted while
#    locked (status counters and store entries unchanged)
#  - shared by every child: 6 processes send a wrong secret at once on connections
#    opened beforehand (prefork: 6 children), the lock follows although no child saw
#    3 failures itself
#  - the default limit on the main vhost, Off on oas_bruteoff, bad directive values
#    refused by httpd -t
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Path qw(make_path);
use Time::HiRes qw(sleep);
use OAS::Test;
use OAS::TokenTest;

plan tests => 47, need_module('oauth_as'), need_module('ssl');

my $BP  = Apache::Test::vars('oas_brute_port');
my $OFF = Apache::Test::vars('oas_bruteoff_port');
my $MPM = Apache::Test::config()->{mpm} // '';
my $CC  = [grant_type => 'client_credentials'];

sub cc_as {
    my ($id, $secret, %opt) = @_;
    return post_form('/oauth/token', $CC, auth => [$id, $secret], port => $BP, %opt);
}

sub pw_as {
    my ($user, $pw) = @_;
    return post_form('/oauth/token', [grant_type => 'password', username => $user,
                                      password => $pw],
                     auth => ['webapp', 'webapp-secret'], port => $BP);
}

# one ok(): 429, temporarily_unavailable, Retry-After 1..$max, no-store, JSON
sub is_locked {
    my ($r, $max, $name) = @_;
    my $ra = $r->{headers} ? $r->{headers}->header('Retry-After') // '' : '';
    my @why;
    push @why, "status $r->{status}" unless $r->{status} == 429;
    push @why, "error " . (($r->{json} || {})->{error} // '(none)')
        unless (($r->{json} || {})->{error} // '') eq 'temporarily_unavailable';
    push @why, "no error_description" unless (($r->{json} || {})->{error_description} // '') ne '';
    push @why, "Retry-After '$ra'" unless $ra =~ /^\d+$/ && $ra >= 1 && $ra <= $max;
    push @why, "Cache-Control" unless ($r->{headers}->header('Cache-Control') // '') =~ /no-store/;
    push @why, "WWW-Authenticate" if defined $r->{headers}->header('WWW-Authenticate');
    my $ok = ok(!@why, $name);
    diag(join('; ', @why) . "\n$r->{body}") unless $ok;
    return $ra;
}

# Wait for the lock to end (Retry-After, then once more should a loaded machine
# need it); the last answer of $try.
sub after_lock {
    my ($ra, $try) = @_;
    my $r;
    for (1 .. 4) {
        sleep(($ra =~ /^\d+$/ ? $ra : 10) + 0.5);
        $r = $try->();
        last unless $r->{status} == 429;
        $ra = $r->{headers}->header('Retry-After') // 10;
    }
    return $r;
}

sub counts { my ($c) = @_; join ' ', map { "$_=" . ($c->{$_} // 'undef') } sort keys %$c }

sub lines_since {
    my ($mark, $re) = @_;
    return grep { $_ =~ $re } split /\n/, error_log_since($mark);
}

ok $BP && $OFF, "vhosts oas_brute (port " . ($BP // '?') . ") and oas_bruteoff";

# --- a client ------------------------------------------------------------------------------

my $mark = error_log_mark();
is_oauth_error(cc_as('m2m', "wrong-secret-$_"), 401, 'invalid_client',
               "m2m: wrong secret $_ of 3: 401 invalid_client") for 1 .. 3;
my $ra = is_locked(cc_as('m2m', 'wrong-secret-4'), 10,
                   'm2m: the 4th attempt: 429 temporarily_unavailable, Retry-After <= 10');
my $m2 = error_log_mark();
is_locked(cc_as('m2m', 'm2m-secret'), 10, 'm2m: the right secret is refused while locked');
ok t_cmp(scalar(lines_since($m2, qr/OAS00403: .*'m2m'/)), 0,
         '... and was not checked (no OAS00403 line)');
ok scalar(lines_since($m2, qr/OAS00502: .*client 'm2m' is locked/)) >= 1,
   '... only refused: an OAS00502 debug line';
is_locked(post_form('/oauth/introspect', [token => 'x'], auth => ['m2m', 'm2m-secret'],
                    port => $BP), 10, 'm2m: locked at the introspection endpoint too');
is_locked(post_form('/oauth/revoke', [token => 'x'], auth => ['m2m', 'm2m-secret'],
                    port => $BP), 10, 'm2m: and at the revocation endpoint');
ok t_cmp(cc_as('sha', 'sha-secret')->{status}, 200, 'another client is not affected');
ok t_cmp(cc_token('m2m')->{status}, 200,
         'm2m on the main vhost (another issuer, its own counters) is not affected');
my @warn = lines_since($mark, qr/OAS00501: /);
ok t_cmp(scalar(grep { /client 'm2m'/ && /locked for 10 seconds/ } @warn), 1,
         'one OAS00501 warning: m2m locked for 10 seconds') or diag join "\n", @warn;
ok !grep({ /wrong-secret|m2m-secret/ } split /\n/, error_log_since($mark)),
   'no secret in the error log';
my $r = after_lock($ra, sub { cc_as('m2m', 'm2m-secret') });
ok t_cmp($r->{status}, 200, 'after the lockout the right secret works');
is_oauth_error(cc_as('m2m', 'wrong-again'), 401, 'invalid_client',
               'after the lockout counting starts over: a wrong secret is 401 again');

# a success clears the count: 2 failures, success, 2 failures: never locked
cc_as('sha', 'bad') for 1 .. 2;
cc_as('sha', 'sha-secret');
cc_as('sha', 'bad') for 1 .. 2;
ok t_cmp(cc_as('sha', 'sha-secret')->{status}, 200,
         'a success clears the count (2 + 2 failures around a success do not lock)');

# --- a user of the password grant --------------------------------------------------------

is_oauth_error(pw_as('alice', "nope$_"), 400, 'invalid_grant',
               "alice: wrong password $_ of 3: 400 invalid_grant") for 1 .. 3;
my $st0 = oas_status(port => $BP);
$m2 = error_log_mark();
$ra = is_locked(pw_as('alice', 'wonderland'), 10,
                'alice: the right password is refused while locked');
is_locked(pw_as('alice', 'nope4'), 10, 'alice: a wrong one too');
my $st1 = oas_status(port => $BP);
ok t_cmp($st1->{counters}{tokens_issued}{password}, $st0->{counters}{tokens_issued}{password},
         'nothing issued while locked');
my ($f0, $f1) = map { $_->{store}{memory_entries}{auth_failures} // -1 } $st0, $st1;
my ($c0, $c1) = (store_counts($st0), store_counts($st1));
# (only "no more": the parent's purge may drop expired entries meanwhile)
my @grew = grep { ($c1->{$_} // 0) > ($c0->{$_} // 0) } keys %$c1;
ok $f1 <= $f0 && $f0 >= 1 && !@grew,
   "refused attempts add no stored entry (failure counters $f0 -> $f1; nothing grew: @grew)"
    or diag "before: " . counts($c0) . "\nafter:  " . counts($c1);
ok t_cmp($st1->{counters}{auth_refused} - $st0->{counters}{auth_refused}, 2,
         'status: counters.auth_refused counts the two refusals');
ok !lines_since($m2, qr/OAS00410: .*invalid resource owner credentials/),
   'the password was not checked while locked (no invalid_grant line)';
ok t_cmp(pw_as('bob', 'builder')->{status}, 200, 'another user is not affected');
ok t_cmp(cc_as('webapp', 'webapp-secret')->{status}, 400,
         'the client of the locked user is not locked (400 unauthorized_client, not 429)');
ok t_cmp(scalar(grep { /user 'alice'/ } lines_since($mark, qr/OAS00501: /)), 1,
         'one OAS00501 warning for user alice');
$r = after_lock($ra, sub { pw_as('alice', 'wonderland') });
ok t_cmp($r->{status}, 200, 'after the lockout alice signs in');

# --- shared by every child ----------------------------------------------------------------

my $N = 6;
$mark = error_log_mark();
my @res = run_together($N, sub { tls_connect(port => $BP) }, sub {
    my ($i, $sock) = @_;
    my $x = raw_post($sock, '/oauth/token', 'grant_type=client_credentials',
                     auth => ['md5', "wrong-$i"]);
    close $sock;
    return $x->{status} || 0;
});
ok !grep({ $_ ne '401' && $_ ne '429' } @res) && grep({ $_ eq '401' } @res) >= 3,
   "$N simultaneous wrong secrets for md5: 401 (or 429 once locked): @res";
is_locked(cc_as('md5', 'md5-secret'), 10, '... and md5 is locked for everybody');
my %per_pid;
for (lines_since($mark, qr/OAS00403: .*'md5'/)) {
    $per_pid{$1}++ if /\[pid (\d+)/;
}
my $max = (sort { $b <=> $a } values %per_pid)[0] // 0;
diag("failures per process: " . join(', ', map { "$_: $per_pid{$_}" } sort keys %per_pid));
if ($MPM eq 'prefork') {
    ok keys(%per_pid) >= 3 && $max < 3,
       'prefork: the failures were spread over ' . keys(%per_pid) . ' children, none saw 3 '
       . "(at most $max), yet the client is locked: the count is shared";
}
else {
    ok keys(%per_pid) >= 1, "$MPM: the failures came from " . keys(%per_pid)
       . ' process(es) (threads share them anyway)';
}

# --- the defaults on the main vhost: 10 failures within 60 s of each other ------------------

my $ghost = "bf-ghost-$$";
my @st = map { cc_token($ghost, auth => [$ghost, 'x'])->{status} } 1 .. 10;
ok !grep({ $_ != 401 } @st), "default limit: 10 failures of an unknown client id: 401 each";
is_locked(cc_token($ghost, auth => [$ghost, 'x']), 60,
          'the 11th: 429, Retry-After <= 60 (unknown ids count like known ones)');

# --- Off ----------------------------------------------------------------------------------

@st = map { post_form('/oauth/token', $CC, auth => ['m2m', 'bad'], port => $OFF)->{status} }
      1 .. 12;
ok !grep({ $_ != 401 } @st), 'OAuthASAuthFailLimit Off: 12 wrong secrets, 401 each';
ok t_cmp(post_form('/oauth/token', $CC, auth => ['m2m', 'm2m-secret'], port => $OFF)->{status},
         200, 'Off: the right secret still works');

# --- status ---------------------------------------------------------------------------------

my $st = oas_status();
ok $st->{counters}{auth_lockouts} >= 4 && $st->{counters}{auth_refused} >= 7,
   'status JSON: counters.auth_lockouts and auth_refused';
my $prom = get('/oauth/status?format=prometheus')->{body} // '';
ok $prom =~ /^oauth_as_auth_lockouts_total \d+$/m && $prom =~ /^oauth_as_auth_refused_total \d+$/m
   && $prom =~ /^oauth_as_store_memory_entries\{kind="auth_failures"\} \d+$/m,
   'Prometheus: oauth_as_auth_lockouts_total, oauth_as_auth_refused_total, '
   . 'memory entries of kind auth_failures';

# --- httpd -t: bad values -----------------------------------------------------------------

my $cfg  = Apache::Test::config();
my $vars = $cfg->{vars};
my $dir  = "$vars->{t_logs}/cfgtest-bf";
make_path($dir);
my $n = 0;
sub configtest {
    my ($extra) = @_;
    my $tmp = "$dir/httpd-" . ++$n . ".conf";
    open my $in, '<', $vars->{t_conf_file} or die "$vars->{t_conf_file}: $!";
    open my $out, '>', $tmp or die "$tmp: $!";
    print $out $_ while <$in>;
    print $out "\n# added by t/15_bruteforce.t\n$extra\n";
    close $out;
    close $in;
    my $args = $cfg->server->args;
    $args =~ s/(^|\s)-f\s+\S+/$1-f $tmp/ or $args .= " -f $tmp";
    my $output = `$vars->{httpd} $args -t 2>&1`;
    return ($? >> 8, $output);
}
for my $case (['OAuthASAuthFailLimit 0',            "'0'"],
              ['OAuthASAuthFailLimit ten 60',       "'ten'"],
              ['OAuthASAuthFailLimit 5 0',          "'0'"],
              ['OAuthASAuthFailLimit 5 86401',      "'86401'"],
              ['OAuthASAuthFailLimit Off 60',       "Off takes no seconds"],
              ['OAuthASAuthFailLockout 0',          "'0'"],
              ['OAuthASAuthFailLockout 1.5',        "'1.5'"]) {
    my ($rc, $out) = configtest($case->[0]);
    my $ok = ok($rc != 0 && $out =~ /\Q$case->[1]\E/
                && $out =~ /OAuthASAuthFail(Limit|Lockout)/, "httpd -t refuses '$case->[0]'");
    diag("exit $rc\n$out") unless $ok;
}
my ($rc, $out) = configtest("OAuthASAuthFailLimit 20\nOAuthASAuthFailLockout 300\n"
                            . "<VirtualHost *:1>\nOAuthASAuthFailLimit Off\n</VirtualHost>");
ok t_cmp($rc, 0, 'httpd -t accepts OAuthASAuthFailLimit 20 (no seconds), Lockout 300, '
         . 'Off in a virtual host') or diag $out;
