# A real remote resource server: OpenIDC's mod_oauth2 (Debian's libapache2-mod-oauth2)
# in a second httpd, started here, validates our tokens through our introspection
# endpoint (RFC 7662) as the confidential client rs:
#     OAuth2TokenVerify introspect https://127.0.0.1:PORT/oauth/introspect \
#         introspect.auth=client_secret_basic&client_id=rs&client_secret=rs-secret&...
# A valid token passes, and the user and the client come through; a token revoked after
# mod_oauth2 has seen it is refused (its result cache is switched off: expiry=0, and
# every request is an introspection, which the status counters show); so are unknown
# and expired tokens and a missing one.
#
# The second httpd: same binary and MPM as this run, its own config, port (free one
# picked at run time, on 127.0.0.1), pid file, logs and runtime dir in t/logs/rs2; it
# is stopped by an END block whatever happens.  Its TLS client does not verify our
# self-signed certificate (introspect.ssl_verify=false: mod_oauth2 has no CA file
# option).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Path qw(make_path);
use IO::Socket::INET ();
use LWP::UserAgent ();
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

my $cfg   = Apache::Test::config();
my $vars  = $cfg->{vars};
my $httpd = $vars->{httpd};
my $mpm   = $cfg->{mpm} || 'event';

# The modules directory: where this run's MPM module comes from (the inherited
# LoadModule lines of tools/run-tests), else Debian's.
my $moddir = '/usr/lib/apache2/modules';
for my $f (grep { defined && -f } $vars->{httpd_conf}, "$vars->{t_conf}/httpd.conf") {
    open my $fh, '<', $f or next;
    while (<$fh>) {
        if (m{^\s*LoadModule\s+mpm_\w+_module\s+"?(\S+?)/mod_mpm_\w+\.so"?}) { $moddir = $1; last }
    }
    last if $moddir ne '/usr/lib/apache2/modules';
}
my $so = "$moddir/mod_oauth2.so";

plan tests => 24, need_module('oauth_as'), need_module('ssl'),
    need({ "mod_oauth2 is not installed ($so; Debian: libapache2-mod-oauth2)" => -f $so });

my $dir  = "$vars->{t_logs}/rs2";
my $pidf = "$dir/httpd.pid";
my $started;

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1,
                                  ReuseAddr => 1) or die "no free port: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub rs2_pid {
    open my $fh, '<', $pidf or return 0;
    my $pid = <$fh> // '';
    return $pid =~ /^(\d+)/ ? $1 : 0;
}

sub stop_rs2 {
    my $pid = rs2_pid() or return 1;
    kill 'TERM', $pid;
    my $end = time + 15;
    sleep 0.1 while kill(0, $pid) && time < $end;
    if (kill 0, $pid) { kill 'KILL', $pid; sleep 0.5 }
    unlink $pidf;
    return !kill(0, $pid);
}

END { stop_rs2() if $started }

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh $text;
    close $fh or die "$path: $!\n";
}

# --- the second httpd ----------------------------------------------------------------------

my $port  = free_port();
my $intro = 'https://127.0.0.1:' . https_port() . '/oauth/introspect';
my $opts  = join '&', 'introspect.auth=client_secret_basic', 'client_id=rs',
                      'client_secret=rs-secret', 'introspect.ssl_verify=false',
                      'expiry=0';                      # no result cache: see the header
make_path("$dir/htdocs/protected");
spew("$dir/htdocs/open.txt", "open\n");
spew("$dir/htdocs/protected/index.txt", "protected by mod_oauth2\n");
my %load = map { $_ => "$moddir/mod_$_.so" } ("mpm_$mpm", qw(authn_core authz_core authz_user headers));
$load{oauth2} = $so;
spew("$dir/httpd.conf", <<"CONF");
# written by t/33_mod_oauth2.t: a remote resource server with mod_oauth2
@{[ map { "LoadModule ${_}_module $load{$_}\n" } sort keys %load ]}
ServerRoot "$dir"
ServerName 127.0.0.1:$port
Listen 127.0.0.1:$port
PidFile "$pidf"
ErrorLog "$dir/error_log"
LogLevel info
DefaultRuntimeDir "$dir"
DocumentRoot "$dir/htdocs"
LogFormat "%h %u \\"%r\\" %>s" rs2
CustomLog "$dir/access_log" rs2
StartServers 1
<IfModule mpm_prefork_module>
    MinSpareServers 1
    MaxSpareServers 2
    MaxRequestWorkers 5
</IfModule>
<IfModule !mpm_prefork_module>
    ThreadsPerChild 5
    MinSpareThreads 5
    MaxSpareThreads 10
    MaxRequestWorkers 10
</IfModule>
<Location /protected>
    AuthType oauth2
    OAuth2TokenVerify introspect $intro $opts
    Require valid-user
    Header always set X-RS2-User "expr=%{REMOTE_USER}"
    Header always set X-RS2-Client "%{OAUTH2_CLAIM_client_id}e"
    Header always set X-RS2-Scope "%{OAUTH2_CLAIM_scope}e"
</Location>
CONF

my $out = `$httpd -f "$dir/httpd.conf" -k start 2>&1`;
$started = 1;
my $end = time + 20;
sleep 0.2 until port_open($port) || time > $end;
ok port_open($port), "the second httpd (mod_oauth2, $mpm MPM) listens on 127.0.0.1:$port"
    or diag("$httpd -k start: $out\n" . `tail -20 "$dir/error_log" 2>&1`);

my $ua = LWP::UserAgent->new(timeout => 20, keep_alive => 0);
sub rs2 {
    my ($path, $token) = @_;
    my @h = defined $token ? (Authorization => "Bearer $token") : ();
    return $ua->get("http://127.0.0.1:$port$path", @h);
}

sub introspections { OAS::TokenTest::oas_status()->{counters}{introspections} // 0 }

my $r = rs2('/open.txt');
ok t_cmp($r->code, 200, 'an open page of the second httpd');

# --- no token, an unknown token ----------------------------------------------------------------

$r = rs2('/protected/index.txt');
ok t_cmp($r->code, 401, 'no token: 401');
ok t_cmp($r->header('WWW-Authenticate') // '', qr/^Bearer\b/i, '... with a Bearer challenge');
$r = rs2('/protected/index.txt', 'AAAAunknownunknownunknownunknownAAAA');
ok t_cmp($r->code, 401, 'an unknown token: 401');

# --- valid tokens ---------------------------------------------------------------------------------

my $alice = token_of(password_token('webapp', 'alice', 'wonderland'));
my $n0 = introspections();
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 200, 'a password-grant token from our token endpoint: 200');
ok t_cmp($r->content, qr/protected by mod_oauth2/, '... the protected page');
ok t_cmp($r->header('X-RS2-User'), 'alice', '... REMOTE_USER (sub) is alice');
ok t_cmp($r->header('X-RS2-Client'), 'webapp', '... the client_id claim is webapp');
ok t_cmp($r->header('X-RS2-Scope'), 'read write', '... the scope claim');
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 200, 'the same token again: 200');
ok t_cmp(introspections() - $n0, 2, 'each request was one introspection (no result cache)');

my $cc = token_of(cc_token('m2m', scope => 'read'));
$r = rs2('/protected/index.txt', $cc);
ok t_cmp($r->code, 200, 'a client-credentials token: 200');
ok t_cmp($r->header('X-RS2-User'), 'm2m', '... REMOTE_USER (sub) is the client id');

# --- revoked after use -----------------------------------------------------------------------------

ok t_cmp(revoke('webapp', $alice)->{status}, 200, 'alice\'s token revoked at /oauth/revoke');
$r = rs2('/protected/index.txt', $alice);
ok t_cmp($r->code, 401, 'the revoked token, which mod_oauth2 accepted before: 401');
ok t_cmp($r->header('WWW-Authenticate') // '', qr/invalid_token/, '... invalid_token');
ok t_cmp(revoke('m2m', $cc)->{status}, 200, 'the client-credentials token revoked');
ok t_cmp(rs2('/protected/index.txt', $cc)->code, 401, '... 401 now');

my $unseen = token_of(cc_token('m2m'));
revoke('m2m', $unseen);
ok t_cmp(rs2('/protected/index.txt', $unseen)->code, 401, 'a token revoked before its first use: 401');

# --- expired ----------------------------------------------------------------------------------------

my $t0 = time;
my $short = token_of(cc_token('shortlived'));
ok t_cmp(rs2('/protected/index.txt', $short)->code, 200, 'a token that lives 2 s: 200 while fresh');
my $wait = $t0 + 3.5 - time;
sleep $wait if $wait > 0;
ok t_cmp(rs2('/protected/index.txt', $short)->code, 401, '... 401 once expired');

# --- stop ---------------------------------------------------------------------------------------------

ok stop_rs2(), 'the second httpd stopped';
$started = 0;
ok !port_open($port), '... its port is closed';
