# Client metadata documents (draft-ietf-oauth-client-id-metadata-document, SPEC section
# 12 last bullet): a client_id that is an https URL is fetched from a small HTTPS server
# this test starts on loopback (the suite's certificate, trusted with OAuthASOutboundCA).
# A good document: the approval page, a code, a token, a bearer page.  A mismatched
# client_id, a redirect, an oversized document, a slow one (the worker is let go at the
# 5 s limit), a shared-secret method, a 404: the authorization endpoint's 400 page (no
# redirect) naming the reason, and invalid_client at the token endpoint.  A vhost that
# allows public addresses only refuses the loopback document; the main server (Off) does
# not know such a client id.
# Virtual hosts: t/conf/cimd.conf.in (oas_cimd: On 127.0.0.0/8 ::1; oas_cimdpub: On).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use Digest::SHA qw(sha256);
use IO::Socket::INET ();
use IO::Socket::SSL ();
use POSIX ();
use Time::HiRes qw(time);
use FindBin ();

plan tests => 22, need_module('ssl'), need_module('oauth_as');

my $CP = Apache::Test::vars('oas_cimd_port');
my $PP = Apache::Test::vars('oas_cimdpub_port');
my $SSL = "$FindBin::Bin/conf/oas-ssl";
my $CB = 'http://127.0.0.1:9/cb';

# ---- the document server: one forked child per connection ---------------------------
my $listen = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
                                   ReuseAddr => 1) or die "listen: $!";
my $DP = $listen->sockport;
my $BASE = "https://localhost:$DP";
sub doc { my ($path, %m) = @_;
          JSON::PP->new->canonical->encode({ client_id => "$BASE$path", client_name => 'CIMD Test App',
                                             redirect_uris => [$CB], %m }) }
my %DOCS = (
    '/good.json'     => [200, doc('/good.json', client_uri => 'https://app.example/',
                                  token_endpoint_auth_method => 'none')],
    '/mismatch.json' => [200, doc('/other.json')],
    '/redirect.json' => [302, '', "Location: $BASE/good.json\r\n"],
    '/big.json'      => [200, doc('/big.json', client_name => 'x' x 6000)],
    '/slow.json'     => ['slow', doc('/slow.json')],
    '/secret.json'   => [200, doc('/secret.json', token_endpoint_auth_method => 'client_secret_basic')],
    '/gone.json'     => [404, 'not here'],
    '/nostore.json'  => [200, doc('/nostore.json'), "Cache-Control: no-store\r\n"],
);
my $HITS = Apache::Test::vars('t_logs') . "/cimd_hits.$$";
unlink $HITS;
sub hits { my ($path) = @_; open my $fh, '<', $HITS or return 0; scalar grep { $_ eq "$path\n" } <$fh> }
my $server = fork // die "fork: $!";
if (!$server) {
    POSIX::setsid();
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $listen->accept) {
        next if fork;
        my $s = IO::Socket::SSL->start_SSL($c, SSL_server => 1,
                                           SSL_cert_file => "$SSL/server.crt",
                                           SSL_key_file => "$SSL/server.key") or POSIX::_exit(0);
        my $line = <$s> // '';
        while (my $h = <$s>) { last if $h =~ /^\r?\n$/ }
        my ($path) = $line =~ m{^GET (\S+)};
        if (open my $h, '>>', $HITS) { print $h ($path // '-'), "\n"; close $h }
        my ($st, $body, $extra) = @{ $DOCS{$path // ''} || [404, 'no'] };
        if ($st eq 'slow') { sleep 20; $st = 200 }
        print $s "HTTP/1.1 $st X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 . ($extra // '') . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
        $s->close(SSL_fast_shutdown => 1);
        POSIX::_exit(0);
    }
    POSIX::_exit(0);
}
close $listen;
END { kill 'TERM', -$server if $server }

sub authorize {   # authorize(client_id, port) -> response (GET as alice)
    my ($cid, $port, %more) = @_;
    my $verifier = 'v' x 43;
    return get('/oauth/authorize?' . form_encode({ response_type => 'code', client_id => $cid,
               redirect_uri => $CB, state => 's1', scope => 'read',
               code_challenge => encode_base64url(sha256($verifier)),
               code_challenge_method => 'S256', %more }),
               auth => ['alice', 'wonderland'], port => $port // $CP);
}

# ---- a good document: the whole code flow --------------------------------------------
my $GOOD = "$BASE/good.json";
my $page = authorize($GOOD);
ok(t_cmp($page->{status}, 200, 'a good document: the approval page')) or diag $page->{body};
ok(($page->{body} // '') =~ /CIMD Test App/, '... with the document\'s client_name');
ok(($page->{body} // '') =~ /registered itself/, '... marked as not vouched for');
my @f;
while (($page->{body} // '') =~ m{<input type="hidden" name="([^"]*)" value="([^"]*)"}g) {
    push @f, html_unescape($1), html_unescape($2);
}
my $d = post_form('/oauth/authorize', [@f, decision => 'approve'], auth => ['alice', 'wonderland'],
                  port => $CP);
my ($code) = ($d->{headers}->header('Location') // '') =~ /[?&]code=([^&#]+)/;
ok($code, '... approved: a code at the document\'s redirect URI');
my $t = post_form('/oauth/token', [grant_type => 'authorization_code', code => $code // 'x',
                                   redirect_uri => $CB, client_id => $GOOD,
                                   code_verifier => 'v' x 43], port => $CP);
ok(t_cmp($t->{status}, 200, '... redeemed as a public client')) or diag $t->{body};
my $at = ($t->{json} || {})->{access_token} // 'none';
my $api = get('/cimd-api', port => $CP, headers => [Authorization => "Bearer $at"]);
ok(t_cmp($api->{status}, 200, '... its token opens a page of this issuer'));
ok(t_cmp(hits('/good.json'), 1, '... the document was fetched once (kept in the store)'));
authorize("$BASE/nostore.json");
authorize("$BASE/nostore.json");
ok(t_cmp(hits('/nostore.json'), 2, 'a document with Cache-Control: no-store is not kept'));

# ---- bad documents: the 400 page, never a redirect ------------------------------------
sub refused {
    my ($path, $why, $name) = @_;
    my $r = authorize("$BASE$path");
    ok(t_cmp($r->{status}, 400, "$name: 400") && !$r->{headers}->header('Location')
       && ($r->{body} // '') =~ $why, "... on the page, no redirect: $why")
        or diag "$r->{status} $r->{body}";
}
refused('/mismatch.json', qr/client_id is not exactly its URL/, 'a mismatched client_id');
refused('/redirect.json', qr/HTTP 302: a redirect, not followed/, 'a redirect');
refused('/big.json', qr/larger than 5120 bytes/, 'an oversized document');
my $t0 = time;
refused('/slow.json', qr/took longer than 5000 ms/, 'a slow document');
my $took = time - $t0;
ok($took >= 4.5 && $took < 8, sprintf('... the worker is let go at the limit (%.1f s)', $took));
refused('/secret.json', qr/shared secret/, 'a shared-secret method');
refused('/gone.json', qr/HTTP 404/, 'a 404');

my $tok = post_form('/oauth/token', [grant_type => 'authorization_code', code => 'x',
                                     redirect_uri => $CB, client_id => "$BASE/mismatch.json",
                                     code_verifier => 'v' x 43], port => $CP);
is_oauth_error($tok, 401, 'invalid_client', 'the token endpoint: a refused document, 401 invalid_client');
ok(t_cmp(hits('/mismatch.json'), 2, '... refusals are not kept: fetched again'));

# ---- the metadata document; public addresses only; Off ---------------------------------
ok(t_cmp(get('/.well-known/oauth-authorization-server', port => $CP)->{json}
         {client_id_metadata_document_supported}, JSON::PP::true,
         'the metadata: client_id_metadata_document_supported'));
my $r = authorize($GOOD, $PP);
ok(t_cmp($r->{status}, 400, 'OAuthASClientMetadataDocuments On without ranges: loopback refused')
   && ($r->{body} // '') =~ /not public nor in an allowed range/) or diag $r->{body};
$r = authorize($GOOD, Apache::Test::vars('oas_https_port'));
ok(t_cmp($r->{status}, 400, 'Off (the main server): such a client id is not known')
   && ($r->{body} // '') =~ /not known/) or diag $r->{body};

# ---- anyone may name a document at the token endpoint: refusals count per address ----
# (as registrations do, OAuthASAuthFailLimit 10 60 here): a locked address gets 429 and
# makes the server fetch nothing more.
expect_error_log(qr/OAS00501\b.*registrations for address \(registrations\)/);
my @st = map { post_form('/oauth/token', [grant_type => 'authorization_code', code => 'x',
                                          redirect_uri => $CB, client_id => "$BASE/gone.json",
                                          code_verifier => 'v' x 43], port => $CP)->{status} }
         1 .. 10;
ok(t_cmp("@st", qr/^(401 )+429$/, 'refused documents at the token endpoint: 401s, then 429'));
my $h = hits('/gone.json');
my $again = post_form('/oauth/token', [grant_type => 'authorization_code', code => 'x',
                                       redirect_uri => $CB, client_id => "$BASE/other-path.json",
                                       code_verifier => 'v' x 43], port => $CP);
ok(t_cmp($again->{status}, 429, '... the address stays locked for another document')
   && hits('/gone.json') == $h && hits('/other-path.json') == 0, '... and nothing is fetched');
