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
#   - shmcb, server lifetimes of 1 and 2 s (issue 12 item 4): a family revoked by a
#     replayed refresh token stays revoked after now + every server lifetime has passed,
#     for a client whose access tokens live an hour and for one whose never expire
# Without memcached the memcache part is skipped (tools/install-deps installs it).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use OAS::MultiNode;
use Time::HiRes qw(time sleep);
use Digest::SHA qw(sha1);
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);

my $MEMCACHED = find_program('memcached');
plan tests => 25 + 8, need_module('ssl'), need_module('oauth_as'), need_module('socache_shmcb');

my $ALICE = ['alice', 'wonderland'];
my $MPORT = free_port();
my ($mc_pid, $nodes, $single, $short);

END {
    stop_nodes($nodes) if $nodes;
    stop_nodes($single) if $single;
    stop_nodes($short) if $short;
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

# ---- shmcb, short server lifetimes: revocation markers outlive the family ---------------

# the registry of node D: clients whose access tokens outlive the server's lifetimes
sub marker_conf_dir {
    my $dir = Apache::Test::vars("t_logs") . "/socache-marker-conf";
    make_path($dir);
    copy(Apache::Test::vars("t_conf") . '/csrf.key', "$dir/csrf.key") or die "csrf.key: $!";
    my @clients = map {
        { client_id => $_->[0], type => 'confidential',
          secret => '{SHA}' . encode_base64(sha1("$_->[0]-secret"), ''),
          grant_types => ['password'], scopes => ['read'],
          access_token_lifetime => $_->[1], refresh_limit => -1 }
    } ['hour', 3600], ['never', 0];
    open my $fh, '>', "$dir/clients.json" or die "$dir/clients.json: $!";
    print $fh JSON::PP->new->pretty->canonical->encode({ clients => \@clients });
    close $fh;
    return $dir;
}

$short = start_nodes(name => 'shmcb-marker', nodes => ['D'], store => 'socache:shmcb',
                     conf_dir => marker_conf_dir(),
                     extra => "OAuthASAccessTokenLifetime 1\nOAuthASRefreshTokenLifetime 2\n");
ok($short, 'a node on socache:shmcb with server lifetimes of 1 and 2 s');
SKIP: {
    skip 'the node did not start', 7 unless $short;
    my $D = $short->{D};
    my %at;
    for my $client ('hour', 'never') {
        my $pw = password_token($client, @$ALICE, scope => 'read', port => $D->{port});
        my $rt = ($pw->{json} || {})->{refresh_token} // 'none';
        my $r = refresh($client, $rt, port => $D->{port});
        $at{$client} = ($r->{json} || {})->{access_token} // 'none';
        refresh($client, $rt, port => $D->{port});         # a replay: the family is revoked
        ok(t_cmp(bearer_get($D, $at{$client})->{status}, 401,
                 "$client: the replay revoked the family (newest access token refused)"));
    }
    sleep 3.2;                                             # past now + 2 s
    for my $client ('hour', 'never') {
        ok(t_cmp(bearer_get($D, $at{$client})->{status}, 401,
                 "$client: 3 s later its access token is still refused"));
        ok(t_cmp(introspect_on($D, $at{$client}), 0, "$client: ... and introspects inactive"));
    }
    my @bad = node_log_problems($D);
    ok(!@bad, 'no error, no crash') or diag(join "\n", @bad);
}

sub introspect_on {
    my ($n, $token) = @_;
    my $r = post_form('/oauth/introspect', [token => $token], auth => ['hour', 'hour-secret'],
                      port => $n->{port});
    return ($r->{json} || {})->{active} ? 1 : 0;
}
