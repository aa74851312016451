package OAS::TestKeys;
# Signing keys of the JWT tests (t/35_jwt.t, t/conf/jwt.conf.in), made with
# `openssl genpkey` before Apache::Test generates httpd.conf (t/TEST.PL), mode 0600,
# kept across runs; never in git.
#   key-a.pem  EC P-256   the oas_jwt vhost's first key (signs)
#   key-b.pem  Ed25519    its second key (published; t/35_jwt.t swaps a and b)
#   rsa.pem    RSA 2048   the oas_jwtrsa vhost's key
#   rs-ec.pem  EC P-256   the oas_jwtrs vhost's key (t/33_jwt_remote.t; never rotated)
use strict;
use warnings;

my %KEYS = (
    'key-a.pem' => ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'key-b.pem' => ['-algorithm', 'ED25519'],
    'rsa.pem'   => ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    'rs-ec.pem' => ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
);

sub ensure {
    my ($dir) = @_;
    mkdir $dir, 0700 unless -d $dir;
    for my $name (sort keys %KEYS) {
        my $path = "$dir/$name";
        next if -s $path;
        my @cmd = ('openssl', 'genpkey', @{ $KEYS{$name} }, '-out', $path);
        my $old = umask 077;
        my $rc = system(join(' ', map { "'$_'" } @cmd) . ' >/dev/null 2>&1');
        umask $old;
        $rc == 0 or die "OAS::TestKeys: `@cmd` failed (is openssl installed?)\n";
        chmod 0600, $path;
    }
    return 1;
}

1;
