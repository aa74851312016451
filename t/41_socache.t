# OAuthASStore socache:PROVIDER[:ARGS] (SPEC section 8): the store on httpd's socache
# providers.  Started here on loopback: a memcached and two httpd nodes A and B
# (t/conf/multinode.conf.in, OAS::MultiNode) sharing it through mod_socache_memcache,
# and a single node C on socache:shmcb.
#   - memcache: a token issued on A works on B and the other way round (bearer check,
#     introspection); revoked on B, refused on A; 16 simultaneous redemptions of one
#     code split across A and B: exactly one 200 (memcached's delete says whether it
#     removed the key); memcached stopped: 503s within 5 s, started: service resumes
#     (without the tokens: memcached keeps nothing), the limits warned about at start
#   - shmcb: one node issues and checks tokens, under the store's mutex, and warns that
#     tokens do not survive a restart
# Without memcached the memcache part is skipped (tools/install-deps installs it).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use OAS::MultiNode;
use Time::HiRes qw(time sleep);

my $MEMCACHED = find_program('memcached');
plan tests => 25, need_module('ssl'), need_module('oauth_as'), need_module('socache_shmcb');

my $ALICE = ['alice', 'wonderland'];
my $MPORT = free_port();
my ($mc_pid, $nodes, $single);

END {
    stop_nodes($nodes) if $nodes;
    stop_nodes($single) if $single;
    stop_daemon($mc_pid) if $mc_pid;
}

sub start_memcached {
    $mc_pid = start_daemon([$MEMCACHED, '-l', '127.0.0.1', '-p', $MPORT, '-U', '0',
                            '-m', '16', '-c', '256'], $MPORT);
    return $mc_pid;
}

sub bearer_get {
    my ($n, $token) = @_;
    return get('/mn/ok', port => $n->{port}, headers => [Authorization => "Bearer $token"]);
}

sub page_within {
    my ($n, $token, $secs) = @_;
    my $end = time + $secs;
    my $res;
    while (1) {
        $res = bearer_get($n, $token);
        return $res->{status} if $res->{status} == 200 || time > $end;
        sleep 0.25;
    }
}

# ---- memcache: two nodes ------------------------------------------------------------

SKIP: {
    skip 'memcached is not installed (apt-get install memcached)', 19 unless $MEMCACHED;

    ok(start_memcached(), "memcached on 127.0.0.1:$MPORT");
    $nodes = start_nodes(name => 'memcache', store => "socache:memcache:127.0.0.1:$MPORT",
                         modules => ['socache_memcache']);
    ok($nodes, 'two httpd nodes share it') or BAIL_OUT('the nodes did not start');
    my ($A, $B) = @$nodes{qw(A B)};
    ok(t_cmp(oas_status(port => $A->{port})->{store_type}, 'socache', 'store_type socache'));

    my $pw = password_token('webapp', @$ALICE, scope => 'read', port => $A->{port});
    my $at = $pw->{json}{access_token};
    ok(t_cmp(bearer_get($B, $at)->{status}, 200, 'a token from A opens the page on B'));
    ok(t_cmp(introspect($at, port => $B->{port})->{active} ? 1 : 0, 1,
             'B introspects it as active'));
    my $cc = cc_token('m2m', scope => 'read', port => $B->{port})->{json}{access_token};
    ok(t_cmp(bearer_get($A, $cc)->{status}, 200, 'a token from B works on A'));

    post_form('/oauth/revoke', [token => $at], auth => ['webapp', 'webapp-secret'],
              port => $B->{port});
    ok(t_cmp(bearer_get($A, $at)->{status}, 401, 'revoked on B, refused on A'));
    ok(t_cmp(introspect($pw->{json}{refresh_token}, port => $A->{port})->{active} ? 1 : 0, 0,
             'its refresh token is inactive on A'));

    my $code = get_code(req => { port => $A->{port} });
    ok($code, 'a code from A');
    my $body = form_encode([grant_type => 'authorization_code', code => $code,
                            redirect_uri => 'https://app.example/cb']);
    my @res = run_together(16,
        sub { tls_connect(port => ($_[0] % 2 ? $B : $A)->{port}) },
        sub {
            my $r = raw_post($_[1], '/oauth/token', $body, auth => ['webapp', 'webapp-secret']);
            return ($r->{status} || 0) . ' ' . (($r->{json} || {})->{error} || '-');
        });
    my %count;
    $count{$_}++ for @res;
    ok(($count{'200 -'} || 0) == 1 && ($count{'400 invalid_grant'} || 0) == 15,
       '16 simultaneous redemptions on A and B: exactly one 200')
        or diag(join ', ', map { "$_: $count{$_}" } sort keys %count);

    stop_daemon($mc_pid);
    undef $mc_pid;
    my ($secs, $r) = elapsed(sub { cc_token('m2m', port => $A->{port}) });
    is_oauth_error($r, 503, 'temporarily_unavailable', 'memcached down: token endpoint 503');
    ok($secs < 5, sprintf('within 5 s (took %.2f s)', $secs));
    ($secs, $r) = elapsed(sub { bearer_get($B, $cc) });
    ok(t_cmp($r->{status}, 503, 'protected page 503, not 401'));
    ok(t_cmp(bearer_get($B, $cc)->{status}, 503, 'the next one too (no false "unknown token")'));

    ok(start_memcached(), 'memcached started again');
    my $end = time + 20;
    my $new;
    while (time < $end) {
        $new = cc_token('m2m', scope => 'read', port => $A->{port});
        last if $new->{status} == 200;
        sleep 0.25;
    }
    ok(t_cmp($new->{status}, 200, 'A issues again, httpd not restarted'));
    ok(t_cmp(page_within($B, $new->{json}{access_token}, 20), 200, 'and B checks it'));

    my $log = node_log($A);
    ok($log =~ /OAS01251: /, 'A warned about what memcached does not promise');
    my @bad = map { node_log_problems($_, qr/OAS00340: /, qr/OAS00402: /, qr/OAS0043[01]: /,
                                      qr/AH0079[0-3]: /) } $A, $B;
    ok(!@bad, 'no other error, no crash on A and B') or diag(join "\n", @bad);
}

# ---- shmcb: one node --------------------------------------------------------------

$single = start_nodes(name => 'shmcb', nodes => ['C'], store => 'socache:shmcb');
ok($single, 'a node on socache:shmcb');
SKIP: {
    skip 'the shmcb node did not start', 5 unless $single;
    my $C = $single->{C};
    my $pw = password_token('webapp', @$ALICE, scope => 'read', port => $C->{port});
    ok(t_cmp($pw->{status}, 200, 'it issues'));
    ok(t_cmp(bearer_get($C, $pw->{json}{access_token})->{status}, 200, 'and checks'));
    my $r = refresh('webapp', $pw->{json}{refresh_token}, port => $C->{port});
    is_oauth_error(refresh('webapp', $pw->{json}{refresh_token}, port => $C->{port}), 400,
                   'invalid_grant', 'a refresh token is spent once');
    ok(node_log($C) =~ /OAS01250: /, 'it warned that tokens do not survive a restart');
    my @bad = node_log_problems($C);
    ok(!@bad, 'no error, no crash') or diag(join "\n", @bad);
}
