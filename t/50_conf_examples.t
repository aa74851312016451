# conf-examples/ must not rot (issue 7): each conf-examples/*.conf, with its paths
# replaced by test files (registry made with oauth-as-client -f from the example
# itself, users, CSRF key, store, the suite's certificate, a free port), passes
# `apache2 -t` and serves one request in an httpd of its own that this test starts and
# stops (its own ServerRoot, port, logs; the MPM of this run). The Debian files
# (debian/oauth_as.load + .conf) pass `apache2 -t` too.
#
# The request of each example: webapp-code-pkce.conf an approval page (code + PKCE,
# Basic sign-in); m2m-client-credentials.conf a token; api-proxy.conf a token, then the
# API through ProxyPass (a backend vhost of the test answers) and 403 for a path the
# scope does not cover; mcp-resource.conf the 401 with resource_metadata, its metadata
# document, a JWT for /mcp that passes the gate and one for another audience that does
# not, a client that registers itself (RFC 7591) and gets the approval page; any other example its metadata (two-nodes-redis.conf: with a
# redis-server this test starts on a free port, when Debian's redis-server is there).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes qw(time sleep);
use OAS::Test;
use OAS::MultiNode qw(find_program start_daemon stop_daemon);

my $vars     = Apache::Test::vars();
my $TOP      = $vars->{top_dir};
my $TOOL     = "$TOP/build/oauth-as-client";
my $HTTPD    = $vars->{httpd};
my $SSL      = "$vars->{serverroot}/conf/oas-ssl";
my $MPM      = Apache::Test::config()->{mpm} || 'event';
my @EXAMPLES = sort glob("$TOP/conf-examples/*.conf");
my $N_PER    = 5;

plan tests => 2 + $N_PER * @EXAMPLES, need_module('oauth_as'), need_module('ssl'),
              need_module('proxy_http'), need_module('headers');

my @running;                                 # pid files of servers this test started
my @daemons;                                 # pids of redis-servers it started
END { stop($_) for @running; stop_daemon($_) for @daemons }

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> }
sub spew  { my ($f, $d) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $d; close $fh }

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
                                  ReuseAddr => 1) or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# An example with OAuthASStore redis:... gets a redis-server of its own: its port, or
# undef (and a diag) when there is none to start.
sub redis_for {
    my ($example, $d) = @_;
    return 0 unless slurp($example) =~ /^\s*OAuthASStore\s+redis:/m;
    my $bin = find_program('redis-server') or return undef;
    my $port = free_port();
    my $pid = start_daemon([$bin, '--port', $port, '--bind', '127.0.0.1', '--save', '',
                            '--appendonly', 'no', '--dir', $d], $port,
                           log => "$d/redis.log") or return undef;
    push @daemons, $pid;
    return $port;
}

# run(@cmd) -> (exit code, stdout+stderr)
sub run {
    my @cmd = @_;
    my $out = "$vars->{t_logs}/50_run.$$";
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', $out; open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my $text = slurp($out);
    unlink $out;
    return ($rc, $text);
}

# The LoadModule lines of this run (tools/run-tests wrote them), else our own list.
sub load_modules {
    my $inherit = "$TOP/build/apache-test/inherit-$MPM.conf";
    my $text = slurp($inherit);
    return join "\n", grep { /^LoadModule / } split /\n/, $text if $text =~ /oauth_as_module/;
    my $dir = (slurp("$TOP/config.mk") =~ /^LIBEXECDIR\s*=\s*(\S+)/m)[0] || '/usr/lib/apache2/modules';
    my @m = ("mpm_$MPM", qw(authn_core authn_file authz_core authz_user authz_host auth_basic
                            mime dir alias headers env socache_shmcb ssl proxy proxy_http));
    return join "\n", (map { "LoadModule ${_}_module $dir/mod_$_.so" } @m),
                      "LoadModule oauth_as_module $TOP/build/mod_oauth_as.so";
}
my $MODULES = load_modules();

# The example with its paths replaced; the whole httpd.conf around it.
sub prepare {
    my ($example, $d, $port, $backend, $redis) = @_;
    my $text = slurp($example);
    $text =~ s/^(\s*OAuthASStore\s+redis:)\S+/${1}127.0.0.1:$redis/mg if $redis;
    my %map = ('/etc/apache2/oauth_as/'                 => "$d/etc/",
               '/var/lib/apache2/oauth_as/'             => "$d/var/",
               '/etc/ssl/certs/ssl-cert-snakeoil.pem'   => "$SSL/server.crt",
               '/etc/ssl/private/ssl-cert-snakeoil.key' => "$SSL/server.key",
               '*:443'                                  => "127.0.0.1:$port",
               'http://127.0.0.1:8080'                  => "http://127.0.0.1:$backend",
               '${APACHE_LOCK_DIR}'                     => "$d/run",
               '${APACHE_RUN_DIR}'                      => "$d/run",
               '${APACHE_LOG_DIR}'                      => "$d/logs");
    for my $from (sort { length $b <=> length $a } keys %map) {
        $text =~ s/\Q$from\E/$map{$from}/g;
    }
    mkdir "$d/$_" for qw(etc var run logs backend backend/api backend/api/orders);
    spew("$d/example.conf", $text);
    spew("$d/etc/users.htpasswd", slurp("$vars->{serverroot}/conf/users"));
    spew("$d/etc/csrf.key", join '', map { chr int rand 256 } 1 .. 64);
    spew("$d/backend/api/orders/42", "order 42 from the backend\n");
    spew("$d/backend/mcp", "the MCP server behind the gate\n");
    for my $key ($text =~ /^\s*OAuthASSigningKey\s+(\S+)/mg) {     # made as its comment says
        my ($rc, $out) = run($TOOL, 'keygen', 'ec', $key);
        diag("keygen $key: $out") if $rc;
    }
    spew("$d/httpd.conf", <<"EOF");
ServerRoot "$d"
ServerName localhost
PidFile "$d/run/httpd.pid"
DefaultRuntimeDir "$d/run"
ErrorLog "$d/logs/error_log"
LogLevel info
Listen 127.0.0.1:$port
Listen 127.0.0.1:$backend
$MODULES
SSLSessionCache "shmcb:$d/run/ssl_scache(512000)"
<IfModule mod_mime.c>
    TypesConfig /dev/null
</IfModule>
StartServers 1
<VirtualHost 127.0.0.1:$backend>
    DocumentRoot "$d/backend"
</VirtualHost>
Include "$d/example.conf"
EOF
    return "$d/httpd.conf";
}

sub start {
    my ($conf, $port) = @_;
    my ($rc, $out) = run($HTTPD, '-f', $conf, '-k', 'start');
    (my $pidfile = $conf) =~ s{httpd\.conf$}{run/httpd.pid};
    push @running, $pidfile;
    my $t0 = time;
    while (time - $t0 < 30) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
        return 1 if $s && -s $pidfile;
        sleep 0.2;
    }
    diag("httpd did not start: $out");
    return 0;
}

sub stop {
    my ($pidfile) = @_;
    my $pid = (slurp($pidfile) =~ /(\d+)/)[0] or return 1;
    kill 'TERM', $pid;
    my $t0 = time;
    while (kill(0, $pid) && time - $t0 < 30) { sleep 0.2 }
    @running = grep { $_ ne $pidfile } @running;
    return !kill(0, $pid);
}

sub tool { my ($rc, $out) = run($TOOL, @_); diag($out) if $rc; return $rc == 0 ? $out : undef }

sub secret_of { my ($out) = @_; defined $out ? ($out =~ /^client_secret: (\S+)/m)[0] : undef }

sub cc_token {
    my ($port, $id, $secret, $scope) = @_;
    my $r = post_form('/oauth/token', [grant_type => 'client_credentials',
                                       (defined $scope ? (scope => $scope) : ())],
                      port => $port, auth => [$id, $secret]);
    diag("token: $r->{status} $r->{body}") unless $r->{status} == 200;
    return $r->{json}{access_token};
}

# --- the request each example must serve ---------------------------------------------
my %REQUEST = (
    'mcp-resource.conf' => {
        clients => [[qw(add agent --grant client_credentials --scope mcp:tools)]],
        check => sub {
            my @bad = grep { !$_->[1] } mcp_checks(@_);
            diag("mcp: $_->[0]: failed") for @bad;
            return !@bad;
        },
        what => 'a 401 with resource_metadata, its metadata, a JWT for /mcp through the gate, '
                . 'not one for another audience, a self-registered client\'s approval page',
        expected_log => qr/^\z/,
    },
    'webapp-code-pkce.conf' => {
        clients => [[qw(add webapp --name), 'Web App', qw(--grant authorization_code
                      --redirect-uri https://app.example.org/callback --scope profile)]],
        check => sub {
            my ($port) = @_;
            my $q = form_encode([response_type => 'code', client_id => 'webapp',
                                 redirect_uri => 'https://app.example.org/callback',
                                 scope => 'profile', state => 's1',
                                 code_challenge => 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
                                 code_challenge_method => 'S256']);
            my $r = get("/oauth/authorize?$q", port => $port, auth => [qw(alice wonderland)]);
            my $ok = $r->{status} == 200 && $r->{body} =~ /name="decision"/
                     && $r->{body} =~ /Web App/ && $r->{body} =~ /Example Corp sign-in/;
            diag("authorize: $r->{status} $r->{body}") unless $ok;
            return $ok;
        },
        what => 'an approval page for a code + PKCE request',
        expected_log => qr/^\z/,
    },
    'm2m-client-credentials.conf' => {
        clients => [[qw(add billing --grant client_credentials --scope),
                     'invoices:read invoices:write']],
        check => sub {
            my ($port, $secrets) = @_;
            my $r = post_form('/oauth/token', [grant_type => 'client_credentials',
                                               scope => 'invoices:read'],
                              port => $port, auth => ['billing', $secrets->{billing}]);
            my $ok = $r->{status} == 200 && $r->{json}{access_token}
                     && $r->{json}{scope} eq 'invoices:read' && $r->{json}{expires_in} == 900;
            diag("token: $r->{status} $r->{body}") unless $ok;
            return $ok;
        },
        what => 'a client credentials token',
        expected_log => qr/^\z/,
    },
    'api-proxy.conf' => {
        clients => [[qw(add reporting --grant client_credentials --scope orders:read)]],
        check => sub {
            my ($port, $secrets) = @_;
            my $t = cc_token($port, 'reporting', $secrets->{reporting}) // 'none';
            my $r = get('/api/orders/42', port => $port,
                        headers => [Authorization => "Bearer $t"]);
            my $c = get('/api/carts/1', port => $port,
                        headers => [Authorization => "Bearer $t"]);
            my $n = get('/api/orders/42', port => $port);
            my $ok = $r->{status} == 200 && $r->{body} =~ /order 42 from the backend/
                     && $c->{status} == 403 && $n->{status} == 401;
            diag("api: $r->{status} $r->{body}; carts $c->{status}; none $n->{status}")
                unless $ok;
            return $ok;
        },
        what => 'the API through ProxyPass with a token (403 outside its scope, 401 without)',
        # httpd logs a refused Require at level error
        expected_log => qr{AH01631: user reporting: authorization failure for "/api/carts/1"},
    },
);

my $MCP = 'https://mcp.example.org/mcp';
sub b64url_json {
    my ($s) = @_;
    $s =~ tr/-_/+\//;
    return eval { JSON::PP->new->decode(MIME::Base64::decode_base64($s)) } || {};
}
sub mcp_checks {
    my ($port, $secrets) = @_;
    my $no = get('/mcp', port => $port);
    my $prm = get('/.well-known/oauth-protected-resource/mcp', port => $port);
    my %tok = map {
        my $r = post_form('/oauth/token', [grant_type => 'client_credentials', scope => 'mcp:tools',
                                           ($_ ? (resource => $MCP) : ())],
                          port => $port, auth => ['agent', $secrets->{agent}]);
        ($_ => $r->{json}{access_token} // '')
    } (1, 0);
    my $good = get('/mcp', port => $port, headers => [Authorization => "Bearer $tok{1}"]);
    my $other = get('/mcp', port => $port, headers => [Authorization => "Bearer $tok{0}"]);
    my $cb = 'http://127.0.0.1:33418/callback';
    my $reg = request('POST', '/oauth/register', port => $port,
                      headers => ['Content-Type' => 'application/json'],
                      body => JSON::PP->new->encode({ client_name => 'An MCP client',
                          redirect_uris => [$cb], token_endpoint_auth_method => 'none' }));
    my $cid = ($reg->{json} || {})->{client_id} // 'none';
    my $page = get('/oauth/authorize?' . form_encode([response_type => 'code', client_id => $cid,
                       redirect_uri => $cb, scope => 'mcp:tools', resource => $MCP,
                       code_challenge => 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
                       code_challenge_method => 'S256']),
                   port => $port, auth => [qw(alice wonderland)]);
    return (
        ['no token: 401 with resource_metadata', $no->{status} == 401
            && ($no->{headers}->header('WWW-Authenticate') // '') =~
               m{resource_metadata="https://mcp\.example\.org/\.well-known/oauth-protected-resource/mcp"}],
        ['the metadata document', $prm->{status} == 200 && ($prm->{json}{resource} // '') eq $MCP
            && ($prm->{json}{authorization_servers}[0] // '') eq 'https://mcp.example.org'],
        ['a JWT whose aud is /mcp', (b64url_json((split /\./, $tok{1})[1] // '')->{aud} // '') eq $MCP],
        ['it passes the gate', $good->{status} == 200 && $good->{body} =~ /the MCP server/],
        ['a token for the default audience: 401 invalid_token', $other->{status} == 401
            && ($other->{headers}->header('WWW-Authenticate') // '') =~ /invalid_token/],
        ['a public client registers itself: 201, scope mcp:tools', $reg->{status} == 201
            && (($reg->{json} || {})->{scope} // '') eq 'mcp:tools'],
        ['its approval page, marked self-registered', $page->{status} == 200
            && $page->{body} =~ /An MCP client/ && $page->{body} =~ /registered itself/],
    );
}

my %GENERIC = (
    clients => [],
    expected_log => qr/^\z/,
    check => sub {
        my ($port) = @_;
        my $r = get('/.well-known/oauth-authorization-server', port => $port);
        diag("metadata: $r->{status} $r->{body}") unless $r->{status} == 200;
        return $r->{status} == 200 && $r->{json}{issuer};
    },
    what => 'its metadata document',
);

# --- the Debian files: a2enmod oauth_as loads these two --------------------------------
{
    my $d = tempdir(CLEANUP => 1);
    mkdir "$d/$_" for qw(run logs);
    (my $load = slurp("$TOP/conf-examples/debian/oauth_as.load")) =~ s/\@LIBEXECDIR\@/$TOP\/build/g;
    ok $load =~ m{^LoadModule oauth_as_module \S+/mod_oauth_as\.so$}m, 'oauth_as.load: LoadModule';
    spew("$d/oauth_as.load", $load);
    my $base = join "\n", grep { !/oauth_as_module/ } split /\n/, $MODULES;
    spew("$d/httpd.conf", qq{ServerRoot "$d"\nServerName localhost\nPidFile "$d/run/pid"\n}
         . qq{ErrorLog "$d/logs/error_log"\nListen 127.0.0.1:1\n$base\nInclude "$d/oauth_as.load"\n}
         . qq{Include "$TOP/conf-examples/debian/oauth_as.conf"\n});
    my ($rc, $out) = run($HTTPD, '-t', '-f', "$d/httpd.conf");
    ok $rc == 0 && $out =~ /Syntax OK/, 'debian/oauth_as.load + oauth_as.conf: apache2 -t'
        or diag($out);
}

# --- each example ------------------------------------------------------------------------
for my $example (@EXAMPLES) {
    (my $name = $example) =~ s{.*/}{};
    my $spec = $REQUEST{$name} || \%GENERIC;
    my $d = tempdir("oas-example-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    my ($port, $backend) = (free_port(), free_port());
    my $redis = redis_for($example, $d);
    my $conf = prepare($example, $d, $port, $backend, $redis);

    my %secrets;
    spew("$d/etc/clients.json", qq({"clients": []}\n));
    for my $args (@{ $spec->{clients} }) {
        my $out = tool('-f', "$d/example.conf", @$args);
        $secrets{ $args->[1] } = secret_of($out);
    }
    ok !grep({ !defined } values %secrets), "$name: clients registered with oauth-as-client -f";

    my ($rc, $out) = run($HTTPD, '-t', '-f', $conf);
    ok $rc == 0 && $out =~ /Syntax OK/, "$name: apache2 -t" or diag($out);
  SKIP: {
    skip "$name: no redis-server to start", 3 unless defined $redis;
    ok start($conf, $port), "$name: httpd starts on port $port";
    ok $spec->{check}->($port, \%secrets), "$name: serves $spec->{what}";
    my $stopped = stop("$d/run/httpd.pid");
    # AH03092: httpd's event MPM, while it stops, may fail to add a connection in lingering
    # close to its pollset that it has closed already (httpd's own shutdown race, not ours)
    my @bad = grep { /\[(?:[a-z_]+:)?(?:error|crit|alert|emerg)\]/ && !/$spec->{expected_log}/
                     && !/AH03092: process_lingering_close/ }
              split /\n/, slurp("$d/logs/error_log");
    ok $stopped && !@bad, "$name: stops; no error in its log" or diag(join "\n", @bad);
  }
}
