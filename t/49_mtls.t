# Mutual TLS (RFC 8705, SPEC section 13) against the real server: tls_client_auth
# (subject DN, chain to SSLCACertificateFile), self_signed_tls_client_auth (x5c in
# the client's jwks), certificate-bound tokens (cnf x5t#S256 in introspection and
# JWTs) checked by the access hook against the connection's certificate, and an
# independent client (Python requests with a client certificate).
# Virtual host: t/conf/mtls.conf.in (SSLVerifyClient optional_no_ca); test CA,
# certificates and registry: t/lib/OAS/TestMTLS.pm.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TestMTLS;
use JSON::PP ();
use File::Temp qw(tempdir);
use FindBin ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Digest::SHA qw(sha256);
use LWP::UserAgent ();
use HTTP::Request ();

plan tests => 28, need_module('ssl'), need_module('oauth_as');

my $P    = Apache::Test::vars('oas_mtls_port');
my $ISS  = "https://localhost:$P";
my $FIX  = Apache::Test::vars('serverroot') . '/conf/oas-mtls';
my $TMP  = tempdir(CLEANUP => 1);
my $SRV  = Apache::Test::vars('serverroot') . '/conf/oas-ssl/server.crt';   # trusted by python
my %C = (client => ["$FIX/client.crt", "$FIX/client.key"],
         ss     => ["$FIX/ss.crt", "$FIX/ss.key"]);
# made here: a certificate with the right DN from another CA, one with another DN
# from the test CA (its key copied here), another self-signed one
system("cp '$FIX/ca.crt' '$FIX/ca.key' '$TMP/'") == 0 or die "cp: $?";
OAS::TestMTLS::mkca($TMP, 'other-ca', '/CN=Another CA');
$C{otherca} = [OAS::TestMTLS::mkcert($TMP, 'otherca', '/O=OAS Test/CN=mtls-client', 'other-ca')];
$C{wrongdn} = [OAS::TestMTLS::mkcert($TMP, 'wrongdn', '/O=OAS Test/CN=someone-else', 'ca')];
$C{ss2}     = [OAS::TestMTLS::mkcert($TMP, 'ss2', '/CN=ss-client')];

sub b64url { my $s = encode_base64($_[0], ''); $s =~ tr{+/}{-_}; $s =~ s/=+$//; $s }
sub x5t {
    my ($crt) = @_;
    return b64url(sha256(scalar `openssl x509 -in '$crt' -outform DER`));
}

# req($method, $path, $cert or undef, form => [...], bearer => TOKEN)
sub req {
    my ($method, $path, $cert, %o) = @_;
    my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 0, max_redirect => 0,
        ssl_opts => { verify_hostname => 0,
                      SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                      ($cert ? (SSL_cert_file => $C{$cert}[0],
                                SSL_key_file => $C{$cert}[1]) : ()) });
    my $r = HTTP::Request->new($method => "$ISS$path");
    if ($o{form}) {
        $r->content(OAS::Test::form_encode($o{form}));
        $r->header('Content-Type' => 'application/x-www-form-urlencoded');
    }
    $r->header(Authorization => "Bearer $o{bearer}") if $o{bearer};
    my @h = @{ $o{headers} || [] };
    $r->push_header(splice @h, 0, 2) while @h;
    $r->header(Authorization => 'Basic ' . encode_base64("$o{basic}[0]:$o{basic}[1]", ''))
        if $o{basic};
    my $res = $ua->request($r);
    my $j = eval { JSON::PP->new->decode($res->content) };
    return { status => $res->code, json => $j, body => $res->content, res => $res };
}

sub token {
    my ($client, $cert, %o) = @_;
    return req('POST', '/oauth/token', $cert,
               form => [grant_type => 'client_credentials', client_id => $client], %o);
}

sub err_is {
    my ($r, $status, $err, $name) = @_;
    ok $r->{status} == $status && ($r->{json}{error} // '') eq $err,
       "$name -> $status $err" . ($r->{status} == $status ? '' : " (got $r->{status} $r->{body})");
}

# --- metadata -------------------------------------------------------------------------
my $m = req('GET', '/.well-known/oauth-authorization-server', undef)->{json};
ok $m->{tls_client_certificate_bound_access_tokens}, 'metadata: certificate-bound tokens';
ok((grep { $_ eq 'tls_client_auth' } @{ $m->{token_endpoint_auth_methods_supported} })
   && (grep { $_ eq 'self_signed_tls_client_auth' }
       @{ $m->{token_endpoint_auth_methods_supported} }), 'metadata: both mTLS methods');

# --- tls_client_auth ----------------------------------------------------------------
my $r = token('mtls-dn', 'client');
ok $r->{status} == 200 && $r->{json}{access_token} && $r->{json}{token_type} eq 'Bearer',
   'tls_client_auth: right DN, the test CA -> 200' . " ($r->{status} $r->{body})";
my $bound = $r->{json}{access_token};
err_is(token('mtls-dn', 'wrongdn'), 401, 'invalid_client', 'tls_client_auth: another DN');
err_is(token('mtls-dn', undef), 401, 'invalid_client', 'tls_client_auth: no certificate');
err_is(token('mtls-dn', 'otherca'), 401, 'invalid_client',
       'tls_client_auth: the right DN from another CA');
err_is(token('mtls-dn', 'ss'), 401, 'invalid_client', 'tls_client_auth: a self-signed one');
err_is(token('mtls-nobody', 'client'), 401, 'invalid_client', 'an unknown client id');

# --- self_signed_tls_client_auth ----------------------------------------------------
$r = token('mtls-ss', 'ss');
ok $r->{status} == 200 && $r->{json}{access_token},
   "self_signed_tls_client_auth: the x5c certificate -> 200 ($r->{status})";
my $jwt = $r->{json}{access_token};
err_is(token('mtls-ss', 'ss2'), 401, 'invalid_client',
       'self_signed_tls_client_auth: same subject, another key');
err_is(token('mtls-ss', 'client'), 401, 'invalid_client',
       'self_signed_tls_client_auth: a CA-issued certificate not in x5c');
err_is(token('mtls-ss', undef), 401, 'invalid_client', 'self_signed_tls_client_auth: none');
my ($pl) = (split /\./, $jwt)[1] // '';
$pl =~ tr{-_}{+/};
my $claims = eval { JSON::PP->new->decode(decode_base64($pl)) } || {};
is $claims->{cnf}{'x5t#S256'}, x5t($C{ss}[0]), 'JWT access token: cnf x5t#S256';

# --- certificate-bound tokens at the resource ---------------------------------------
is req('GET', '/rs/valid/ok.txt', 'client', bearer => $bound)->{status}, 200,
   'bound token over its certificate -> 200';
$r = req('GET', '/rs/valid/ok.txt', 'wrongdn', bearer => $bound);
ok $r->{status} == 401 && ($r->{res}->header('WWW-Authenticate') // '') =~ /invalid_token/,
   "bound token over another certificate -> 401 invalid_token ($r->{status})";
is req('GET', '/rs/valid/ok.txt', undef, bearer => $bound)->{status}, 401,
   'bound token without a certificate -> 401';
# a certificate in a request header is never read (a TLS-terminating proxy's or forged)
my $pem = do { local (@ARGV, $/) = $C{client}[0]; <> };
(my $pem1 = $pem) =~ s/\n/ /g;
my @fwd = map { ($_ => $pem1) } qw(SSL-Client-Cert X-SSL-Client-Cert X-Forwarded-Client-Cert
                                    X-Client-Cert);
is req('GET', '/rs/valid/ok.txt', undef, bearer => $bound, headers => \@fwd)->{status}, 401,
   'bound token with its certificate in forwarded headers only -> 401';
err_is(token('mtls-dn', undef, headers => \@fwd), 401, 'invalid_client',
       'tls_client_auth with the certificate in forwarded headers only');
is req('GET', '/rs/valid/ok.txt', 'ss', bearer => $jwt)->{status}, 200,
   'bound JWT over its self-signed certificate -> 200';
is req('GET', '/rs/valid/ok.txt', 'ss2', bearer => $jwt)->{status}, 401,
   'bound JWT over a look-alike self-signed certificate -> 401';

# --- introspection (authenticated by the client certificate) -------------------------
$r = req('POST', '/oauth/introspect', 'client', form => [token => $bound, client_id => 'mtls-dn']);
ok $r->{json}{active}, "introspection by tls_client_auth ($r->{status})";
is $r->{json}{cnf}{'x5t#S256'}, x5t($C{client}[0]), 'introspection: cnf x5t#S256';

# --- an unbound mTLS client, and a secret client whose tokens are bound ---------------
$r = token('mtls-free', 'client');
ok $r->{status} == 200, "unbound tls_client_auth client -> 200 ($r->{status})";
is req('GET', '/rs/valid/ok.txt', undef, bearer => $r->{json}{access_token})->{status}, 200,
   'its token works without a certificate';
my @basic = (basic => ['m2m-bound', 'm2m-secret']);
err_is(req('POST', '/oauth/token', undef, form => [grant_type => 'client_credentials'], @basic),
       400, 'invalid_request', 'bound secret client without a certificate');
$r = req('POST', '/oauth/token', 'wrongdn', form => [grant_type => 'client_credentials'], @basic);
is req('GET', '/rs/valid/ok.txt', 'wrongdn', bearer => $r->{json}{access_token})->{status}, 200,
   'bound secret client: any certificate it shows binds its token';

# --- independent client: Python requests with a client certificate ------------------
SKIP: {
    skip 'no python3 requests', 2
        unless system('/usr/bin/python3 -c "import requests" 2>/dev/null') == 0;
    my $out = `/usr/bin/python3 '$FindBin::Bin/clients/mtls_requests.py' '$ISS' '$C{client}[0]' '$C{client}[1]' '$SRV' 2>&1`;
    like $out, qr/^token 200 Bearer$/m, 'python requests: token by tls_client_auth';
    like $out, qr/^resource 200 ok$/m, "python requests: the bound token at the resource ($out)";
}
