# Configuration validation and reload (SPEC §2, §3; issue 2 item 2).
#
# 1. httpd -t (config test) on a copy of t/conf/httpd.conf with one line appended:
#    every directive with a bad value stops it, and the output names the directive and
#    the value; a registry that does not parse or breaks a rule stops it, and the
#    output names the file, the client and the field.
# 2. The running server: a graceful restart (and a restart) with a broken
#    t/conf/clients.json keeps the old registry (OAS01001 logged); a changed registry
#    takes effect at the next graceful restart.  clients.json is restored at the end
#    (and in an END block should the test die).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Path qw(make_path);
use JSON::PP ();
use OAS::Test;
use OAS::TokenTest;

my $cfg   = Apache::Test::config();
my $vars  = $cfg->{vars};
my $httpd = $vars->{httpd};
my $conf  = $vars->{t_conf_file};
my $dir   = "$vars->{t_logs}/cfgtest";
make_path($dir);

my $BCRYPT = '$2y$05$5LqNH2RrugKCEvhWRCY4K.B8jy3ll4yIqUq5LZQTy7hAHgExBG5fy';   # m2m-secret

# --- httpd -t with one more line --------------------------------------------------------

my $n = 0;
sub configtest {
    my ($extra) = @_;
    $n++;
    my $tmp = "$dir/httpd-$n.conf";
    open my $in, '<', $conf or die "$conf: $!";
    open my $out, '>', $tmp or die "$tmp: $!";
    print $out $_ while <$in>;
    print $out "\n# added by t/12_config.t\n$extra\n";
    close $out;
    close $in;
    my $args = $cfg->server->args;
    $args =~ s/(^|\s)-f\s+\S+/$1-f $tmp/ or $args .= " -f $tmp";
    my $cmd = "$httpd $args -t 2>&1";
    my $output = `$cmd`;
    my $rc = $? >> 8;
    return ($rc, $output);
}

sub refused {
    my ($extra, $name, @want) = @_;
    my ($rc, $out) = configtest($extra);
    my @missing = grep { $out !~ $_ } map { ref $_ ? $_ : qr/\Q$_\E/ } @want;
    my $ok = ok($rc != 0 && !@missing, $name);
    diag("exit $rc; missing: @missing\n$extra\n$out") unless $ok;
    return $ok;
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

my @directives = (
    # line appended                                       what the output must name
    ['OAuthASStoreMemory lots',                          'OAuthASStoreMemory', "'lots'"],
    ['OAuthASClientMetadataDocuments Maybe',             'OAuthASClientMetadataDocuments', 'On or Off'],
    ['OAuthASClientMetadataDocuments On 10.0.0.0/33',    'OAuthASClientMetadataDocuments', "'10.0.0.0/33'", 'prefix length'],
    ['OAuthASClientMetadataDocuments On intranet',       'OAuthASClientMetadataDocuments', "'intranet'"],
    ['OAuthASClientMetadataDocuments Off 10.0.0.0/8',    'OAuthASClientMetadataDocuments', 'no address ranges'],
    ['OAuthASOutboundCA /nonexistent/ca.pem',            'OAuthASOutboundCA', "'/nonexistent/ca.pem'"],
    ['OAuthASStoreMemory 0',                             'OAuthASStoreMemory', "'0'"],
    ['OAuthASStoreDisk -5',                              'OAuthASStoreDisk', "'-5'"],
    ['OAuthASStoreDisk 12abc',                           'OAuthASStoreDisk', "'12abc'"],
    ['OAuthASRequirePKCE maybe',                         'OAuthASRequirePKCE', 'maybe'],
    ['OAuthASIssuer ftp://x',                            'OAuthASIssuer', 'ftp://x'],
    ['OAuthASIssuer https://as.example/?q=1',            'OAuthASIssuer', 'https://as.example/?q=1'],
    ['OAuthASIssuer https://as.example/#f',              'OAuthASIssuer', 'https://as.example/#f'],
    ['OAuthASIssuer https://as.example/' . ('p' x 240),  'OAuthASIssuer', '255 bytes'],
    ['OAuthASCodeLifetime 0',                            'OAuthASCodeLifetime', "'0'"],
    ['OAuthASCodeLifetime 1.5',                          'OAuthASCodeLifetime', "'1.5'"],
    ['OAuthASAccessTokenLifetime -1',                    'OAuthASAccessTokenLifetime', "'-1'"],
    ['OAuthASRefreshTokenLifetime forever',              'OAuthASRefreshTokenLifetime', 'forever'],
    ['OAuthASApprovalPage color red',                    'OAuthASApprovalPage', 'color'],
    ['OAuthASApprovalPage logo http://evil.example/l.png', 'OAuthASApprovalPage', 'http://evil.example/l.png'],
    ['OAuthASScope "bad scope" "d"',                     'OAuthASScope', 'bad scope'],
    ['OAuthASScope lonely',                              'OAuthASScope'],
    ['OAuthASScope files "Files" relative/path',         'OAuthASScope', 'relative/path'],
    ["<Location /cfgtest>\nOAuthASPasswordProvider nosuch\n</Location>",
                                                         'OAuthASPasswordProvider', 'nosuch'],
    ["<Location /cfgtest>\nOAuthASPasswordCache 3601\n</Location>",
                                                         'OAuthASPasswordCache', "'3601'", '0 and 3600'],
    ["<Location /cfgtest>\nOAuthASPasswordCache -1\n</Location>",
                                                         'OAuthASPasswordCache', "'-1'"],
    ["<Location /cfgtest>\nOAuthASPasswordCache 5m\n</Location>",
                                                         'OAuthASPasswordCache', "'5m'"],
    ['OAuthASStore redis:',                              'OAuthASStore', "'redis:'", qr/HOST:PORT/],
    ['OAuthASStore redis:a:b:c',                         'OAuthASStore', 'redis:a:b:c'],
    ['OAuthASStore socache:nosuch',                      'OAuthASStore', 'nosuch', qr/provider/],
    ['OAuthASStore nosuch',                              'OAuthASStore', 'nosuch'],
    ['OAuthASRedisTimeout 0',                            'OAuthASRedisTimeout', "'0'"],
    ['OAuthASRedisPool max=0',                           'OAuthASRedisPool', "'0'"],
    ['OAuthASRedisPool size=3',                          'OAuthASRedisPool', 'size=3'],
    ['OAuthASRedisPrefix "a b"',                         'OAuthASRedisPrefix', 'a b'],
    ['OAuthASRequireHTTPS maybe',                        'OAuthASRequireHTTPS', 'maybe'],
    ['OAuthASRequirePost perhaps',                       'OAuthASRequirePost', 'perhaps'],
    ['OAuthASResource relative/path',                    'OAuthASResource', 'relative/path'],
    ['OAuthASResource https://api.example/a#f',          'OAuthASResource', 'fragment'],
    ['OAuthASDefaultResource "not a uri"',               'OAuthASDefaultResource', 'not a uri'],
    ["<Location /cfgtest>\nOAuthASProtectedResource urn:example:c\n</Location>",
                                                         'OAuthASProtectedResource', 'urn:example:c'],
    ["<Location /cfgtest>\nOAuthASProtectedResource https://h.example/x?q=1\n</Location>",
                                                         'OAuthASProtectedResource', 'query'],
    ['OAuthASProtectedResource https://h.example/x',     'OAuthASProtectedResource', 'not allowed'],
);

# a valid registry, and registries that break one rule each:
# [file name, JSON text, what the output must name besides the file]
my $good = { client_id => 'ok', type => 'confidential', secret => $BCRYPT,
             grant_types => ['client_credentials'], scopes => ['read'] };
sub reg { JSON::PP->new->canonical->pretty->encode({ clients => [$good, @_] }) }
my @registries = (
    ['syntax.json', qq({"clients": [ {"client_id": "a", }\n), qr/JSON|syntax|parse/i],
    ['plain.json', reg({ %$good, client_id => 'plain', secret => 'hunter2' }),
     "'plain'", 'secret'],
    ['pubsecret.json', reg({ client_id => 'pubsec', type => 'public', secret => $BCRYPT,
                             redirect_uris => ['https://a.example/cb'],
                             grant_types => ['authorization_code'], scopes => ['read'] }),
     "'pubsec'", 'secret'],
    ['pubcc.json', reg({ client_id => 'pubcc', type => 'public',
                         grant_types => ['client_credentials'], scopes => ['read'] }),
     "'pubcc'", 'grant_types', 'client_credentials'],
    ['pubpw.json', reg({ client_id => 'pubpw', type => 'public',
                         grant_types => ['password'], scopes => ['read'] }),
     "'pubpw'", 'grant_types', 'password'],
    ['scope.json', reg({ %$good, client_id => 'sc', scopes => ['read', 'nosuchscope'] }),
     "'sc'", 'scopes', 'nosuchscope'],
    ['redirect.json', reg({ %$good, client_id => 'rd', grant_types => ['authorization_code'],
                            redirect_uris => ['not a uri'] }),
     "'rd'", 'redirect_uris'],
    ['redirect-frag.json', reg({ %$good, client_id => 'rdf', grant_types => ['authorization_code'],
                                 redirect_uris => ['https://a.example/cb#x'] }),
     "'rdf'", 'redirect_uris'],
    ['dup.json', reg({ %$good, client_id => 'dup' }, { %$good, client_id => 'dup' }),
     "'dup'", 'client_id'],
    ['unknown.json', reg({ %$good, client_id => 'unk', colour => 'red' }),
     "'unk'", 'colour'],
    ['grant.json', reg({ %$good, client_id => 'gr', grant_types => ['client_credentials', 'magic'] }),
     "'gr'", 'grant_types', 'magic'],
    ['limit.json', reg({ %$good, client_id => 'lim', refresh_limit => -2 }),
     "'lim'", 'refresh_limit'],
    ['notype.json', reg({ %$good, client_id => 'nt', type => 'trusted' }), "'nt'", 'type'],
    ['enabled.json', reg({ %$good, client_id => 'en', enabled => 'yes' }), "'en'", 'enabled'],
    ['top.json', '[]', qr/top level|object/i],
    ['resources.json', reg({ %$good, client_id => 'res', resources => ['https://a.example/x#y'] }),
     "'res'", 'resources', 'fragment'],
    # RFC 8705 (t/49_mtls.t): the DN of tls_client_auth, the x5c of the self-signed method
    ['mtls-dn.json', reg({ client_id => 'tlsdn', type => 'confidential',
                           token_endpoint_auth_method => 'tls_client_auth',
                           grant_types => ['client_credentials'], scopes => ['read'] }),
     "'tlsdn'", 'tls_client_auth_subject_dn'],
    ['mtls-x5c.json', reg({ client_id => 'tlsss', type => 'confidential',
                            token_endpoint_auth_method => 'self_signed_tls_client_auth',
                            jwks => { keys => [{ kty => 'EC', crv => 'P-256',
                                x => 'MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4',
                                y => '4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM',
                                x5c => ['bm90IGEgY2VydGlmaWNhdGU='] }] },
                            grant_types => ['client_credentials'], scopes => ['read'] }),
     "'tlsss'", 'jwks', 'x5c'],
    ['mtls-secret.json', reg({ %$good, client_id => 'tlssec',
                               token_endpoint_auth_method => 'tls_client_auth',
                               tls_client_auth_subject_dn => 'CN=tlssec' }),
     "'tlssec'", 'secret'],
);

plan tests => 2 + @directives + 2 + @registries + 10 + 19 + 3, need_module('oauth_as');

my ($rc, $out) = configtest('# nothing');
ok t_cmp($rc, 0, 'the unchanged configuration passes httpd -t') or diag $out;
ok t_cmp($out, qr/Syntax OK/, '... with "Syntax OK"');

for my $d (@directives) {
    my ($line, @want) = @$d;
    (my $label = $line) =~ s/\n/ /g;
    refused($line, "httpd -t refuses: $label", @want);
}

# registries
write_file("$dir/good.json", reg());
($rc, $out) = configtest(qq(OAuthASClients "$dir/good.json"));
ok t_cmp($rc, 0, 'a valid registry of its own passes httpd -t') or diag $out;
refused(qq(OAuthASClients "$dir/missing.json"), 'a registry file that does not exist',
        "$dir/missing.json");
for my $reg (@registries) {
    my ($file, $text, @want) = @$reg;
    write_file("$dir/$file", $text);
    refused(qq(OAuthASClients "$dir/$file"), "httpd -t refuses registry $file, naming file"
            . (@want > 1 ? ', client and field' : ''), "$dir/$file", @want);
}

# --- the store's directory (issue 12 item 1, SPEC section 9) ----------------------------
# The module gives away only a directory it made itself. An existing one keeps its owner
# and mode, and must be writable by the httpd user and hold the store alone (else
# /etc/apache2 with "OAuthASStoreFile oauth_store" went to www-data). httpd -t says so.

sub mode_owner { my @st = stat $_[0]; return "@st[2, 4, 5]" }

my $ro = "$dir/store-ro";
make_path($ro);
write_file("$ro/apache2.conf", "# not the store's\n");
chmod 0555, $ro;
my $before = mode_owner($ro);
refused(qq(OAuthASStoreFile "$ro/oauth_store"),
        'httpd -t refuses a store directory the httpd user cannot write',
        'OAuthASStoreFile', $ro, 'not writable', "install -d", '-m 700');
is mode_owner($ro), $before, '... and leaves its mode and owner as they were';
chmod 0755, $ro;

my $shared = "$dir/store-shared";
make_path($shared);
chmod 0700, $shared;
write_file("$shared/apache2.conf", "# not the store's\n");
$before = mode_owner($shared);
refused(qq(OAuthASStoreFile "$shared/oauth_store"),
        'httpd -t refuses a store directory that holds more than the store',
        $shared, "'apache2.conf'", 'the store alone', 'chown root:root');
is mode_owner($shared), $before, '... and leaves its mode and owner as they were';
unlink "$shared/apache2.conf";
symlink '/etc/passwd', "$shared/oauth_store.pag" or die "symlink: $!";
refused(qq(OAuthASStoreFile "$shared/oauth_store"),
        'httpd -t refuses a store directory with a symbolic link in it',
        "'oauth_store.pag' (a symbolic link)");
unlink "$shared/oauth_store.pag";
write_file("$shared/oauth_store.$_", '') for qw(dir pag);
($rc, $out) = configtest(qq(OAuthASStoreFile "$shared/oauth_store"));
ok t_cmp($rc, 0, 'a directory of the store alone passes httpd -t') or diag $out;
($rc, $out) = configtest(qq(OAuthASStoreFile "$dir/store-new/sub/tokens"));
ok $rc == 0 && !-e "$dir/store-new", 'a missing one passes too, and httpd -t does not make it'
    or diag $out;

# --- one store file, one memory tier (issue 12 item 5) -----------------------------------
# Two virtual hosts naming one OAuthASStoreFile with other sizes would get two shared-memory
# tiers over one SDBM file: a revocation through one would not be seen by the other.
sub two_vhosts {
    my ($mem_a, $mem_b, $disk_b) = @_;
    my $store = "$dir/store-two/tokens";
    return join "\n",
        "<VirtualHost 127.0.0.1:1>", "ServerName a.example", qq(OAuthASStoreFile "$store"),
        "OAuthASStoreMemory $mem_a", "</VirtualHost>",
        "<VirtualHost 127.0.0.1:2>", "ServerName b.example", qq(OAuthASStoreFile "$store"),
        "OAuthASStoreMemory $mem_b", ($disk_b ? "OAuthASStoreDisk $disk_b" : ()),
        "</VirtualHost>";
}
refused(two_vhosts(100, 200), 'httpd -t refuses one store file with two memory sizes',
        "$dir/store-two/tokens", 'a.example', 'b.example',
        qr/has OAuthASStoreMemory (100, .* has 200|200, .* has 100);/,
        'same OAuthASStoreMemory and OAuthASStoreDisk');
refused(two_vhosts(100, 100, 5000), '... and with two disk sizes', 'OAuthASStoreDisk',
        'a.example', 'b.example');
($rc, $out) = configtest(two_vhosts(100, 100));
ok t_cmp($rc, 0, 'one store file with the same sizes in two virtual hosts passes') or diag $out;

# --- the running server: graceful restart with a broken or changed registry ------------

my $clients = "$vars->{t_conf}/clients.json";
open my $fh, '<', $clients or die "$clients: $!";
my $orig = do { local $/; <$fh> };
close $fh;
my $restored = 0;
sub restore { write_file($clients, $orig); $restored = 1 }
END { restore() if defined $orig && !$restored }

ok t_cmp(cc_token('m2m')->{status}, 200, 'before: m2m gets a token');

expect_error_log(qr/OAS01001: client registry not reloaded.*clients\.json/);
write_file($clients, "{\"clients\": [ this is not JSON\n");
$restored = 0;
my $mark = error_log_mark();
ok graceful_restart(), 'graceful restart with a clients.json that does not parse';
my $line = wait_for_log(qr/OAS01001/, $mark, 10);
ok t_cmp($line, qr/\[oauth_as:error\].*OAS01001:.*clients\.json.*(JSON|syntax)/,
         'OAS01001 logged, naming the file and the problem');
my $r = cc_token('m2m');
ok t_cmp($r->{status}, 200, 'the old registry stays: m2m still gets tokens') or diag $r->{body};
ok introspect($r->{json}{access_token})->{active}, '... that introspect active';
ok t_cmp(cc_token('disabled')->{status}, 401, '... and the disabled client is still refused');

# a registry that parses but breaks a rule, and a restart (SIGHUP) this time
my $data = JSON::PP->new->decode($orig);
my $broken = JSON::PP->new->decode($orig);
$broken->{clients}[0]{secret} = 'plain-text-secret';
write_file($clients, JSON::PP->new->pretty->encode($broken));
$mark = error_log_mark();
ok restart(), 'restart (SIGHUP) with a registry that breaks a rule';
$line = wait_for_log(qr/OAS01001/, $mark, 10);
ok t_cmp($line, qr/OAS01001:.*clients\.json.*'m2m'.*secret/,
         'OAS01001 names the file, the client and the field');
ok t_cmp(cc_token('m2m')->{status}, 200, 'm2m still authenticates with its old secret');

restore();
$mark = error_log_mark();
ok graceful_restart(), 'graceful restart with clients.json restored';
ok error_log_since($mark) !~ /OAS01001/, 'no OAS01001 this time';
ok t_cmp(cc_token('m2m')->{status}, 200, 'm2m gets tokens');

# a new client takes effect at the next graceful restart, and goes with the next
my $newbie = ['newbie', 'm2m-secret'];
ok t_cmp(token_req([grant_type => 'client_credentials'], auth => $newbie)->{status}, 401,
         'an unregistered client is refused');
push @{ $data->{clients} }, { client_id => 'newbie', type => 'confidential',
                              secret => $BCRYPT, grant_types => ['client_credentials'],
                              scopes => ['write'] };
write_file($clients, JSON::PP->new->pretty->encode($data));
$restored = 0;
ok graceful_restart(), 'graceful restart with a client added';
$r = token_req([grant_type => 'client_credentials'], auth => $newbie);
ok t_cmp($r->{status}, 200, 'the new client gets a token') or diag $r->{body};
ok t_cmp(($r->{json} || {})->{scope}, 'write', '... with its scopes');
my $newbie_token = ($r->{json} || {})->{access_token} // '';

restore();
ok graceful_restart(), 'graceful restart with the client removed again';
is_oauth_error(token_req([grant_type => 'client_credentials'], auth => $newbie), 401,
               'invalid_client', 'the removed client is refused');
is_deeply introspect($newbie_token), { active => JSON::PP::false() },
          'its token introspects inactive (unknown client)';

# --- one store file, one tier, in the running server (issue 12 item 5) -------------------
# oas_https and oas_browser inherit the main server's store file, sizes and issuer: one
# memory tier, so a token revoked through one virtual host is inactive at the other.
my $browser_port = $vars->{oas_browser_port};
my $shared_tok = cc_token('m2m')->{json}{access_token} // '';
ok introspect($shared_tok, port => $browser_port)->{active},
   'a token issued at one virtual host is active at another of the same store';
$r = post_form('/oauth/revoke', [token => $shared_tok], auth => ['m2m', 'm2m-secret'],
               port => $browser_port);
ok t_cmp($r->{status}, 200, 'revoked through the other virtual host') or diag $r->{body};
is_deeply introspect($shared_tok), { active => JSON::PP::false() },
          '... it is inactive at the first: one memory tier';
