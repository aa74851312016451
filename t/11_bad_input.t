# Bad input at the token endpoint (SPEC §5, §9; issue 2 item 4): each gets a clear
# OAuth error (4xx, JSON "error", Cache-Control: no-store), never a 5xx or a crash, and
# never a change of stored state: /oauth/status is read before and after each request,
# and the store's entry counts must be the same.  Then the error log must hold no
# [error] line written meanwhile.  A few boundary cases that must succeed (a body of
# exactly 64 KiB, a chunked body, a lower-case "basic" scheme) close the file.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use MIME::Base64 qw(encode_base64);
use OAS::Test;
use OAS::TokenTest;
use OAS::ErrorLog ();

my @CASES;   # filled below; two tests each

# name, HTTP status, error code, a sub that makes the request and returns the result
sub case { push @CASES, [@_] }

my $M2M = ['m2m', 'm2m-secret'];
my $CC  = 'grant_type=client_credentials';
sub body { my ($body, %o) = @_; post_form('/oauth/token', $body, auth => $M2M, %o) }
sub basic_hdr { my ($v) = @_; post_form('/oauth/token', $CC, headers => [Authorization => $v]) }
sub raw_token {
    my ($body, %o) = @_;
    my $head = "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . "Authorization: Basic " . encode_base64('m2m:m2m-secret', '') . "\r\n"
             . ($o{ct} // "Content-Type: application/x-www-form-urlencoded\r\n")
             . ($o{chunked} ? "Transfer-Encoding: chunked\r\n"
                            : "Content-Length: " . length($body) . "\r\n")
             . "\r\n";
    return raw_request($head . $body, timeout => 30);
}
sub chunked {
    my ($data, $size) = @_;
    my $out = '';
    while (length $data) {
        my $piece = substr($data, 0, $size, '');
        $out .= sprintf("%x\r\n%s\r\n", length $piece, $piece);
    }
    return $out . "0\r\n\r\n";
}

# --- parameters given twice ------------------------------------------------------------------
case('grant_type twice (same value)', 400, 'invalid_request',
     sub { body("$CC&$CC") });
case('grant_type twice (two values)', 400, 'invalid_request',
     sub { body("$CC&grant_type=password&username=alice&password=wonderland") });
case('scope twice, the first empty', 400, 'invalid_request', sub { body("$CC&scope=&scope=read") });
case('scope twice, the second empty', 400, 'invalid_request', sub { body("$CC&scope=read&scope=") });
case('scope twice, one without "="', 400, 'invalid_request', sub { body("$CC&scope&scope=read") });
case('password twice (password grant)', 400, 'invalid_request',
     sub { post_form('/oauth/token', 'grant_type=password&username=alice&password=x&password=wonderland',
                     auth => ['webapp', 'webapp-secret']) });
# a live refresh token: none of the bad requests may use it up
my $RT = password_token('webapp', 'alice', 'wonderland')->{json}{refresh_token} // 'none';
case('a real refresh_token twice', 400, 'invalid_request',
     sub { post_form('/oauth/token', "grant_type=refresh_token&refresh_token=$RT&refresh_token=$RT",
                     auth => ['webapp', 'webapp-secret']) });
case('a real refresh_token and scope twice', 400, 'invalid_request',
     sub { post_form('/oauth/token', "grant_type=refresh_token&refresh_token=$RT&scope=read&scope=",
                     auth => ['webapp', 'webapp-secret']) });
case('a real refresh_token with %00 in scope', 400, 'invalid_request',
     sub { post_form('/oauth/token', "grant_type=refresh_token&refresh_token=$RT&scope=read%00",
                     auth => ['webapp', 'webapp-secret']) });
case('a real refresh_token in a body over 64 KiB', 400, 'invalid_request',
     sub { post_form('/oauth/token', "grant_type=refresh_token&refresh_token=$RT" . ('&' x 66000),
                     auth => ['webapp', 'webapp-secret']) });
case('a real refresh_token, a broken Basic header', 401, 'invalid_client',
     sub { post_form('/oauth/token', "grant_type=refresh_token&refresh_token=$RT",
                     headers => [Authorization => 'Basic d2ViYXBw']) });
case('a name given once encoded, once not (gr%61nt_type)', 400, 'invalid_request',
     sub { body("$CC&gr%61nt_type=client_credentials") });

# --- size ------------------------------------------------------------------------------------
case('body of 64 KiB + 1 byte', 400, 'invalid_request',
     sub { body($CC . '&' x (65536 + 1 - length $CC)) });
case('body of 200 KiB', 400, 'invalid_request',
     sub { body("$CC&pad=" . ('x' x (200 * 1024))) });
case('chunked body over 64 KiB', 400, 'invalid_request',
     sub { raw_token(chunked("$CC&pad=" . ('y' x 70000), 8000), chunked => 1) });
case('chunked body over 64 KiB, of "&" only', 400, 'invalid_request',
     sub { raw_token(chunked($CC . ('&' x 70000), 4096), chunked => 1) });
case('a 5 KB scope value', 400, 'invalid_request',
     sub { body("$CC&scope=" . join(' ', ('read') x 1024)) });
case('a 5 KB parameter name', 400, 'invalid_request', sub { body("$CC&" . ('n' x 5000) . '=1') });
case('a 5 KB grant_type', 400, 'invalid_request', sub { body('grant_type=' . ('c' x 5000)) });
case('100 parameters', 400, 'invalid_request',
     sub { body(join '&', $CC, map { "p$_=v" } 1 .. 99) });

# --- content types ---------------------------------------------------------------------------
case('application/json', 400, 'invalid_request',
     sub { post_form('/oauth/token', '{"grant_type":"client_credentials"}', auth => $M2M,
                     content_type => 'application/json') });
case('text/plain with a form body', 400, 'invalid_request',
     sub { post_form('/oauth/token', $CC, auth => $M2M, content_type => 'text/plain') });
case('multipart/form-data', 400, 'invalid_request',
     sub { post_form('/oauth/token',
                     "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n"
                     . "client_credentials\r\n--XyZ--\r\n", auth => $M2M,
                     content_type => 'multipart/form-data; boundary=XyZ') });
case('no Content-Type', 400, 'invalid_request',
     sub { request('POST', '/oauth/token', body => $CC, auth => $M2M) });
case('application/x-www-form-urlencodedX', 400, 'invalid_request',
     sub { post_form('/oauth/token', $CC, auth => $M2M,
                     content_type => 'application/x-www-form-urlencodedX') });
case('POST without a body', 400, 'invalid_request',
     sub { request('POST', '/oauth/token', auth => $M2M,
                   headers => ['Content-Type' => 'application/x-www-form-urlencoded',
                               'Content-Length' => 0]) });

# --- broken Basic headers --------------------------------------------------------------------
case('Basic: no colon', 401, 'invalid_client', sub { basic_hdr('Basic ' . encode_base64('m2m', '')) });
case('Basic: bad base64', 401, 'invalid_client', sub { basic_hdr('Basic bTJt*OmIy') });
case('Basic: base64url alphabet', 401, 'invalid_client', sub { basic_hdr('Basic bTJtOm0ybS1zZWNyZXQ_') });
case('Basic: empty credentials', 401, 'invalid_client', sub { basic_hdr('Basic ') });
case('"Basic" alone', 401, 'invalid_client', sub { basic_hdr('Basic') });
case('Basic: empty client_id', 401, 'invalid_client', sub { basic_hdr('Basic ' . encode_base64(':m2m-secret', '')) });
case('Basic: 8000 bytes of base64 (over the module\'s 4096)', 401, 'invalid_client',
     sub { basic_hdr('Basic ' . encode_base64('m2m:' . ('s' x 5900), '')) });
# above LimitRequestFieldSize (8190) httpd itself answers 400 before any module runs
case('Basic: 10 KB of base64', 400, 'httpd',
     sub { basic_hdr('Basic ' . encode_base64('m2m:' . ('s' x 7500), '')) });
case('Basic: non-ASCII decoded credentials', 401, 'invalid_client',
     sub { basic_hdr('Basic ' . encode_base64("m2m:m2m-s\xe9cret", '')) });
case('Basic: raw non-ASCII bytes in the header', 401, 'invalid_client',
     sub { basic_hdr("Basic \xc3\xa9\xc3\xa9==") });
case('Basic: %00 inside the decoded secret', 401, 'invalid_client',
     sub { basic_hdr('Basic ' . encode_base64('m2m:m2m-secret%00', '')) });
case('Basic: bad %-encoding inside the decoded id', 401, 'invalid_client',
     sub { basic_hdr('Basic ' . encode_base64('m2m%zz:m2m-secret', '')) });
case('Basic: a tab instead of the space', 401, 'invalid_client',
     sub { basic_hdr("Basic\t" . encode_base64('m2m:m2m-secret', '')) });

# --- percent-encoding, NUL, CRLF, non-UTF-8 ----------------------------------------------------
case('%zz in a value', 400, 'invalid_request', sub { body("$CC&scope=re%zzad") });
case('%4 at the end', 400, 'invalid_request', sub { body("$CC&scope=read%4") });
case('% at the end', 400, 'invalid_request', sub { body("$CC&scope=read%") });
case('%zz in a name', 400, 'invalid_request', sub { body("$CC&sc%zzope=read") });
case('%00 in a value', 400, 'invalid_request', sub { body("$CC&scope=read%00admin") });
case('%00 in grant_type', 400, 'invalid_request', sub { body("grant_type=client_credentials%00") });
case('a raw NUL byte in the body', 400, 'invalid_request', sub { body("$CC&scope=read\0admin") });
case('a raw NUL byte after the last parameter', 400, 'invalid_request', sub { body("$CC\0") });
case('CRLF (%0D%0A) in scope', 400, 'invalid_request', sub { body("$CC&scope=read%0D%0Aadmin") });
case('a raw CRLF in the body', 400, 'invalid_request', sub { body("$CC&scope=read\r\nadmin") });
case('CRLF in the username (password grant)', 400, 'invalid_request',
     sub { post_form('/oauth/token', 'grant_type=password&username=alice%0D%0A&password=wonderland',
                     auth => ['webapp', 'webapp-secret']) });
case('%7F in a value', 400, 'invalid_request', sub { body("$CC&scope=read%7F") });
case('non-UTF-8 scope (%FF)', 400, 'invalid_scope', sub { body("$CC&scope=%FF%FE") });
case('raw non-UTF-8 bytes in scope', 400, 'invalid_scope', sub { body("$CC&scope=\xff\xfe") });
case('non-UTF-8 grant_type', 400, 'unsupported_grant_type', sub { body("grant_type=%C0%AF") });
case('non-UTF-8 username', 400, 'invalid_request',
     sub { post_form('/oauth/token', 'grant_type=password&username=%E9lice&password=wonderland',
                     auth => ['webapp', 'webapp-secret']) });
case('non-UTF-8 password', 400, 'invalid_grant',
     sub { post_form('/oauth/token', "grant_type=password&username=alice&password=\xffwonderland",
                     auth => ['webapp', 'webapp-secret']) });
case('a parameter with an empty name', 400, 'invalid_request', sub { body("$CC&=read") });
case('non-UTF-8 refresh token', 400, 'invalid_grant',
     sub { post_form('/oauth/token', 'grant_type=refresh_token&refresh_token=%FF%FF',
                     auth => ['webapp', 'webapp-secret']) });
case('a 43-byte refresh token of spaces', 400, 'invalid_grant',
     sub { post_form('/oauth/token', 'grant_type=refresh_token&refresh_token=' . ('+' x 43),
                     auth => ['webapp', 'webapp-secret']) });

plan tests => 2 * @CASES + 11, need_module('oauth_as'), need_module('ssl');

# --- run them ------------------------------------------------------------------------------

sub snapshot {
    my $st = oas_status();
    my $c = store_counts($st);
    return ($c, ($st->{store} || {})->{purged} // -1,
            (($st->{counters} || {})->{purge_runs}) // -1);
}

sub counts_str {
    my ($c) = @_;
    join ' ', map { "$_=" . ($c->{$_} // 'undef') } sort keys %$c;
}

# control: the counts do show an issued token, so "did not change" means something
{
    my ($c0) = snapshot();
    my $r = body($CC);
    my ($c1) = snapshot();
    ok $r->{status} == 200 && $c1->{disk} == $c0->{disk} + 1
       && $c1->{access_token} == $c0->{access_token} + 1,
       'control: a good request adds one access token on disk and in memory'
        or diag "before: " . counts_str($c0) . "\nafter:  " . counts_str($c1);
}

my $mark = error_log_mark();
for my $c (@CASES) {
    my ($name, $status, $code, $make) = @$c;
    my ($res, $before, $after);
    for my $try (1 .. 3) {
        my ($c0, $p0, $r0) = snapshot();
        $res = $make->();
        my ($c1, $p1, $r1) = snapshot();
        ($before, $after) = (counts_str($c0), counts_str($c1));
        # the parent's purge of expired entries (every 30 s) may run in between: then
        # the counts may drop for a reason of their own; do it again
        last if $p0 == $p1 && $r0 == $r1;
    }
    if ($code eq 'httpd') {
        ok t_cmp($res->{status}, $status, "$name -> $status from httpd's request parser");
    }
    else {
        is_oauth_error($res, $status, $code, "$name -> $status $code");
    }
    ok t_cmp($after, $before, "$name: the store's entry counts did not change");
}

# nothing above may have written an [error] line (or worse) or a crash sign
my @bad = grep { OAS::ErrorLog::is_bad_line($_) } split /\n/, error_log_since($mark);
ok !@bad, 'no [error] line or crash sign in the error log from the bad input'
    or diag join "\n", @bad;

# --- boundaries that must work ---------------------------------------------------------------
ok t_cmp(refresh('webapp', $RT)->{status}, 200, 'the refresh token used in bad requests still works');
my $r = body($CC . '&' x (65536 - length $CC));
ok t_cmp($r->{status}, 200, 'a body of exactly 64 KiB is read (empty pieces are skipped)')
    or diag $r->{body};
$r = raw_token(chunked("$CC&scope=read", 7), chunked => 1);
ok t_cmp($r->{status}, 200, 'a small chunked body works') or diag $r->{raw};
ok t_cmp(($r->{json} || {})->{scope}, 'read', '... and was read whole');
$r = post_form('/oauth/token', $CC, headers => [Authorization => 'basic ' . encode_base64('m2m:m2m-secret', '')]);
ok t_cmp($r->{status}, 200, 'lower-case "basic" scheme works');
$r = post_form('/oauth/token', $CC, headers => [Authorization => 'BASIC   ' . encode_base64('m2m:m2m-secret', '') . '  ']);
ok t_cmp($r->{status}, 200, 'upper-case BASIC with extra spaces works');
$r = post_form('/oauth/token', "$CC&scope=read", auth => $M2M,
               content_type => 'Application/X-WWW-Form-Urlencoded; charset=UTF-8');
ok t_cmp($r->{status}, 200, 'content type with a charset parameter, any case, works');
$r = post_form('/oauth/token', "&&$CC&&scope=read&", auth => $M2M);
ok t_cmp($r->{status}, 200, 'empty pieces between "&" are skipped');
$r = post_form('/oauth/token', join('&', $CC, map { "p$_=v" } 1 .. 63), auth => $M2M);
ok t_cmp($r->{status}, 200, '64 parameters (the limit) work');
