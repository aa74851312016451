package OAS::TestMTLS;
# The mutual-TLS fixtures of t/49_mtls.t (RFC 8705), made with the openssl command
# before Apache::Test generates httpd.conf (t/TEST.PL) and kept across runs:
#   ca.crt/ca.key      a test CA (the vhost's SSLCACertificateFile)
#   client.crt/.key    CN=mtls-client,O=OAS Test, issued by that CA
#   ss.crt/ss.key      a self-signed certificate, CN=ss-client
#   clients.json       the registry of t/conf/mtls.conf.in (ss.crt as x5c)
# t/49_mtls.t makes the other certificates it needs (another CA, another DN,
# another self-signed one) with mkcert() into a temporary directory.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64);
use JSON::PP ();

sub _run {
    my (@cmd) = @_;
    system(join(' ', map { "'$_'" } @cmd) . ' >/dev/null 2>&1') == 0
        or die "OAS::TestMTLS: `@cmd` failed\n";
}

# mkcert($dir, $name, $subject, $ca_name or undef): $dir/$name.crt and .key, an
# EC P-256 client certificate issued by $dir/$ca_name.crt (self-signed without)
sub mkcert {
    my ($dir, $name, $subj, $ca) = @_;
    my ($crt, $key) = ("$dir/$name.crt", "$dir/$name.key");
    if (!$ca) {
        _run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
             '-nodes', '-sha256', '-days', '3650', '-subj', $subj,
             '-addext', 'basicConstraints=critical,CA:FALSE',
             '-addext', 'keyUsage=digitalSignature',
             '-addext', 'extendedKeyUsage=clientAuth', '-keyout', $key, '-out', $crt);
    }
    else {
        _run('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
             '-nodes', '-subj', $subj, '-keyout', $key, '-out', "$dir/$name.csr");
        open my $fh, '>', "$dir/$name.ext" or die "$dir/$name.ext: $!";
        print $fh "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n";
        close $fh;
        _run('openssl', 'x509', '-req', '-in', "$dir/$name.csr", '-CA', "$dir/$ca.crt",
             '-CAkey', "$dir/$ca.key", '-CAcreateserial', '-days', '3650', '-sha256',
             '-extfile', "$dir/$name.ext", '-out', $crt);
    }
    chmod 0600, $key;
    return ($crt, $key);
}

# mkca($dir, $name, $subject): a CA certificate and key
sub mkca {
    my ($dir, $name, $subj) = @_;
    _run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
         '-nodes', '-sha256', '-days', '3650', '-subj', $subj,
         '-addext', 'basicConstraints=critical,CA:TRUE',
         '-addext', 'keyUsage=keyCertSign,cRLSign',
         '-keyout', "$dir/$name.key", '-out', "$dir/$name.crt");
}

sub _b64url { my $s = encode_base64($_[0], ''); $s =~ tr{+/}{-_}; $s =~ s/=+$//; $s }

# the public JWK of an EC P-256 certificate, with the certificate as x5c
sub jwk_of {
    my ($crt) = @_;
    my $der = `openssl x509 -in '$crt' -outform DER`;
    my $pub = `openssl x509 -in '$crt' -noout -pubkey | openssl ec -pubin -outform DER 2>/dev/null`;
    my $pt = substr($pub, -65);                      # 04 || X || Y
    die "OAS::TestMTLS: $crt: not an uncompressed P-256 key\n" unless ord($pt) == 4;
    return { kty => 'EC', crv => 'P-256', x => _b64url(substr($pt, 1, 32)),
             y => _b64url(substr($pt, 33, 32)), x5c => [encode_base64($der, '')] };
}

sub ensure {
    my ($dir) = @_;
    return 1 if -s "$dir/clients.json";
    mkdir $dir unless -d $dir;
    mkca($dir, 'ca', '/CN=OAS Test mTLS CA');
    mkcert($dir, 'client', '/O=OAS Test/CN=mtls-client', 'ca');
    mkcert($dir, 'ss', '/CN=ss-client');
    my $secret = '$2y$05$5LqNH2RrugKCEvhWRCY4K.B8jy3ll4yIqUq5LZQTy7hAHgExBG5fy';  # m2m-secret
    my $reg = { comment => 't/49_mtls.t: made by t/lib/OAS/TestMTLS.pm', clients => [
        { client_id => 'mtls-dn', type => 'confidential',
          token_endpoint_auth_method => 'tls_client_auth',
          tls_client_auth_subject_dn => 'cn=mtls-client, O=OAS Test',
          tls_client_certificate_bound_access_tokens => JSON::PP::true,
          grant_types => ['client_credentials'], scopes => ['read'] },
        { client_id => 'mtls-ss', type => 'confidential',
          token_endpoint_auth_method => 'self_signed_tls_client_auth',
          jwks => { keys => [jwk_of("$dir/ss.crt")] },
          tls_client_certificate_bound_access_tokens => JSON::PP::true,
          access_token_format => 'jwt',
          grant_types => ['client_credentials'], scopes => ['read'] },
        { client_id => 'mtls-free', type => 'confidential',
          token_endpoint_auth_method => 'tls_client_auth',
          tls_client_auth_subject_dn => 'CN=mtls-client,O=OAS Test',
          grant_types => ['client_credentials'], scopes => ['read'] },
        { client_id => 'm2m-bound', type => 'confidential', secret => $secret,
          tls_client_certificate_bound_access_tokens => JSON::PP::true,
          grant_types => ['client_credentials'], scopes => ['read'] },
    ] };
    open my $fh, '>', "$dir/clients.json.tmp" or die "$dir: $!";
    print $fh JSON::PP->new->canonical->pretty->encode($reg);
    close $fh;
    rename "$dir/clients.json.tmp", "$dir/clients.json" or die "$dir: $!";
    return 1;
}

1;
