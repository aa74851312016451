# The authorization endpoint (SPEC section 4) and the authorization_code grant at the
# token endpoint (SPEC section 5), over HTTPS against the real server.  The resource
# owner logs in with Basic auth (alice/wonderland, t/conf/users) at /oauth/authorize
# (t/conf/extra.conf.in); clients come from t/conf/clients.json:
#   webapp  confidential, code + implicit + password, https://app.example/cb, read write,
#           refresh_limit 2
#   multi   confidential, code only, https://a.example/cb and https://b.example/cb?x=1
#   spa     public, code + implicit, https://spa.example/cb, read, PKCE required
#   disabled, m2m (no redirect URI), rs (introspects)
# Extra configuration: t/conf/authorize.conf.in (vhosts oas_browser, oas_authz, oas_noauth).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use URI ();
use URI::Escape qw(uri_escape uri_unescape);
use HTML::Entities qw(decode_entities);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use IO::Socket::SSL ();
use POSIX ();
use File::Temp ();
use Time::HiRes qw(time sleep);

plan tests => 570, need_module('ssl'), need_module('oauth_as');

my $T0      = time;
my $ALICE   = [alice => 'wonderland'];
my $BOB     = [bob   => 'builder'];
my $ISS     = 'https://localhost:' . https_port();
my $APP_CB  = 'https://app.example/cb';
my $SPA_CB  = 'https://spa.example/cb';
my $MULTI_A = 'https://a.example/cb';
my $MULTI_B = 'https://b.example/cb?x=1';
my %SECRET  = map { $_ => "$_-secret" } qw(webapp multi spa m2m rs);

# ---- helpers ----------------------------------------------------------------------

sub qs {   # ordered pairs -> query string, values percent-encoded (undef: left out)
    my @p = @_;
    my @out;
    while (@p) {
        my ($k, $v) = splice @p, 0, 2;
        next unless defined $v;
        push @out, uri_escape($k) . '=' . uri_escape($v, '^A-Za-z0-9\-._~');
    }
    return join '&', @out;
}

# authz(@pairs, {user => [...], port => N}) -> $res of GET /oauth/authorize?...
sub authz {
    my $o = ref $_[-1] eq 'HASH' ? pop : {};
    my $path = ($o->{path} || '/oauth/authorize') . '?' . qs(@_);
    return get($path, auth => (exists $o->{user} ? $o->{user} : $ALICE),
               ($o->{port} ? (port => $o->{port}) : ()),
               ($o->{scheme} ? (scheme => $o->{scheme}) : ()));
}

# A Location split into base, query pairs and fragment pairs (values decoded).
sub loc {
    my ($res) = @_;
    my $l = $res->{headers}->header('Location');
    return undef unless defined $l;
    my ($base, $frag) = split /#/, $l, 2;
    my ($path, $query) = split /\?/, $base, 2;
    my $dec = sub {
        my ($s) = @_;
        return {} unless defined $s && length $s;
        my %h;
        for my $kv (split /&/, $s) {
            my ($k, $v) = split /=/, $kv, 2;
            $v = '' unless defined $v;
            tr/+/ / for $k, $v;
            push @{ $h{uri_unescape($k)} }, uri_unescape($v);
        }
        return { map { $_ => (@{ $h{$_} } == 1 ? $h{$_}[0] : $h{$_}) } keys %h };
    };
    return { raw => $l, base => $path, query => $dec->($query), fragment => $dec->($frag),
             has_query => defined $query, has_fragment => defined $frag };
}

# The hidden inputs of the approval form, in order, values HTML-decoded.
sub form_fields {
    my ($html) = @_;
    my @f;
    while ($html =~ /<input\s+type="hidden"\s+name="([^"]+)"\s+value="([^"]*)"\s*>/g) {
        push @f, $1 => decode_entities($2);
    }
    return @f;
}

sub field {
    my ($fields, $name) = @_;
    my @f = @$fields;
    while (@f) { my ($k, $v) = splice @f, 0, 2; return $v if $k eq $name }
    return undef;
}

sub with_field {   # copy of the pairs with $name set to $value (undef: removed)
    my ($fields, $name, $value) = @_;
    my @f = @$fields;
    my @out;
    my $seen = 0;
    while (@f) {
        my ($k, $v) = splice @f, 0, 2;
        if ($k eq $name) { $seen = 1; push @out, $k => $value if defined $value; next }
        push @out, $k => $v;
    }
    push @out, $name => $value if !$seen && defined $value;
    return \@out;
}

sub decide {   # POST the form with decision=...; opts: user, port
    my ($fields, $decision, %o) = @_;
    return post_form('/oauth/authorize', [@$fields, ($decision ? (decision => $decision) : ())],
                     auth => (exists $o{user} ? $o{user} : $ALICE),
                     ($o{port} ? (port => $o{port}) : ()));
}

# GET, check it is the approval page, approve: -> ($post_res, $loc, $page_res)
sub approve_flow {
    my (@args) = @_;
    my $o = ref $args[-1] eq 'HASH' ? pop @args : {};
    my $page = authz(@args, $o);
    my @f = form_fields($page->{body});
    my $res = decide(\@f, 'approve', %$o);
    return ($res, loc($res), $page);
}

# check($got, $expected, $name): like() for a qr//, is() otherwise
sub check {
    my ($got, $exp, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return ref $exp eq 'Regexp' ? like($got, $exp, $name) : is($got, $exp, $name);
}

sub code_of { my ($l) = @_; $l && $l->{query}{code} }

sub token {   # POST /oauth/token
    my ($form, $client) = @_;
    return post_form('/oauth/token', $form,
                     ($client ? (auth => [$client, $SECRET{$client}]) : ()));
}

sub introspect {
    my ($tok) = @_;
    my $r = post_form('/oauth/introspect', { token => $tok }, auth => [rs => $SECRET{rs}]);
    return $r->{json} || {};
}

sub codes_issued {
    my $r = get('/oauth/status');
    return $r->{json} && $r->{json}{counters} ? $r->{json}{counters}{codes_issued} : undef;
}

sub pkce_pair {   # -> (verifier, S256 challenge)
    my $v = encode_base64url(join '', map { chr int rand 256 } 1 .. 48);
    return ($v, encode_base64url(sha256($v)));
}

# A 400 HTML page with no redirect: the rule for every client/redirect_uri error.
sub is_error_page {
    my ($r, $name, $status) = @_;
    $status ||= 400;
    my $ok = check($r->{status}, $status, "$name: $status");
    $ok &= ok(!defined $r->{headers}->header('Location'), "$name: no Location header");
    $ok &= check(scalar $r->{headers}->header('Content-Type'), qr{^text/html},
                 "$name: an HTML page");
    diag "got: $r->{status} " . ($r->{headers}->header('Location') // '-') unless $ok;
    return $ok;
}

# A redirect error: the status, base URI, error, error_description, state, iss, in
# the query (code) or the fragment (token).
sub is_redirect_error {
    my ($r, $name, %e) = @_;
    my $l = loc($r);
    my $where = $e{fragment} ? 'fragment' : 'query';
    my $other = $e{fragment} ? 'query' : 'fragment';
    my $p = $l ? $l->{$where} : {};
    check($r->{status}, $e{status} || 302, "$name: redirect")
        or diag "Location " . ($l ? $l->{raw} : '-');
    check($l ? $l->{base} : undef, $e{base} || $APP_CB, "$name: to the registered URI");
    check($p->{error}, $e{error}, "$name: error=$e{error} in the $where");
    ok(defined $p->{error_description} && length $p->{error_description},
       "$name: error_description");
    check($p->{state}, $e{state}, "$name: state echoed") if defined $e{state};
    check($p->{iss}, $e{iss} || $ISS, "$name: iss (RFC 9207)");
    ok(!($l && exists $l->{$other}{error}), "$name: nothing in the $other");
}

# ---- 1. the client and its redirect URI: 400 pages, never a redirect ----------------

is_error_page(authz(response_type => 'code', redirect_uri => $APP_CB, state => 's'),
              'client_id missing');
is_error_page(authz(response_type => 'code', client_id => 'nobody', redirect_uri => $APP_CB),
              'client_id unknown');
is_error_page(authz(response_type => 'code', client_id => 'disabled'), 'client disabled');
is_error_page(authz(response_type => 'code', client_id => 'disabled',
                    redirect_uri => $APP_CB), 'client disabled, with a redirect_uri');
is_error_page(authz(response_type => 'code', client_id => 'm2m'),
              'client without any redirect URI');
is_error_page(authz(response_type => 'code', client_id => 'webapp',
                    redirect_uri => 'https://evil.example/cb'), 'redirect_uri not registered');
is_error_page(authz(response_type => 'code', client_id => 'multi'),
              'redirect_uri missing, client has two');
is_error_page(authz(response_type => 'bogus', client_id => 'webapp',
                    redirect_uri => 'https://evil.example/cb', state => 's'),
              'unregistered redirect_uri beats a bad response_type');
is_error_page(authz(response_type => 'code', client_id => 'webapp', client_id => 'spa',
                    redirect_uri => $APP_CB), 'client_id given twice');

{
    my $r = authz(response_type => 'code', client_id => 'webapp',
                  redirect_uri => 'https://evil.example/cb', state => '<script>x</script>');
    unlike($r->{body}, qr/evil\.example|<script>x/, 'the error page does not echo the request');
}

# Exact matching, byte for byte: every near miss is a 400 page.
my @hostile = (
    [webapp => 'HTTPS://app.example/cb',                'scheme in upper case'],
    [webapp => 'https://APP.example/cb',                'host in upper case'],
    [webapp => 'https://app.example/CB',                'path in upper case'],
    [webapp => 'https://app.example/cb/',               'trailing slash'],
    [webapp => 'https://app.example/cb?x=1',            'added query'],
    [webapp => 'https://app.example/cb?',               'empty query'],
    [webapp => 'https://app.example/cb/evil',           'added path'],
    [webapp => 'https://app.example/cb/../evil',        'dot segments'],
    [webapp => 'https://app.example/cb#frag',           'fragment'],
    [webapp => 'https://app.example/cb#',               'empty fragment'],
    [webapp => 'https://app.example:443/cb',            'explicit default port'],
    [webapp => 'http://app.example/cb',                 'http instead of https'],
    [webapp => 'javascript:alert(1)',                   'javascript: URI'],
    [webapp => 'JaVaScRiPt:alert(document.domain)//https://app.example/cb', 'javascript: mixed case'],
    [webapp => 'data:text/html,<script>alert(1)</script>', 'data: URI'],
    [webapp => 'https://app.example/cb@evil.example',   'userinfo trick'],
    [webapp => 'https://app.example@evil.example/cb',   'host as userinfo'],
    [webapp => 'https://app.example.evil.example/cb',   'registered host as a prefix'],
    [webapp => '//evil.example/cb',                     'scheme-relative'],
    [webapp => 'https://app.example/%63b',              'percent-encoded path character'],
    [webapp => 'https%3A%2F%2Fapp.example%2Fcb',        'percent-encoded once more'],
    [webapp => 'https://app.example%2Fcb',              'encoded slash'],
    [webapp => 'https://app.example/cb%23x',            'encoded #'],
    [webapp => 'https://app.example/cb%3Fx=1',          'encoded ?'],
    [webapp => 'https://app.example/cb%2F..%2Fevil',    'encoded dot segments'],
    [webapp => ' https://app.example/cb',               'leading space'],
    [webapp => 'https://app.example/cb ',               'trailing space'],
    [webapp => $SPA_CB,                                 "another client's URI"],
    [multi  => 'https://b.example/cb',                  'registered query left out'],
    [multi  => 'https://b.example/cb?x=2',              'registered query changed'],
    [multi  => 'https://b.example/cb?x=1&y=2',          'registered query extended'],
    [multi  => 'https://b.example/cb?x=1#f',            'registered query plus fragment'],
    [multi  => 'https://a.example/cb?x=1',              'query of one URI on the other'],
);
for my $h (@hostile) {
    my ($client, $uri, $what) = @$h;
    my $r = authz(response_type => 'code', client_id => $client, redirect_uri => $uri,
                  state => 'xyz', scope => 'read');
    is_error_page($r, "redirect_uri $what ($client, '$uri')");
}
{   # redirect_uri= (no value) counts as omitted (RFC 6749 section 3.1)
    my $r = get('/oauth/authorize?response_type=code&client_id=webapp&redirect_uri=', auth => $ALICE);
    check($r->{status}, 200, 'redirect_uri= with one registered URI: as if omitted, the page');
    my @f = form_fields($r->{body});
    ok(!defined field(\@f, 'redirect_uri'), 'and no redirect_uri in the form');
    is_error_page(get('/oauth/authorize?response_type=code&client_id=multi&redirect_uri=',
                      auth => $ALICE), 'redirect_uri= with two registered URIs');
}
{   # the encoded variants, sent with the raw bytes (no re-encoding by the helper)
    for my $raw ('https%253A%252F%252Fapp.example%252Fcb', 'https:%2F%2Fapp.example%2Fcb%00',
                 'https%3A//app.example/cb%0d%0aX-Injected:%201', '%68ttps://app.example/cb') {
        my $r = get("/oauth/authorize?response_type=code&client_id=webapp&redirect_uri=$raw",
                    auth => $ALICE);
        if ($raw eq '%68ttps://app.example/cb') {
            # %68 is 'h': this one decodes to the registered URI, and must work
            check($r->{status}, 200, "redirect_uri $raw decodes to the registered URI");
            next;
        }
        is_error_page($r, "raw redirect_uri $raw");
        ok(!defined $r->{headers}->header('X-Injected'), "raw redirect_uri $raw: no header injected");
    }
}

# ---- 2. errors after the client is known: redirects ---------------------------------

is_redirect_error(authz(client_id => 'webapp', redirect_uri => $APP_CB, state => 'S1'),
                  'response_type missing', error => 'invalid_request', state => 'S1');
is_redirect_error(authz(response_type => 'password', client_id => 'webapp',
                        redirect_uri => $APP_CB, state => 'S2'),
                  'response_type=password', error => 'invalid_request', state => 'S2');
is_redirect_error(authz(response_type => 'client_credentials', client_id => 'webapp',
                        state => 'S3'),
                  'response_type=client_credentials (no redirect_uri, one registered)',
                  error => 'invalid_request', state => 'S3');
for my $rt ('id_token', 'code token', 'CODE', 'Token', 'none') {
    is_redirect_error(authz(response_type => $rt, client_id => 'webapp',
                            redirect_uri => $APP_CB, state => 'S4'),
                      "response_type='$rt'", error => 'unsupported_response_type',
                      state => 'S4');
}
# RFC 6749 section 3.1: a parameter sent without a value counts as omitted
is_redirect_error(get('/oauth/authorize?response_type=&client_id=webapp&state=S4e', auth => $ALICE),
                  'response_type= (empty: omitted)', error => 'invalid_request', state => 'S4e');
# multi holds the code grant only: the implicit grant is unauthorized_client, in the
# fragment (response_type=token)
is_redirect_error(authz(response_type => 'token', client_id => 'multi',
                        redirect_uri => $MULTI_A, state => 'S5'),
                  'multi: response_type=token', error => 'unauthorized_client', state => 'S5',
                  base => $MULTI_A, fragment => 1);
is_redirect_error(authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                        scope => 'admin', state => 'S6'),
                  'scope not allowed to the client', error => 'invalid_scope', state => 'S6');
is_redirect_error(authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                        scope => 'read nonesuch', state => 'S7'),
                  'scope not defined', error => 'invalid_scope', state => 'S7');
is_redirect_error(authz(response_type => 'token', client_id => 'webapp', redirect_uri => $APP_CB,
                        scope => 'admin', state => 'S8'),
                  'implicit: invalid_scope', error => 'invalid_scope', state => 'S8',
                  fragment => 1);
is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                        scope => 'write', state => 'S9'),
                  'spa: scope write', error => 'invalid_scope', state => 'S9', base => $SPA_CB);
# the error redirect of a client with a query in its redirect URI keeps that query
{
    my $r = authz(response_type => 'nope', client_id => 'multi', redirect_uri => $MULTI_B,
                  state => 'S10');
    is_redirect_error($r, 'multi, URI with a query', error => 'unsupported_response_type',
                      state => 'S10', base => 'https://b.example/cb');
    my $l = loc($r);
    check($l && $l->{query}{x}, '1', 'the registered query parameter is kept');
}
# an error with no state sent carries no state
{
    my $l = loc(authz(response_type => 'nope', client_id => 'webapp'));
    ok($l && !exists $l->{query}{state}, 'no state sent: none in the redirect');
    check($l && $l->{query}{iss}, $ISS, 'but iss, always');
}

# PKCE: the public client must send a code_challenge (OAuthASRequirePKCE public)
{
    my (undef, $ch) = pkce_pair();
    is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                            state => 'P1'),
                      'spa without code_challenge', error => 'invalid_request', state => 'P1',
                      base => $SPA_CB);
    is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                            state => 'P2', code_challenge => $ch, code_challenge_method => 'S512'),
                      'code_challenge_method S512', error => 'invalid_request', state => 'P2',
                      base => $SPA_CB);
    is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                            state => 'P3', code_challenge => $ch, code_challenge_method => 's256'),
                      'code_challenge_method s256 (case)', error => 'invalid_request',
                      state => 'P3', base => $SPA_CB);
    is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                            state => 'P4', code_challenge_method => 'S256'),
                      'code_challenge_method without code_challenge', error => 'invalid_request',
                      state => 'P4', base => $SPA_CB);
    is_redirect_error(authz(response_type => 'code', client_id => 'spa', redirect_uri => $SPA_CB,
                            state => 'P5', code_challenge => 'short', code_challenge_method => 'plain'),
                      'code_challenge too short', error => 'invalid_request', state => 'P5',
                      base => $SPA_CB);
    is_redirect_error(authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                            state => 'P6', code_challenge => $ch, code_challenge_method => 'S1'),
                      'confidential client, bad method', error => 'invalid_request', state => 'P6');
    my $r = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB);
    check($r->{status}, 200, 'a confidential client needs no PKCE (OAuthASRequirePKCE public)');
}

# ---- 3. state: echoed exactly, never reflected raw -----------------------------------

{
    my $state = q{st ate/+%?&=#<b>"'\\} . "\x{e9}t\x{e9}";
    utf8::encode($state);
    my $l = loc(authz(response_type => 'nope', client_id => 'webapp', state => $state));
    check($l && $l->{query}{state}, $state, 'state with reserved characters echoed exactly');
    ok($l && $l->{raw} !~ /[\s<>"'\\]/, 'and percent-encoded in the Location')
        or diag $l && $l->{raw};

    my $xss = q{"><script>alert(1)</script><img src=x onerror=alert(2)>};
    my $page = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                     state => $xss);
    check($page->{status}, 200, 'markup in state: the approval page');
    unlike($page->{body}, qr/<script>alert|<img src=x/i, 'markup in state is not reflected raw');
    like($page->{body}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'but escaped');
    my @f = form_fields($page->{body});
    check(field(\@f, 'state'), $xss, 'the hidden state field holds it exactly');
    my $res = decide(\@f, 'approve');
    my $al = loc($res);
    check($res->{status}, 303, 'markup in state: approved');
    check($al && $al->{query}{state}, $xss, 'and state echoed exactly in the redirect');
    ok($al && $al->{raw} !~ /[<>"\s]/, 'percent-encoded');

    my $err = authz(response_type => 'bogus', client_id => 'webapp', state => $xss);
    unlike($err->{body} // '', qr/<script>alert/, 'no raw markup in an error redirect body');

    for my $crlf ("a\r\nSet-Cookie: evil=1", "a\nX-Injected: 1", "a\rX-Injected: 1") {
        (my $show = $crlf) =~ s/\r/\\r/g;
        $show =~ s/\n/\\n/g;
        for my $rt ('code', 'bogus') {
            my $r = authz(response_type => $rt, client_id => 'webapp', redirect_uri => $APP_CB,
                          state => $crlf);
            my $loc = $r->{headers}->header('Location');
            ok(!defined $r->{headers}->header('Set-Cookie')
               && !defined $r->{headers}->header('X-Injected'),
               "state '$show' (response_type $rt): no header injected");
            ok(!defined $loc || $loc !~ /[\r\n]/, "state '$show' ($rt): no CR/LF in Location");
            ok($r->{status} == 400 || $r->{status} == 302 || $r->{status} == 200,
               "state '$show' ($rt): refused or encoded (status $r->{status})");
        }
    }
    # the raw answer, byte for byte: no CR or LF from the request may reach a header
    my $raw = raw_request("GET /oauth/authorize?response_type=bogus&client_id=webapp&state=a%0d%0aX-Injected:%201 HTTP/1.1\r\n"
                          . "Host: localhost\r\nAuthorization: Basic "
                          . MIME::Base64::encode_base64('alice:wonderland', '') . "\r\nConnection: close\r\n\r\n");
    unlike($raw->{raw} // '', qr/\r\nX-Injected/i, 'raw response: no injected header line');
}

# ---- 4. the approval page ----------------------------------------------------------------

my ($page, @fields);
{
    $page = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  scope => 'read write', state => 'page-state');
    my $b = $page->{body};
    my $h = $page->{headers};
    check($page->{status}, 200, 'approval page: 200');
    check(scalar $h->header('Content-Type'), qr{^text/html}, 'HTML');
    like($b, qr/Web App/, 'shows the client name');
    like($b, qr/<strong>read<\/strong>.*Read your data/, 'scope read with its description');
    like($b, qr/<strong>write<\/strong>.*Change your data/, 'scope write with its description');
    unlike($b, qr/Administer the server/, 'no other scope');
    like($b, qr/alice/, 'names the signed-in user');
    my @forms = $b =~ /(<form\b[^>]*>)/gi;
    check(scalar @forms, 1, 'one form');
    like($forms[0] // '', qr/method="post"/i, 'method post');
    like($b, qr/<button[^>]*type="submit"[^>]*name="decision"[^>]*value="approve"/,
         'submit button decision=approve');
    like($b, qr/<button[^>]*type="submit"[^>]*name="decision"[^>]*value="deny"/,
         'submit button decision=deny');
    @fields = form_fields($b);
    check(field(\@fields, 'response_type'), 'code', 'hidden response_type');
    check(field(\@fields, 'client_id'), 'webapp', 'hidden client_id');
    check(field(\@fields, 'redirect_uri'), $APP_CB, 'hidden redirect_uri');
    check(field(\@fields, 'scope'), 'read write', 'hidden scope');
    check(field(\@fields, 'state'), 'page-state', 'hidden state');
    like(field(\@fields, 'csrf') // '', qr/^[A-Za-z0-9_-]{40,}$/, 'hidden csrf, base64url');
    check(scalar $h->header('X-Frame-Options'), 'DENY', 'X-Frame-Options: DENY');
    check(scalar $h->header('Content-Security-Policy'), qr/frame-ancestors 'none'/,
          "CSP frame-ancestors 'none'");
    check(scalar $h->header('Cache-Control'), qr/no-store/, 'Cache-Control: no-store');
    like($b, qr/<html lang="[a-z]+"/, 'the page has a language');
    like($b, qr/<title>[^<]+<\/title>/, 'a title');
    like($b, qr/<h1>[^<]+<\/h1>/, 'a heading');

    # scope omitted: all the client's scopes are asked for and shown
    my $all = authz(response_type => 'code', client_id => 'webapp');
    my @af = form_fields($all->{body});
    check(field(\@af, 'scope'), 'read write', 'scope omitted: all the client\'s scopes');
    like($all->{body}, qr/Read your data.*Change your data/s, 'both shown');
    # no redirect_uri (one registered): none in the form either
    ok(!defined field(\@af, 'redirect_uri'), 'redirect_uri omitted: none in the form');

    # the request itself may come as a POST (RFC 6749 section 3.1): the page, no decision
    my $pp = post_form('/oauth/authorize', [response_type => 'code', client_id => 'webapp',
                                            state => 'posted'], auth => $ALICE);
    check($pp->{status}, 200, 'the authorization request POSTed: the approval page');
    check(field([form_fields($pp->{body})], 'state'), 'posted', 'with its state');
    is_error_page(request('POST', '/oauth/authorize', auth => $ALICE, content_type => 'text/plain',
                          body => 'response_type=code&client_id=webapp'),
                  'POST that is not a form');

    # other methods
    my $put = request('PUT', '/oauth/authorize?response_type=code&client_id=webapp',
                      auth => $ALICE, body => 'x');
    check($put->{status}, 405, 'PUT: 405');
    like(scalar($put->{headers}->header('Allow')) // '', qr/GET.*POST/, 'Allow: GET, POST');
}

# ---- 5. approve, redeem ------------------------------------------------------------------

my $before = codes_issued();
my ($webapp_tokens, $webapp_code);
{
    my $res = decide(\@fields, 'approve');
    my $l = loc($res);
    check($res->{status}, 303, 'approve: 303');
    check($l && $l->{base}, $APP_CB, 'to the registered redirect URI');
    like(code_of($l) // '', qr/^[A-Za-z0-9_-]{22,}$/, 'with a code (base64url, >= 128 bits)');
    check($l && $l->{query}{state}, 'page-state', 'state');
    check($l && $l->{query}{iss}, $ISS, 'iss');
    ok($l && !$l->{has_fragment}, 'nothing in a fragment');
    check(scalar $res->{headers}->header('Cache-Control'), qr/no-store/, 'no-store');
    check(codes_issued(), ($before // -1) + 1, 'codes_issued counted it');
    $webapp_code = code_of($l);

    my $t = token({ grant_type => 'authorization_code', code => $webapp_code,
                    redirect_uri => $APP_CB }, 'webapp');
    check($t->{status}, 200, 'webapp redeems its code with Basic + redirect_uri');
    my $j = $t->{json} || {};
    ok($j->{access_token}, 'access_token');
    check($j->{token_type}, 'Bearer', 'token_type Bearer');
    check($j->{expires_in}, qr/^\d+$/, 'expires_in');
    check($j->{scope}, 'read write', 'scope as approved');
    ok($j->{refresh_token}, 'a refresh token (refresh_limit 2)');
    check(scalar $t->{headers}->header('Cache-Control'), qr/no-store/, 'token: no-store');
    $webapp_tokens = $j;
    my $i = introspect($j->{access_token});
    ok($i->{active}, 'introspects active');
    check($i->{username}, 'alice', 'for alice');
    check($i->{client_id}, 'webapp', 'issued to webapp');

    # refresh_limit 2: two refreshes; the second one gets no new refresh token
    my $r1 = token({ grant_type => 'refresh_token', refresh_token => $j->{refresh_token} }, 'webapp');
    check($r1->{status}, 200, 'first refresh');
    ok($r1->{json} && $r1->{json}{refresh_token}, 'with a new refresh token');
    my $r2 = token({ grant_type => 'refresh_token',
                     refresh_token => $r1->{json} ? $r1->{json}{refresh_token} : 'x' }, 'webapp');
    check($r2->{status}, 200, 'second refresh');
    ok($r2->{json} && !exists $r2->{json}{refresh_token}, 'the last one: no refresh token');
}

# deny
{
    my $p = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  state => 'deny-state');
    my @f = form_fields($p->{body});
    my $n = codes_issued();
    my $res = decide(\@f, 'deny');
    is_redirect_error($res, 'deny', status => 303, error => 'access_denied', state => 'deny-state');
    ok(!exists((loc($res) || {query => {}})->{query}{code}), 'deny: no code');
    check(codes_issued(), $n, 'deny: no code issued');
    my $again = decide(\@f, 'approve');
    check($again->{status}, 403, 'the denied form cannot be approved afterwards');
    my $bad = decide([@{ with_field(\@f, 'csrf', 'x') }], 'maybe');
    check($bad->{status}, 400, 'decision=maybe: 400');
}

# spa: PKCE S256 and plain, client_id instead of Basic
for my $method ('S256', 'plain', undef) {
    my $name = $method // 'absent (plain)';
    my ($v, $ch) = pkce_pair();
    $ch = $v unless defined $method && $method eq 'S256';
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'spa',
                                 redirect_uri => $SPA_CB, state => "spa-$name",
                                 code_challenge => $ch, code_challenge_method => $method);
    check($res->{status}, 303, "spa, PKCE $name: approved");
    my $code = code_of($l);
    check($l && $l->{query}{state}, "spa-$name", "spa, PKCE $name: state");
    my $w = token({ grant_type => 'authorization_code', code => $code, client_id => 'spa',
                    redirect_uri => $SPA_CB, code_verifier => $v . 'x' });
    check($w->{json} && $w->{json}{error}, 'invalid_grant', "spa, PKCE $name: wrong verifier");
    my $m = token({ grant_type => 'authorization_code', code => $code, client_id => 'spa',
                    redirect_uri => $SPA_CB });
    check($m->{json} && $m->{json}{error}, 'invalid_grant', "spa, PKCE $name: missing verifier");
    my $t = token({ grant_type => 'authorization_code', code => $code, client_id => 'spa',
                    redirect_uri => $SPA_CB, code_verifier => $v });
    check($t->{status}, 200, "spa, PKCE $name: redeemed with client_id + code_verifier");
    ok($t->{json} && $t->{json}{access_token} && $t->{json}{refresh_token},
       "spa, PKCE $name: access and refresh token (refresh_limit -1)");
    check($t->{json} && $t->{json}{scope}, 'read', "spa, PKCE $name: scope read");
}

# a confidential client may use PKCE too; then the verifier is checked
{
    my ($v, $ch) = pkce_pair();
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB, code_challenge => $ch,
                                 code_challenge_method => 'S256', scope => 'read');
    my $code = code_of($l);
    my $w = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $APP_CB },
                  'webapp');
    check($w->{json} && $w->{json}{error}, 'invalid_grant', 'webapp with PKCE: verifier required');
    my $t = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $APP_CB,
                    code_verifier => $v }, 'webapp');
    check($t->{status}, 200, 'webapp with PKCE: redeemed with the verifier');
    check($t->{json} && $t->{json}{scope}, 'read', 'narrowed scope kept');
}

# multi: the chosen redirect URI, with its query, is the base of the answer
{
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'multi',
                                 redirect_uri => $MULTI_B, state => 'm');
    check($res->{status}, 303, 'multi: approved');
    like($l ? $l->{raw} : '', qr{^https://b\.example/cb\?x=1&code=[^&]+&state=m&iss=},
         'multi: code appended to the registered query');
    my $code = code_of($l);
    my $x = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $MULTI_A },
                  'multi');
    check($x->{json} && $x->{json}{error}, 'invalid_grant',
          'token endpoint: the other registered URI is a mismatch');
    my $t = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $MULTI_B },
                  'multi');
    check($t->{status}, 200, 'multi: redeemed with the same redirect_uri');
}

# ---- 6. the token endpoint's code rules ---------------------------------------------------

{   # a code redeemed by another client
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my $code = code_of($l);
    my $t = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $APP_CB },
                  'multi');
    check($t->{status}, 400, 'a code redeemed by another client: 400');
    check($t->{json} && $t->{json}{error}, 'invalid_grant', 'invalid_grant');
    my $s = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $APP_CB,
                    client_id => 'spa', code_verifier => 'a' x 43 });
    check($s->{json} && $s->{json}{error}, 'invalid_grant',
          'a confidential client\'s code redeemed by the public client: invalid_grant');
    my $w = token({ grant_type => 'authorization_code', code => $code, redirect_uri => $APP_CB,
                    client_id => 'webapp' });
    check($w->{status}, 401, 'webapp without its secret: 401 invalid_client');

    # redirect_uri mismatch
    my ($r2, $l2) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my $c2 = code_of($l2);
    for my $bad (undef, 'https://app.example/cb/', 'https://evil.example/cb') {
        my $t = token({ grant_type => 'authorization_code', code => $c2,
                        (defined $bad ? (redirect_uri => $bad) : ()) }, 'webapp');
        check($t->{json} && $t->{json}{error}, 'invalid_grant',
              'redirect_uri ' . ($bad // 'missing') . ' at the token endpoint: invalid_grant');
    }
    # no redirect_uri at authorize: none allowed at the token endpoint
    my ($r3, $l3) = approve_flow(response_type => 'code', client_id => 'webapp');
    my $c3 = code_of($l3);
    check($l3 && $l3->{base}, $APP_CB, 'no redirect_uri: the registered one is used');
    my $t3 = token({ grant_type => 'authorization_code', code => $c3, redirect_uri => $APP_CB },
                   'webapp');
    check($t3->{json} && $t3->{json}{error}, 'invalid_grant',
          'redirect_uri at the token endpoint when authorize had none: invalid_grant');
    my $t3b = token({ grant_type => 'authorization_code', code => $c3 }, 'webapp');
    check($t3b->{status}, 200, 'and redeemed without one');

    # an unknown code, a code with a changed character
    my $u = token({ grant_type => 'authorization_code', code => 'A' x 43,
                    redirect_uri => $APP_CB }, 'webapp');
    check($u->{json} && $u->{json}{error}, 'invalid_grant', 'unknown code: invalid_grant');
}

{   # a second use of a code: invalid_grant, and the first use's tokens are revoked
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my $code = code_of($l);
    my $first = token({ grant_type => 'authorization_code', code => $code,
                        redirect_uri => $APP_CB }, 'webapp');
    check($first->{status}, 200, 'first use of a code: 200');
    my $j = $first->{json} || {};
    ok(introspect($j->{access_token} // 'x')->{active}, 'its access token is active');
    my $second = token({ grant_type => 'authorization_code', code => $code,
                         redirect_uri => $APP_CB }, 'webapp');
    check($second->{status}, 400, 'second use: 400');
    check($second->{json} && $second->{json}{error}, 'invalid_grant', 'second use: invalid_grant');
    is_deeply(introspect($j->{access_token} // 'x'), { active => JSON::PP::false() },
              'the access token of the first use is revoked');
    is_deeply(introspect($j->{refresh_token} // 'x'), { active => JSON::PP::false() },
              'and its refresh token');
    my $rf = token({ grant_type => 'refresh_token', refresh_token => $j->{refresh_token} // 'x' },
                   'webapp');
    check($rf->{json} && $rf->{json}{error}, 'invalid_grant', 'the refresh token no longer works');
}

{   # a code expires (vhost oas_browser: OAuthASCodeLifetime 2)
    my $port = Apache::Test::vars('oas_browser_port');
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB, { port => $port });
    my $code = code_of($l);
    ok($code, 'a code with a lifetime of 2 s');
    sleep 3.2;
    my $t = post_form('/oauth/token', { grant_type => 'authorization_code', code => $code // 'x',
                                        redirect_uri => $APP_CB },
                      auth => [webapp => $SECRET{webapp}], port => $port);
    check($t->{json} && $t->{json}{error}, 'invalid_grant', 'redeemed after it expired: invalid_grant');
}

# ---- 7. the implicit grant --------------------------------------------------------------

for my $c ([webapp => $APP_CB, 'read write'], [spa => $SPA_CB, 'read']) {
    my ($client, $cb, $scope) = @$c;
    my $p = authz(response_type => 'token', client_id => $client, redirect_uri => $cb,
                  state => "imp-$client");
    check($p->{status}, 200, "implicit ($client): approval page");
    my @f = form_fields($p->{body});
    check(field(\@f, 'response_type'), 'token', "implicit ($client): response_type token in the form");
    my $res = decide(\@f, 'approve');
    my $l = loc($res);
    check($res->{status}, 303, "implicit ($client): 303");
    check($l && $l->{base}, $cb, "implicit ($client): to the redirect URI");
    ok($l && !$l->{has_query}, "implicit ($client): nothing in the query");
    my $fr = $l ? $l->{fragment} : {};
    ok($fr->{access_token}, "implicit ($client): access_token in the fragment");
    check($fr->{token_type}, 'Bearer', "implicit ($client): token_type");
    check($fr->{expires_in}, qr/^\d+$/, "implicit ($client): expires_in");
    check($fr->{scope}, $scope, "implicit ($client): scope");
    check($fr->{state}, "imp-$client", "implicit ($client): state");
    check($fr->{iss}, $ISS, "implicit ($client): iss");
    ok(!exists $fr->{refresh_token}, "implicit ($client): no refresh_token");
    ok(!exists $fr->{code}, "implicit ($client): no code");
    my $i = introspect($fr->{access_token} // 'x');
    ok($i->{active} && ($i->{username} // '') eq 'alice' && ($i->{client_id} // '') eq $client,
       "implicit ($client): the token is alice's, for $client");
}
{
    my $p = authz(response_type => 'token', client_id => 'webapp', redirect_uri => $APP_CB,
                  state => 'imp-deny');
    my $res = decide([form_fields($p->{body})], 'deny');
    is_redirect_error($res, 'implicit deny', status => 303, error => 'access_denied',
                      state => 'imp-deny', fragment => 1);
}

# ---- 8. CSRF ------------------------------------------------------------------------------

sub fresh_form {   # the form of a valid request (state: csrf-state, or the one given)
    my (%o) = @_;
    my $p = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  scope => 'read', state => $o{state} // 'csrf-state');
    my @f = form_fields($p->{body});
    die "fresh_form: no approval form (status $p->{status})\n" unless field(\@f, 'csrf');
    return \@f;
}

sub refused_403 {
    my ($res, $name) = @_;
    check($res->{status}, 403, "$name: 403");
    ok(!defined $res->{headers}->header('Location'), "$name: no redirect, no code");
}

{
    my $n = codes_issued();
    my $f = fresh_form();
    refused_403(decide(with_field($f, 'csrf', undef), 'approve'), 'CSRF token missing');
    refused_403(decide(with_field($f, 'csrf', ''), 'approve'), 'CSRF token empty');
    my $csrf = field($f, 'csrf');
    my $mid = int(length($csrf) / 2);
    (my $tampered = $csrf) =~ s/^(.{$mid})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
    refused_403(decide(with_field($f, 'csrf', $tampered), 'approve'), 'CSRF token tampered (one char)');
    (my $first = $csrf) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
    refused_403(decide(with_field($f, 'csrf', $first), 'approve'), 'CSRF token, first char changed');
    refused_403(decide(with_field($f, 'csrf', substr($csrf, 0, -4)), 'approve'), 'CSRF token truncated');
    refused_403(decide(with_field($f, 'csrf', "$csrf$csrf"), 'approve'), 'CSRF token doubled');
    refused_403(decide($f, 'approve', user => $BOB), 'CSRF token posted by another user (bob)');
    refused_403(decide(with_field($f, 'scope', 'read write'), 'approve'),
                'scope changed to read write after read was shown');
    refused_403(decide(with_field($f, 'state', 'other'), 'approve'), 'state changed');
    refused_403(decide(with_field($f, 'state', undef), 'approve'), 'state removed');
    refused_403(decide(with_field($f, 'response_type', 'token'), 'approve'),
                'response_type changed to token');
    my (undef, $ch) = pkce_pair();
    refused_403(decide(with_field($f, 'code_challenge', $ch), 'approve'),
                'code_challenge added');
    # a form of another request: its token does not fit this one
    my $g = fresh_form(state => 'csrf-other');
    refused_403(decide(with_field($f, 'csrf', field($g, 'csrf')), 'approve'),
                'CSRF token of another request');
    # changing client_id or redirect_uri in the form
    my $spa_ok = decide(with_field(with_field($f, 'client_id', 'multi'), 'redirect_uri', $MULTI_A),
                        'approve');
    refused_403($spa_ok, 'client_id and redirect_uri changed');
    check(codes_issued(), $n, 'none of these issued a code');

    # the untouched form still works (nothing above consumed it), once
    my $ok = decide($f, 'approve');
    check($ok->{status}, 303, 'the untouched form: approved');
    ok(code_of(loc($ok)), 'with a code');
    refused_403(decide($f, 'approve'), 'the same form posted twice (replay)');
    refused_403(decide($f, 'deny'), 'replayed as deny');

    # the approval POST itself needs the login
    my $anon = post_form('/oauth/authorize', [@$g, decision => 'approve']);
    check($anon->{status}, 401, 'approval POST without login: 401 from httpd');
}

# ---- 9. set-up rules -----------------------------------------------------------------------

{   # a Location that authenticates nobody: 500 with a logged reason, never a code
    expect_error_log(qr/OAS02002/);
    my $mark = error_log_mark();
    my $n = codes_issued();
    my $r = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  { path => '/noauth/authorize', user => undef,
                    port => Apache::Test::vars('oas_noauth_port') });
    check($r->{status}, 500, 'anonymous user: 500');
    ok(!defined $r->{headers}->header('Location'), 'anonymous user: no redirect');
    ok(wait_for_log(qr/OAS02002/, $mark, 5), 'OAS02002 logged');
    my $p = post_form('/noauth/authorize', [@{ fresh_form() }, decision => 'approve'],
                      port => Apache::Test::vars('oas_noauth_port'));
    check($p->{status}, 500, 'anonymous approval POST: 500');
    check(codes_issued(), $n, 'anonymous: no code issued');
}
{   # OAuthASRequireHTTPS (default On): the plain port gets 400
    my $r = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  { scheme => 'http' });
    is_error_page($r, 'plain HTTP');
    like($r->{body}, qr/HTTPS/, 'plain HTTP: says why');
}

# ---- 9a. vhost oas_authz, a registry of its own (t/conf/authorize-clients.json) -------

{
    my $port = Apache::Test::vars('oas_authz_port');
    my %o = (port => $port);
    is_error_page(authz(response_type => 'code', client_id => 'off',
                        redirect_uri => 'https://off.example/cb', state => 's', \%o),
                  'disabled client with a registered redirect URI and the grant');
    is_error_page(authz(response_type => 'token', client_id => 'off', state => 's', \%o),
                  'disabled client, implicit, redirect_uri omitted');
    is_error_page(authz(response_type => 'code', client_id => 'webapp',
                        redirect_uri => $APP_CB, \%o),
                  'a client of another vhost\'s registry is unknown here');
    is_redirect_error(authz(response_type => 'code', client_id => 'implicitonly',
                            redirect_uri => 'https://imp.example/cb', state => 'U1', \%o),
                      'implicit-only client asks for a code', error => 'unauthorized_client',
                      state => 'U1', base => 'https://imp.example/cb');
    my $p = authz(response_type => 'token', client_id => 'implicitonly', state => 'U2', \%o);
    check($p->{status}, 200, 'implicit-only client, response_type=token: the page');
    my $b = $p->{body} // '';
    like($b, qr/Implicit &lt;b&gt;Only&lt;\/b&gt; &amp; &quot;Co&quot; &lt;script&gt;alert\(1\)&lt;\/script&gt;/,
         'markup in the client name: escaped');
    unlike($b, qr/<b>Only|<script>alert/, 'and never raw');
    my $mem = sub { my $j = get('/oauth/status')->{json} || {};
                    (($j->{store} || {})->{memory_entries} || {})->{refresh_token} };
    my $before = $mem->();
    like($before // '', qr/^\d+$/, 'status: refresh tokens held in memory: ' . ($before // '-'));
    my $res = decide([form_fields($b)], 'approve', %o);
    my $l = loc($res);
    check($res->{status}, 303, 'implicit-only client: approved');
    ok($l && $l->{fragment}{access_token}, 'token in the fragment');
    check($l && $l->{fragment}{scope}, 'read write', 'all its scopes');
    ok($l && !exists $l->{fragment}{refresh_token}, 'no refresh token in the fragment');
    # the memory tier is a cache: an expired or cached entry may leave it meanwhile (so
    # not an exact count), but a refresh token stored would make it one more
    my $after = $mem->();
    ok(defined $after && $after <= $before,
       "the implicit grant stored no refresh token either ($before before, $after after)");
}

# ---- 9b. OAuthASApprovalPage (vhost oas_browser): title, heading, logo, footer, escaped --

{
    my $port = Apache::Test::vars('oas_browser_port');
    my $p = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB,
                  { port => $port });
    my $b = $p->{body} // '';
    check($p->{status}, 200, 'OAuthASApprovalPage vhost: the page');
    like($b, qr{<title>Example &amp; Co &lt;sign-in&gt;</title>}, 'title set, escaped');
    like($b, qr{<h1>Allow &lt;em&gt;this&lt;/em&gt; app\?</h1>}, 'heading set, escaped');
    like($b, qr{<img src="https://logo\.example/l\.png\?a=1&amp;b=&lt;x&gt;" alt="[^"]*">},
         'logo set, escaped');
    like($b, qr{Ask the &lt;helpdesk&gt; &amp; &#39;ops&#39;}, 'footer set, escaped');
    unlike($b, qr{<em>this|<helpdesk>|<sign-in>|b=<x>}, 'none of the markup comes out raw');
    like($b, qr/Web App/, 'the client name is still there');
    my $d = authz(response_type => 'code', client_id => 'webapp', redirect_uri => $APP_CB);
    unlike($d->{body} // '', qr/Example &amp; Co|helpdesk/, 'the other vhost keeps the built-in texts');
}

# ---- 9c. a GET cannot take the decision; another user's approval is bound to them ----

{
    my $f = fresh_form();
    my $n = codes_issued();
    my $r = get('/oauth/authorize?' . qs(@$f, decision => 'approve'), auth => $ALICE);
    check($r->{status}, 200, 'GET with decision=approve and a valid csrf: only the page');
    ok(!defined $r->{headers}->header('Location'), 'GET with decision: no redirect');
    check(codes_issued(), $n, 'GET with decision: no code issued');
    my $ok = decide($f, 'approve');
    check($ok->{status}, 303, 'and the form was not used up by that GET');

    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB, { user => $BOB });
    check($res->{status}, 303, 'bob approves');
    my $t = token({ grant_type => 'authorization_code', code => code_of($l) // 'x',
                    redirect_uri => $APP_CB }, 'webapp');
    check(introspect(($t->{json} || {})->{access_token})->{username}, 'bob',
          "the code is bound to the user who approved: bob's token");
}

# ---- 9d. codes live in shared memory: they survive a graceful restart, not a stop/start --

{
    my ($r1, $l1) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my ($r2, $l2) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my $f = fresh_form(state => 'across-graceful');
    ok(graceful_restart(), 'graceful restart');
    my $t = token({ grant_type => 'authorization_code', code => code_of($l1) // 'x',
                    redirect_uri => $APP_CB }, 'webapp');
    check($t->{status}, 200, 'a code issued before a graceful restart is redeemed after it');
    my $ok = decide($f, 'approve');
    check($ok->{status}, 303, 'an approval form from before the graceful restart still works');
    ok(stop_start(), 'stop and start');
    my $gone = token({ grant_type => 'authorization_code', code => code_of($l2) // 'x',
                       redirect_uri => $APP_CB }, 'webapp');
    check($gone->{json} && $gone->{json}{error}, 'invalid_grant',
          'a code issued before a full stop and start is gone');
    my $ok2 = decide(fresh_form(), 'approve');
    check($ok2->{status}, 303, 'and the endpoint works after the start');
}

# ---- 10. concurrent redemption: exactly one wins -------------------------------------------

{
    my $N = 16;
    my ($res, $l) = approve_flow(response_type => 'code', client_id => 'webapp',
                                 redirect_uri => $APP_CB);
    my $code = code_of($l) // 'x';
    my $body = form_encode({ grant_type => 'authorization_code', code => $code,
                             redirect_uri => $APP_CB });
    my $auth = MIME::Base64::encode_base64("webapp:$SECRET{webapp}", '');
    my $req = "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic $auth\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n";
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    pipe(my $ready_r, my $ready_w) or die "pipe: $!";
    my %kids;
    for my $i (1 .. $N) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            close $go_w; close $ready_r;
            my $st = 9;
            eval {
                local $SIG{ALRM} = sub { die "timeout\n" };
                alarm 30;
                my $s = IO::Socket::SSL->new(PeerHost => '127.0.0.1', PeerPort => https_port(),
                                             SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                                             SSL_hostname => 'localhost')
                    or die "connect\n";
                # everything but the last byte goes now; the last byte after the signal
                syswrite $s, $req . substr($body, 0, -1);
                syswrite $ready_w, 'r';
                sysread $go_r, my $x, 1;          # returns at EOF: everyone goes at once
                syswrite $s, substr($body, -1);
                my $raw = '';
                while (1) { my $n = sysread $s, my $buf, 65536; last unless $n; $raw .= $buf }
                alarm 0;
                if (open my $fh, '>', "$dir/resp.$i") { print $fh $raw; close $fh }
                $st = $raw =~ m{^HTTP/1\.\d 200 } ? 0
                    : $raw =~ m{^HTTP/1\.\d 400 .*"invalid_grant"}s ? 1 : 2;
            };
            POSIX::_exit($st);
        }
        $kids{$pid} = 1;
    }
    close $go_r; close $ready_w;
    my $ready = 0;
    while ($ready < $N) { my $n = sysread $ready_r, my $b, 64; last unless $n; $ready += $n }
    check($ready, $N, "$N connections ready, each with all but one byte sent");
    close $go_w;                                        # release them together
    my %st;
    my $end = time + 60;
    while (%kids && time < $end) {
        my $pid = waitpid(-1, POSIX::WNOHANG());
        if ($pid > 0) { $st{$? >> 8}++; delete $kids{$pid}; next }
        sleep 0.05;
    }
    kill 'KILL', keys %kids if %kids;
    check($st{0} // 0, 1, "$N concurrent redemptions of one code: exactly one 200");
    check($st{1} // 0, $N - 1, 'the others: 400 invalid_grant')
        or diag explain \%st;
    # the losers were second uses of the code: the winner's tokens are revoked too
    my $win;
    for my $file (glob "$dir/resp.*") {
        open my $fh, '<', $file or next;
        my $raw = do { local $/; <$fh> };
        $win = $raw if defined $raw && $raw =~ m{^HTTP/1\.\d 200 };
    }
    my ($at) = ($win // '') =~ /"access_token"\s*:\s*"([^"]+)"/;
    ok($at, 'the winner got an access token');
    is_deeply(introspect($at // 'x'), { active => JSON::PP::false() },
              "after the replays, the winner's access token is revoked");
}

my $took = time - $T0;
diag sprintf 't/20_authorize.t took %.1f s', $took;
ok(error_log_clean(), 'no unexpected error lines') or diag join "\n", error_log_clean();
