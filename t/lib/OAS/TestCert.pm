package OAS::TestCert;
# A self-signed certificate for localhost (CN and subjectAltName), for the HTTPS
# virtual host of the test server.  Made once with `openssl req`; t/TEST.PL calls
# ensure() before Apache::Test generates httpd.conf.
use strict;
use warnings;

sub ensure {
    my ($dir) = @_;
    my ($crt, $key) = ("$dir/server.crt", "$dir/server.key");
    return 1 if -s $crt && -s $key;
    mkdir $dir unless -d $dir;
    my @cmd = ('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
               '-sha256', '-days', '3650', '-subj', '/CN=localhost',
               '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
               '-addext', 'basicConstraints=critical,CA:FALSE',
               '-addext', 'extendedKeyUsage=serverAuth',
               '-keyout', $key, '-out', $crt);
    system(join(' ', map { "'$_'" } @cmd) . ' >/dev/null 2>&1') == 0
        or die "OAS::TestCert: `@cmd` failed (is openssl installed?)\n";
    chmod 0600, $key;
    return 1;
}

1;
