# Several nodes, one token state: OAuthASStore redis:HOST:PORT (SPEC section 8).
# Started here on loopback: a redis-server (its own port, its own directory under
# t/logs, appendonly yes) and two httpd nodes A and B (t/conf/multinode.conf.in,
# OAS::MultiNode) with the httpd, modules and MPM of this run, sharing it.
#   - a token issued on A works on B (bearer check, introspection), and the other
#     way round; revoked on B, refused on A (a refreshable pair, revoked by its
#     family's marker, and a family-less client_credentials token); a bearer check
#     costs Redis two GETs (the token, its family's marker: issue 18 item 5)
#   - 32 simultaneous redemptions of one code, split across A and B: exactly one
#     200; the same for one refresh token
#   - brute-force limits: failures of one client id on A and on B add up in Redis
#   - Redis stopped: the token endpoint answers 503 temporarily_unavailable and the
#     protected page 503, within 5 s; started again: service resumes without an httpd
#     restart, and a token issued before the outage still works (Redis persisted it)
#   - Redis hung (SIGSTOP): 503s within the timeout (OAuthASRedisTimeout 1), at once
#     after the first; SIGCONT: service resumes
#   - each outage is logged once per node (OAS00340) and its end once (OAS00341);
#     the nodes' logs hold no other error and no crash
# Without redis-server the whole file is skipped (tools/install-deps installs it).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use OAS::MultiNode;
use File::Path qw(make_path);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $REDIS = find_program('redis-server');
plan skip_all => 'redis-server is not installed (apt-get install redis-server)' unless $REDIS;
plan tests => 45, need_module('ssl'), need_module('oauth_as');

my $ALICE = ['alice', 'wonderland'];
my $DIR   = Apache::Test::vars('t_logs') . '/multinode-redis';
my $RPORT = free_port();
my ($redis_pid, $nodes);

END {
    stop_nodes($nodes) if $nodes;
    stop_daemon($redis_pid) if $redis_pid;
}

File::Path::remove_tree("$DIR/redis");

sub start_redis {
    make_path("$DIR/redis");
    open my $fh, '>', "$DIR/redis/redis.conf" or die "redis.conf: $!\n";
    print $fh "port $RPORT\nbind 127.0.0.1\ndir $DIR/redis\nsave \"\"\n"
            . "appendonly yes\nappendfsync always\nlogfile $DIR/redis/redis.log\n"
            . "daemonize no\n";
    close $fh;
    $redis_pid = start_daemon([$REDIS, "$DIR/redis/redis.conf"], $RPORT);
    return $redis_pid;
}

# GET commands Redis has served so far (INFO commandstats)
sub redis_gets {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$RPORT", Timeout => 5)
        or die "redis: $!\n";
    print $s "INFO commandstats\r\n";
    my $len = <$s> // '';
    my ($n) = $len =~ /^\$(\d+)/ or die "redis INFO: $len\n";
    my $info = '';
    while (length($info) < $n) {
        read($s, $info, $n - length($info), length($info)) or last;
    }
    close $s;
    return $info =~ /^cmdstat_get:calls=(\d+)/m ? $1 : 0;
}

my ($A, $B);
sub port { $_[0] eq 'A' ? $A->{port} : $B->{port} }

sub bearer_get {
    my ($node, $token, %opt) = @_;
    return get('/mn/ok', port => port($node), headers => [Authorization => "Bearer $token"],
               %opt);
}

# the protected page's status, asked until it is 200 or $secs have passed
sub page_within {
    my ($node, $token, $secs) = @_;
    my $end = time + $secs;
    my $res;
    while (1) {
        $res = bearer_get($node, $token);
        return $res->{status} if $res->{status} == 200 || time > $end;
        sleep 0.2;
    }
}

sub active_on {
    my ($node, $token) = @_;
    return introspect($token, port => port($node))->{active} ? 1 : 0;
}

# n simultaneous token requests with the same form, alternately on A and B
sub together {
    my ($n, $form) = @_;
    my $body = form_encode($form);
    my @res = run_together($n,
        sub { tls_connect(port => port($_[0] % 2 ? 'B' : 'A')) },
        sub {
            my ($i, $sock) = @_;
            my $r = raw_post($sock, '/oauth/token', $body, auth => ['webapp', 'webapp-secret']);
            return ($r->{status} || 0) . ' ' . (($r->{json} || {})->{error} || '-');
        });
    my %count;
    $count{$_}++ for @res;
    return \%count;
}

sub one_winner {
    my ($count, $name) = @_;
    my $n = 0;
    $n += $count->{$_} for keys %$count;
    my $ok = ($count->{'200 -'} || 0) == 1 && ($count->{'400 invalid_grant'} || 0) == $n - 1;
    ok($ok, $name) or diag(join ', ', map { "$_: $count->{$_}" } sort keys %$count);
}

# ---- start ---------------------------------------------------------------------------

ok(start_redis(), "redis-server on 127.0.0.1:$RPORT");
$nodes = start_nodes(name => 'redis', store => "redis:127.0.0.1:$RPORT");
ok($nodes, 'two httpd nodes share it') or BAIL_OUT('the nodes did not start');
($A, $B) = @$nodes{qw(A B)};

my $st = oas_status(port => $A->{port});
ok(t_cmp($st->{store_type}, 'redis', 'A: store_type redis'));

# ---- a token from A works on B, and back -------------------------------------------

my $pw = password_token('webapp', @$ALICE, scope => 'read', port => $A->{port});
ok(t_cmp($pw->{status}, 200, 'password grant on A'));
my ($at, $rt) = @{ $pw->{json} || {} }{qw(access_token refresh_token)};
ok(t_cmp(bearer_get('B', $at)->{status}, 200, 'its access token opens the page on B'));
ok(t_cmp(active_on('B', $at), 1, 'B introspects it as active'));
my $intro = introspect($at, port => $B->{port});
ok(t_cmp("$intro->{client_id} $intro->{username} $intro->{scope}", 'webapp alice read',
         'with its client, user and scope'));
my $cc = cc_token('m2m', scope => 'read', port => $B->{port});
ok(t_cmp(bearer_get('A', $cc->{json}{access_token})->{status}, 200,
         'a client_credentials token from B works on A'));
my $r = refresh('webapp', $rt, port => $B->{port});
ok(t_cmp($r->{status}, 200, 'the refresh token from A refreshes on B'));
($at, $rt) = @{ $r->{json} || {} }{qw(access_token refresh_token)};
ok(t_cmp(bearer_get('A', $at)->{status}, 200, 'the refreshed access token works on A'));
my $gets = redis_gets();
bearer_get('A', $at);
ok(t_cmp(redis_gets() - $gets, 2, 'a bearer check asks Redis twice: the token, its family '
         . 'marker (not the marker\'s replacement key too)'));

# ---- revoked on B, refused on A -------------------------------------------------------

$r = post_form('/oauth/revoke', [token => $at], auth => ['webapp', 'webapp-secret'],
               port => $B->{port});
ok(t_cmp($r->{status}, 200, 'revoked on B'));
ok(t_cmp(bearer_get('A', $at)->{status}, 401, 'refused on A'));
ok(t_cmp(active_on('A', $at), 0, 'inactive on A'));
ok(t_cmp(active_on('A', $rt), 0, 'its refresh token too (same family)'));
is_oauth_error(refresh('webapp', $rt, port => $A->{port}), 400, 'invalid_grant',
               'and it no longer refreshes');
$r = post_form('/oauth/revoke', [token => $cc->{json}{access_token}],
               auth => ['m2m', 'm2m-secret'], port => $B->{port});
ok(t_cmp(bearer_get('A', $cc->{json}{access_token})->{status}, 401,
         'a family-less token revoked on B is refused on A'));

# ---- single use across nodes ---------------------------------------------------------

my $code = get_code(req => { port => $A->{port} });
ok($code, 'a code from the approval page on A');
one_winner(together(32, [grant_type => 'authorization_code', code => $code,
                         redirect_uri => 'https://app.example/cb']),
           '32 simultaneous redemptions on A and B: exactly one 200');
is_oauth_error(redeem_code($code, port => $B->{port}), 400, 'invalid_grant',
               'the code is spent on B as well');

$pw = password_token('webapp', @$ALICE, port => $B->{port});
$rt = $pw->{json}{refresh_token};
ok($rt, 'a refresh token from B');
one_winner(together(32, [grant_type => 'refresh_token', refresh_token => $rt]),
           '32 simultaneous refreshes on A and B: exactly one 200');

# ---- brute-force limits: one count for both nodes -----------------------------------

my $ghost = "bf-ghost-$$";
my @st = map { cc_token($ghost, auth => [$ghost, 'x'], port => port($_ % 2 ? 'B' : 'A'))->{status} }
         1 .. 10;
ok(!grep({ $_ != 401 } @st), '10 failed authentications of one client id, 5 on A, 5 on B: 401');
$r = cc_token($ghost, auth => [$ghost, 'x'], port => $A->{port});
ok(t_cmp("$r->{status} " . ($r->{json}{error} // '-') . ' '
         . ($r->{headers}->header('Retry-After') ? 'Retry-After' : '-'),
         '429 temporarily_unavailable Retry-After',
         'the 11th, on A: 429 (the default limit of 10, counted in Redis across nodes)'));

# ---- Redis stops, and comes back ----------------------------------------------------

$pw = password_token('webapp', @$ALICE, scope => 'read', port => $A->{port});
my $kept = $pw->{json}{access_token};
ok(t_cmp(bearer_get('B', $kept)->{status}, 200, 'a token issued before the outage'));

stop_daemon($redis_pid);
undef $redis_pid;
my ($secs, $res) = elapsed(sub { cc_token('m2m', port => $A->{port}) });
is_oauth_error($res, 503, 'temporarily_unavailable', 'Redis down: token endpoint 503');
ok($secs < 5, "within 5 s (took " . sprintf('%.2f', $secs) . " s)");
($secs, $res) = elapsed(sub { bearer_get('B', $kept) });
ok(t_cmp($res->{status}, 503, 'protected page 503'));
ok($secs < 5, "within 5 s (took " . sprintf('%.2f', $secs) . " s)");
($secs, $res) = elapsed(sub { post_form('/oauth/introspect', [token => $kept],
                                        auth => ['rs', 'rs-secret'], port => $B->{port}) });
ok(t_cmp($res->{status}, 503, 'introspection 503'));
ok(t_cmp(bearer_get('A', $kept)->{status}, 503, 'still 503 on A'));
cc_token('m2m', port => $B->{port});

ok(start_redis(), 'redis-server started again');
my $end = time + 10;
my $back;
while (time < $end) {
    $back = cc_token('m2m', port => $A->{port});
    last if $back->{status} == 200;
    sleep 0.2;
}
ok(t_cmp($back->{status}, 200, 'the token endpoint of A issues again, httpd not restarted'));
ok(t_cmp(bearer_get('B', $kept)->{status}, 200, 'the token from before the outage works'));
ok(t_cmp(bearer_get('A', $back->{json}{access_token})->{status}, 200,
         'and a new one on the other node'));

# ---- Redis hangs --------------------------------------------------------------------

kill 'STOP', $redis_pid;
($secs, $res) = elapsed(sub { bearer_get('A', $kept) });
ok(t_cmp($res->{status}, 503, 'Redis hung: protected page 503'));
ok($secs < 5, "within 5 s (took " . sprintf('%.2f', $secs) . " s)");
($secs, $res) = elapsed(sub { cc_token('m2m', port => $A->{port}) });
is_oauth_error($res, 503, 'temporarily_unavailable', 'token endpoint 503');
ok($secs < 5, "within 5 s (took " . sprintf('%.2f', $secs) . " s)");
bearer_get('B', $kept);
kill 'CONT', $redis_pid;
ok(t_cmp(page_within('A', $kept, 10), 200, 'SIGCONT: the page opens again'));
ok(t_cmp(page_within('B', $kept, 10), 200, 'on B too (after at most a second of 503)'));

# ---- the nodes' logs ----------------------------------------------------------------

my @expected = (qr/OAS00340: /, qr/OAS00402: /, qr/OAS0043[01]: /);
for my $n ($A, $B) {
    my $log = node_log($n);
    my $down = () = $log =~ /OAS00340: /g;
    my $up   = () = $log =~ /OAS00341: /g;
    ok(t_cmp("$down $up", '2 2', "node $n->{name}: two outages, each logged once, and "
                                 . "each end once"));
    my @bad = node_log_problems($n, @expected);
    ok(!@bad, "node $n->{name}: no other error, no crash") or diag(join "\n", @bad);
}
