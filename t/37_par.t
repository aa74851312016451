# Pushed authorization requests (RFC 9126; SPEC sections 2, 3, 5, 6, 8, 14; issue 17 item 1),
# against the real server.  t/conf/par.conf.in: vhost oas_par (PAR offered; the client
# parstrict requires it for itself) and oas_parreq (OAuthASRequirePAR On,
# OAuthASPARLifetime 2), both with the registry t/conf/par-clients.json:
#   parweb    confidential (parweb-secret), code + implicit, https://app.example/cb, read write
#   parother  confidential (parother-secret), code, https://other.example/cb, read
#   parspa    public, code, https://spa.example/cb and .../cb2, read write (PKCE required)
#   parstrict public, code, https://strict.example/cb, require_pushed_authorization_requests
#   paroff    public, disabled
# The resource owner is alice/wonderland (Basic auth at /oauth/authorize).  At the end an
# independent client, oauth4webapi (t/clients, installed by npm ci when missing), pushes
# and completes the code flow with PKCE; this file plays the user at the approval page.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest qw(is_oauth_error html_unescape);
use URI ();
use URI::Escape qw(uri_unescape);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use JSON::PP ();
use IPC::Open2 ();
use File::Spec ();
use FindBin ();
use Time::HiRes qw(sleep);

plan tests => 82, need_module('ssl'), need_module('oauth_as');

my $PAR     = Apache::Test::vars('oas_par_port')    or die "no oas_par vhost\n";
my $REQ     = Apache::Test::vars('oas_parreq_port') or die "no oas_parreq vhost\n";
my $ISS     = "https://localhost:$PAR";
my $ISS_REQ = "https://localhost:$REQ";
my $ALICE   = [alice => 'wonderland'];
my $APP_CB  = 'https://app.example/cb';
my $SPA_CB  = 'https://spa.example/cb';
my %SECRET  = map { $_ => "$_-secret" } qw(parweb parother rs);
my $URN     = qr/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;

# ---- helpers ----------------------------------------------------------------------

sub pkce {
    my $v = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
    return ($v, encode_base64url(sha256($v)));
}

# push(\@pairs, client => ID (Basic with its secret) | undef, port => N, %post_form opts)
sub push_req {
    my ($pairs, %o) = @_;
    my $client = delete $o{client};
    my $port = delete $o{port} || $PAR;
    return post_form('/oauth/par', $pairs, port => $port,
                     ($client ? (auth => [$client, $SECRET{$client}]) : ()), %o);
}

sub pushed_uri {    # a successful push -> its request_uri (undef and diag otherwise)
    my ($res) = @_;
    return $res->{json}{request_uri} if $res->{status} == 201 && $res->{json};
    diag "push: HTTP $res->{status}: $res->{body}";
    return undef;
}

sub authz {         # GET /oauth/authorize?pairs as alice
    my ($pairs, %o) = @_;
    return get('/oauth/authorize?' . form_encode($pairs), auth => $ALICE,
               port => $o{port} || $PAR);
}

sub fields {        # hidden inputs of the approval form, in order
    my ($html) = @_;
    my @f;
    while (($html // '') =~ /<input type="hidden" name="([^"]+)" value="([^"]*)">/g) {
        push @f, $1 => html_unescape($2);
    }
    return \@f;
}

sub has_fields {     # the hash holds these values (undef: absent)
    my ($h, %want) = @_;
    for my $k (keys %want) {
        return 0 if defined $want{$k} ? ($h->{$k} // "\0") ne $want{$k} : exists $h->{$k};
    }
    return 1;
}

sub approve {       # POST the page's form with decision=approve -> $res
    my ($page, %o) = @_;
    return post_form('/oauth/authorize', [@{ fields($page->{body}) }, decision => 'approve'],
                     auth => $ALICE, port => $o{port} || $PAR);
}

sub loc {           # Location -> {base, q => {decoded query}}
    my ($res) = @_;
    my $l = $res->{headers}->header('Location') // return { base => '', q => {}, raw => '-' };
    my $u = URI->new($l);
    my %q = $u->query_form;
    (my $base = $l) =~ s/[?#].*//;
    return { base => $base, q => \%q, raw => $l };
}

sub redeem {
    my ($code, %o) = @_;
    return post_form('/oauth/token', [grant_type => 'authorization_code', code => $code,
                                      redirect_uri => $o{redirect_uri} || $APP_CB,
                                      ($o{verifier} ? (code_verifier => $o{verifier}) : ()),
                                      ($o{client_id} ? (client_id => $o{client_id}) : ())],
                     port => $o{port} || $PAR,
                     ($o{client} ? (auth => [$o{client}, $SECRET{$o{client}}]) : ()));
}

sub introspect_at {
    my ($token, $port) = @_;
    my $r = post_form('/oauth/introspect', [token => $token // 'none'],
                      auth => ['rs', 'rs-secret'], port => $port || $PAR);
    return $r->{json} || {};
}

sub is_error_page {  # one ok(): 400 HTML page naming invalid_request, no redirect
    my ($res, $re, $name) = @_;
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == 400;
    push @why, 'a Location' if defined $res->{headers}->header('Location');
    push @why, 'not HTML' unless ($res->{headers}->header('Content-Type') // '') =~ m{^text/html};
    push @why, 'no invalid_request' unless ($res->{body} // '') =~ /<code>invalid_request<\/code>/;
    push @why, "text not like $re" if $re && ($res->{body} // '') !~ $re;
    ok !@why, $name or diag join('; ', @why) . "\n$res->{body}";
}

sub pushed_count {   # pushed requests in the store's memory (the status document)
    my $r = get('/oauth/status');
    return (($r->{json} || {})->{store} || {})->{memory_entries}{pushed_request} // -1;
}

my ($V, $C) = pkce();
my @WEB = (response_type => 'code', redirect_uri => $APP_CB, scope => 'read',
           code_challenge => $C, code_challenge_method => 'S256');

# ---- metadata (SPEC section 6) --------------------------------------------------------
{
    my $m = get('/.well-known/oauth-authorization-server', port => $PAR)->{json} || {};
    is $m->{pushed_authorization_request_endpoint}, "$ISS/oauth/par",
       'metadata: pushed_authorization_request_endpoint where oauth-as-par is mapped';
    ok !exists $m->{require_pushed_authorization_requests},
       'metadata: no require_pushed_authorization_requests where OAuthASRequirePAR is Off';
    my $r = get('/.well-known/oauth-authorization-server', port => $REQ)->{json} || {};
    is $r->{pushed_authorization_request_endpoint}, "$ISS_REQ/oauth/par",
       'metadata (OAuthASRequirePAR On): the PAR endpoint of that vhost';
    ok JSON::PP::is_bool($r->{require_pushed_authorization_requests})
       && $r->{require_pushed_authorization_requests},
       'metadata (OAuthASRequirePAR On): require_pushed_authorization_requests true';
    my $o = get('/.well-known/oauth-authorization-server')->{json} || {};
    ok $o->{issuer} && !exists $o->{pushed_authorization_request_endpoint},
       'metadata of a vhost that does not map oauth-as-par: no PAR endpoint';
}

# ---- the push: client authentication (SPEC section 5) ------------------------------
my $before = pushed_count();
{
    my $r = push_req([@WEB, state => 's0'], client => 'parweb');
    ok t_cmp($r->{status}, 201, 'confidential client, HTTP Basic: 201');
    like $r->{json}{request_uri} // '', $URN, 'request_uri: urn:ietf:params:oauth:request_uri:<43 base64url>';
    is $r->{json}{expires_in}, 60, 'expires_in: OAuthASPARLifetime default 60';
    is $r->{headers}->header('Cache-Control'), 'no-store', 'Cache-Control: no-store';
    like $r->{headers}->header('Content-Type') // '', qr{^application/json}, 'JSON answer';
    is_deeply [sort keys %{ $r->{json} || {} }], [qw(expires_in request_uri)],
              'exactly request_uri and expires_in';
    my $r2 = push_req([@WEB, state => 's0'], client => 'parweb');
    ok $r2->{json}{request_uri} && $r2->{json}{request_uri} ne $r->{json}{request_uri},
       'each push gets its own request_uri';
    ok t_cmp(pushed_count(), $before + 2, 'the pushes are in the store (kind pushed_request)');
    $before = pushed_count();

    is_oauth_error(push_req([@WEB, client_id => 'parweb']), 401, 'invalid_client',
                   'confidential client without credentials: 401 invalid_client');
    is_oauth_error(post_form('/oauth/par', \@WEB, port => $PAR, auth => ['parweb', 'wrong']),
                   401, 'invalid_client', 'wrong secret: 401 invalid_client');
    is_oauth_error(push_req([@WEB, client_id => 'parweb', client_secret => 'parweb-secret']),
                   401, 'invalid_client', 'secret in the body (client_secret_basic): 401');
    is_oauth_error(push_req([@WEB, client_id => 'parother'], client => 'parweb'), 401,
                   'invalid_client', 'Basic as parweb with client_id parother: 401');
    is_oauth_error(push_req(\@WEB), 401, 'invalid_client', 'no client at all: 401');
    is_oauth_error(push_req([@WEB, client_id => 'nosuch']), 401, 'invalid_client',
                   'unknown client: 401');
    is_oauth_error(push_req([response_type => 'code', redirect_uri => 'https://off.example/cb',
                             client_id => 'paroff']), 401, 'invalid_client',
                   'disabled client: 401');
    my $g = get('/oauth/par', port => $PAR, auth => ['parweb', 'parweb-secret']);
    ok $g->{status} == 405 && ($g->{headers}->header('Allow') // '') eq 'POST',
       'GET: 405 with Allow: POST';
    my $pub = push_req([response_type => 'code', client_id => 'parspa', redirect_uri => $SPA_CB,
                        code_challenge => $C, code_challenge_method => 'S256']);
    ok t_cmp($pub->{status}, 201, 'public client with client_id: 201');
    $before = pushed_count();
}

# ---- the push: the authorization endpoint's checks, as JSON (SPEC section 14) ----------
{
    my @bad = (
        [[@WEB, request_uri => 'urn:ietf:params:oauth:request_uri:x'], 'invalid_request',
         'a request_uri in the push'],
        [[redirect_uri => $APP_CB, scope => 'read'], 'invalid_request', 'no response_type'],
        [[@WEB[2 .. $#WEB], response_type => 'password'], 'invalid_request',
         'response_type=password'],
        [[@WEB[2 .. $#WEB], response_type => 'code id_token'], 'unsupported_response_type',
         'response_type=code id_token'],
        [[@WEB[0, 1], redirect_uri => 'https://evil.example/cb'], 'invalid_request',
         'unregistered redirect_uri'],
        [[@WEB[0 .. 3], scope => 'admin'], 'invalid_scope', 'scope the client may not have'],
        [[@WEB[0 .. 3], scope => 'nosuch'], 'invalid_scope', 'undefined scope'],
        [[@WEB[0 .. 5], code_challenge => $C, code_challenge_method => 'S512'],
         'invalid_request', 'code_challenge_method S512'],
        [[@WEB[0 .. 5], code_challenge => 'short', code_challenge_method => 'S256'],
         'invalid_request', 'malformed code_challenge'],
        [[@WEB, state => 'a', state => 'b'], 'invalid_request', 'a parameter twice'],
        [[@WEB, state => 'x' x 900], 'invalid_request', 'a push too large to keep (900-byte state)'],
    );
    for my $b (@bad) {
        is_oauth_error(push_req($b->[0], client => 'parweb'), 400, $b->[1],
                       "push with $b->[2]: 400 $b->[1]");
    }
    is_oauth_error(push_req([response_type => 'token', redirect_uri => 'https://other.example/cb'],
                            client => 'parother'), 400, 'unauthorized_client',
                   'push for a grant the client does not hold: 400 unauthorized_client');
    is_oauth_error(push_req([response_type => 'code', client_id => 'parspa']), 400,
                   'invalid_request', 'public client with two redirect URIs, none sent: 400');
    is_oauth_error(push_req([response_type => 'code', client_id => 'parspa',
                             redirect_uri => $SPA_CB]), 400, 'invalid_request',
                   'public client without code_challenge (OAuthASRequirePKCE public): 400');
    is_oauth_error(post_form('/oauth/par', \@WEB, port => $PAR, auth => ['parweb', 'parweb-secret'],
                             content_type => 'text/plain'), 400, 'invalid_request',
                   'wrong content type: 400');
    ok t_cmp(pushed_count(), $before, 'no refused push left anything in the store');
}

# ---- a full code flow through PAR (confidential client, PKCE S256) -------------------------
{
    my $uri = pushed_uri(push_req([@WEB, state => 'flow1'], client => 'parweb'));
    my $page = authz([client_id => 'parweb', request_uri => $uri // 'none']);
    ok t_cmp($page->{status}, 200, 'authorization endpoint with client_id + request_uri: the approval page');
    my $f = fields($page->{body});
    my %h = @$f;
    ok has_fields(\%h, response_type => 'code', client_id => 'parweb', redirect_uri => $APP_CB,
                  scope => 'read', state => 'flow1', code_challenge => $C,
                  code_challenge_method => 'S256', request_uri => undef) && $h{csrf},
       'the form carries the pushed parameters (and a CSRF token, no request_uri)'
       or diag explain \%h;
    my $res = approve($page);
    my $l = loc($res);
    ok $res->{status} == 303 && $l->{base} eq $APP_CB && $l->{q}{code}
       && ($l->{q}{state} // '') eq 'flow1' && ($l->{q}{iss} // '') eq $ISS,
       'approve: redirect to the pushed redirect_uri with code, state, iss' or diag $l->{raw};
    is_oauth_error(redeem($l->{q}{code} // 'none', client => 'parweb'), 400, 'invalid_grant',
                   'the code is bound to the pushed code_challenge: without the verifier, invalid_grant');
    my $t = redeem($l->{q}{code} // 'none', client => 'parweb', verifier => $V);
    ok t_cmp($t->{status}, 200, 'the code redeems with the PKCE verifier');
    is $t->{json}{scope} // '', 'read', 'token scope: the pushed scope';
    my $i = introspect_at($t->{json}{access_token});
    ok $i->{active} && has_fields($i, client_id => 'parweb', username => 'alice'),
       'the access token is active: parweb for alice' or diag explain $i;
}

# ---- single use, bound to the client -----------------------------------------------------
{
    my $uri = pushed_uri(push_req([@WEB, state => 'once'], client => 'parweb')) // 'none';
    is_error_page(authz([client_id => 'parother', request_uri => $uri]),
                  qr/not pushed by this client/, 'request_uri with another client_id: 400 page');
    is_error_page(authz([request_uri => $uri]), qr/client_id is required/,
                  'request_uri without client_id: 400 page');
    my $p1 = authz([client_id => 'parweb', request_uri => $uri]);
    ok t_cmp($p1->{status}, 200, 'the rightful client still has it: nothing was taken by the others');
    is_error_page(authz([client_id => 'parweb', request_uri => $uri]),
                  qr/unknown, has expired or was used already/, 'second use: 400 page');
    my $res = approve($p1);
    ok $res->{status} == 303 && loc($res)->{q}{code},
       'the approval page shown at the first use still takes the decision';
    is_error_page(authz([client_id => 'parweb',
                         request_uri => 'urn:ietf:params:oauth:request_uri:nosuch']),
                  qr/unknown/, 'an unknown request_uri: 400 page');
    is_error_page(authz([client_id => 'parweb', request_uri => 'x' x 300]), qr/unknown/,
                  'a request_uri that is no urn: 400 page');
}

# ---- parameters outside the push never widen it ------------------------------------------
{
    my $uri = pushed_uri(push_req([@WEB, state => 'narrow'], client => 'parweb')) // 'none';
    my $page = authz([client_id => 'parweb', request_uri => $uri, scope => 'read write',
                      state => 'evil', redirect_uri => 'https://evil.example/cb',
                      response_type => 'token', code_challenge => 'A' x 43,
                      code_challenge_method => 'plain']);
    ok t_cmp($page->{status}, 200, 'extra query parameters beside request_uri: still the page');
    my %h = @{ fields($page->{body}) };
    ok has_fields(\%h, scope => 'read', state => 'narrow', redirect_uri => $APP_CB,
                  response_type => 'code', code_challenge => $C, code_challenge_method => 'S256'),
       'the form holds the pushed values, none from the query' or diag explain \%h;
    unlike $page->{body}, qr/<strong>write<\/strong>/, 'the page does not ask for the scope write';
    my $l = loc(approve($page));
    ok $l->{base} eq $APP_CB && ($l->{q}{state} // '') eq 'narrow' && $l->{q}{code},
       'the answer goes to the pushed redirect_uri with the pushed state';
    my $t = redeem($l->{q}{code} // 'none', client => 'parweb', verifier => $V);
    ok $t->{status} == 200 && ($t->{json}{scope} // '') eq 'read', 'the token has the pushed scope only';
}

# ---- expiry (OAuthASPARLifetime 2, vhost oas_parreq) ----------------------------------------
{
    my $r = push_req([@WEB, state => 'exp'], client => 'parweb', port => $REQ);
    ok t_cmp($r->{json}{expires_in}, 2, 'OAuthASPARLifetime 2: expires_in 2');
    sleep 3.2;
    is_error_page(authz([client_id => 'parweb', request_uri => $r->{json}{request_uri} // 'none'],
                        port => $REQ), qr/has expired/, 'after 3 s: 400 page (expired)');
}

# ---- OAuthASRequirePAR On (vhost oas_parreq) -------------------------------------------------
{
    my $res = authz([@WEB, client_id => 'parweb', state => 'req1'], port => $REQ);
    my $l = loc($res);
    ok $res->{status} == 302 && $l->{base} eq $APP_CB && ($l->{q}{error} // '') eq 'invalid_request'
       && ($l->{q}{state} // '') eq 'req1' && ($l->{q}{iss} // '') eq $ISS_REQ,
       'OAuthASRequirePAR On, no request_uri: invalid_request redirect with state and iss'
       or diag "$res->{status} $l->{raw}";
    like $l->{q}{error_description} // '', qr/push/, '... saying the request must be pushed';
    is_error_page(authz([@WEB[0 .. 1], client_id => 'parweb', redirect_uri => 'https://evil.example/cb'],
                        port => $REQ), undef,
                  'OAuthASRequirePAR On, bad redirect_uri: still the page, never a redirect');
    # a decision POSTed without ever showing a pushed request's page: no CSRF token
    my $d = post_form('/oauth/authorize', [@WEB, client_id => 'parweb', state => 'req2',
                                           decision => 'approve'], auth => $ALICE, port => $REQ);
    ok $d->{status} == 403 && !defined $d->{headers}->header('Location'),
       'OAuthASRequirePAR On: a decision without the page\'s CSRF token is refused (403)';
    # the pushed flow works there (push and use within the 2 s)
    my $uri = pushed_uri(push_req([@WEB, state => 'req3'], client => 'parweb', port => $REQ));
    my $page = authz([client_id => 'parweb', request_uri => $uri // 'none'], port => $REQ);
    ok t_cmp($page->{status}, 200, 'OAuthASRequirePAR On, pushed: the approval page');
    my $a = approve($page, port => $REQ);
    my $la = loc($a);
    ok $a->{status} == 303 && $la->{q}{code} && ($la->{q}{iss} // '') eq $ISS_REQ,
       'OAuthASRequirePAR On: approving the pushed request (a POST without request_uri) gives a code';
    my $t = redeem($la->{q}{code} // 'none', client => 'parweb', verifier => $V, port => $REQ);
    ok t_cmp($t->{status}, 200, 'OAuthASRequirePAR On: the code redeems');
}

# ---- the client's require_pushed_authorization_requests (OAuthASRequirePAR Off) ----------
{
    my ($v, $c) = pkce();
    my @strict = (response_type => 'code', client_id => 'parstrict',
                  redirect_uri => 'https://strict.example/cb', code_challenge => $c,
                  code_challenge_method => 'S256', state => 'st1');
    my $res = authz(\@strict);
    my $l = loc($res);
    ok $res->{status} == 302 && $l->{base} eq 'https://strict.example/cb'
       && ($l->{q}{error} // '') eq 'invalid_request',
       'client with require_pushed_authorization_requests, not pushed: invalid_request redirect'
       or diag "$res->{status} $l->{raw}";
    my $spa = authz([response_type => 'code', client_id => 'parspa', redirect_uri => $SPA_CB,
                     code_challenge => $c, code_challenge_method => 'S256']);
    ok t_cmp($spa->{status}, 200, 'a client without the flag, not pushed: the page (PAR optional)');
    my $uri = pushed_uri(push_req(\@strict));
    my $page = authz([client_id => 'parstrict', request_uri => $uri // 'none']);
    ok t_cmp($page->{status}, 200, 'the flagged client, pushed: the page');
    my $la = loc(approve($page));
    my $t = redeem($la->{q}{code} // 'none', client_id => 'parstrict', verifier => $v,
                   redirect_uri => 'https://strict.example/cb');
    ok t_cmp($t->{status}, 200, 'the flagged client: the pushed flow ends in a token');
}

# ---- an independent client: oauth4webapi (t/clients) ----------------------------------------
my $dir = File::Spec->rel2abs("$FindBin::Bin/clients");
sub have { my ($cmd) = @_; system("command -v $cmd >/dev/null 2>&1") == 0 }
ok(have('node') && have('npm'), 'node and npm are there');
unless (-d "$dir/node_modules/oauth4webapi") {
    my $out = `cd '$dir' && timeout 300 npm ci --no-audit --no-fund --loglevel=error 2>&1`;
    diag "npm ci: $out" if $?;
}
ok(-f "$dir/node_modules/oauth4webapi/package.json", 'oauth4webapi installed in t/clients');

# run par_flow.mjs, play the user at the approval page, hand it the redirect
sub node_flow {
    my ($client, $redirect, $secret) = @_;
    local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
    my $logs = Apache::Test::vars('t_logs');
    my $pid = IPC::Open2::open2(my $from, my $to, 'timeout', '60', 'node',
                                "$dir/par_flow.mjs", $ISS, $client, $redirect,
                                (defined $secret ? $secret : ()));
    my $dec = sub { my $l = shift // ''; eval { JSON::PP->new->decode($l) } || { error => "no JSON: $l" } };
    my $first = $dec->(scalar <$from>);
    my ($page, $res, $l) = ({}, {}, {});
    if ($first->{authorization_url}) {
        my $u = URI->new($first->{authorization_url});
        $page = get($u->path_query, auth => $ALICE, port => $u->port);
        $res = approve($page);
        $l = loc($res);
    }
    print $to (($l->{raw} // 'none') . "\n");
    close $to;
    my $second = $dec->(scalar <$from>);
    waitpid $pid, 0;
    return ($first, $page, $second, $? >> 8);
}

for my $case (['parspa', $SPA_CB, undef, 'public client, PKCE'],
              ['parweb', $APP_CB, 'parweb-secret', 'confidential client (Basic), PKCE']) {
    my ($first, $page, $tok, $rc) = node_flow(@$case);
    my $name = "oauth4webapi, $case->[3]";
    like $first->{request_uri} // $first->{error} // '', $URN, "$name: pushed, got a request_uri";
    like $first->{authorization_url} // '', qr{^\Q$ISS\E/oauth/authorize\?client_id=\Q$case->[0]\E&request_uri=},
         "$name: the authorization URL carries client_id and request_uri only";
    ok t_cmp($page->{status} // 0, 200, "$name: the approval page for the pushed request");
    ok $rc == 0 && $tok->{access_token} && lc($tok->{token_type} // '') eq 'bearer'
       && ($tok->{scope} // '') eq 'read',
       "$name: validated the redirect (state, iss) and redeemed the code with PKCE"
       or diag "exit $rc: " . ($tok->{error} // JSON::PP->new->encode($tok));
    ok introspect_at($tok->{access_token})->{active}, "$name: the token is active";
}
