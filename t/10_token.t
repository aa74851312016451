# The token endpoint (SPEC §5) over HTTPS against the real server: the three grants
# client_credentials, password and refresh_token, client authentication with bcrypt,
# {SHA} and $apr1$ hashes, every error of §5 with its status, JSON code and headers,
# the HTTPS and POST rules, and OAuthASRequirePost Off in a virtual host of its own
# (<VirtualHost oas_getok> in t/conf/token.conf.in) that inherits everything else.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use OAS::Test;
use OAS::TokenTest;

plan tests => 105, need_module('oauth_as'), need_module('ssl');

my @tokens;            # every access and refresh token seen: all distinct, 43 chars

sub good_token {
    my ($r, $name, %want) = @_;
    my $j = $r->{json} || {};
    my @why;
    push @why, "status $r->{status}" unless $r->{status} == 200;
    push @why, "Cache-Control" unless ($r->{headers}->header('Cache-Control') // '') =~ /no-store/;
    push @why, "Content-Type" unless ($r->{headers}->header('Content-Type') // '') =~ m{^application/json};
    push @why, "token_type" unless ($j->{token_type} // '') eq 'Bearer';
    push @why, "no access_token" unless defined $j->{access_token};
    push @why, "scope '" . ($j->{scope} // '') . "' want '$want{scope}'"
        if exists $want{scope} && ($j->{scope} // '') ne $want{scope};
    if (exists $want{refresh}) {
        push @why, $want{refresh} ? "no refresh_token" : "a refresh_token"
            if !!$want{refresh} != !!defined $j->{refresh_token};
    }
    if (exists $want{expires_in}) {
        push @why, "expires_in " . ($j->{expires_in} // 'absent')
            unless defined $want{expires_in}
                 ? defined $j->{expires_in} && abs($j->{expires_in} - $want{expires_in}) <= 2
                 : !exists $j->{expires_in};
    }
    push @tokens, grep { defined } $j->{access_token}, $j->{refresh_token};
    my $ok = ok(!@why, $name);
    diag(join('; ', @why) . "\n$r->{body}") unless $ok;
    return $j;
}

# --- client_credentials ------------------------------------------------------------------

my $r = cc_token('m2m');
my $j = good_token($r, 'client_credentials, bcrypt client: 200',
                   scope => 'read write admin', refresh => 0, expires_in => 3600);
ok t_cmp($r->{headers}->header('Pragma'), 'no-cache', 'Pragma: no-cache');
my $i = introspect($j->{access_token});
ok t_cmp($i->{active}, JSON::PP::true(), 'the token introspects active');
ok t_cmp($i->{client_id}, 'm2m', 'introspect: client_id');
ok t_cmp($i->{sub}, 'm2m', 'introspect: sub is the client for client_credentials');
ok !exists $i->{username}, 'introspect: no username for client_credentials';
ok t_cmp($i->{scope}, 'read write admin', 'introspect: scope omitted = all client scopes');

$r = cc_token('m2m', scope => 'read');
$j = good_token($r, 'client_credentials, narrowed scope', scope => 'read', refresh => 0);
ok t_cmp(introspect($j->{access_token})->{scope}, 'read', 'narrowed scope introspects');

$r = cc_token('m2m', scope => 'write admin');
good_token($r, 'client_credentials, two of three scopes', scope => 'write admin');

$r = cc_token('sha');
good_token($r, 'client_credentials, {SHA} client', scope => 'read', refresh => 0);
$r = cc_token('md5');
good_token($r, 'client_credentials, $apr1$ client', scope => 'read', refresh => 0);

# client_id in the body is ignored for client_credentials (Basic decides)
$r = token_req([grant_type => 'client_credentials', client_id => 'sha'], client => 'm2m');
$j = good_token($r, 'client_credentials: client_id parameter ignored', scope => 'read write admin');
ok t_cmp(introspect($j->{access_token})->{client_id}, 'm2m', '... the token belongs to the Basic client');

$r = cc_token('forever');
$j = good_token($r, 'client that never expires: 200 without expires_in', expires_in => undef);
$i = introspect($j->{access_token});
ok $i->{active} && !exists $i->{exp}, 'forever token introspects active without exp';

$r = cc_token('shortlived');
good_token($r, 'access_token_lifetime 2: expires_in 2', expires_in => 2);

# --- password ----------------------------------------------------------------------------

$r = password_token('webapp', 'alice', 'wonderland');
my $pw = good_token($r, 'password grant, alice: 200 with a refresh token (refresh_limit 2)',
                    scope => 'read write', refresh => 1, expires_in => 3600);
$i = introspect($pw->{access_token});
ok $i->{active} && ($i->{username} // '') eq 'alice' && ($i->{sub} // '') eq 'alice'
   && ($i->{client_id} // '') eq 'webapp', 'password token: username/sub alice, client webapp'
    or diag explain $i;

$r = password_token('webapp', 'bob', 'builder', scope => 'read');
good_token($r, 'password grant, bob, narrowed scope', scope => 'read', refresh => 1);

is_oauth_error(password_token('webapp', 'alice', 'wrong'), 400, 'invalid_grant',
               'password grant: wrong password -> invalid_grant');
is_oauth_error(password_token('webapp', 'mallory', 'wonderland'), 400, 'invalid_grant',
               'password grant: unknown user -> invalid_grant');
is_oauth_error(password_token('webapp', 'alice', ''), 400, 'invalid_request',
               'password grant: empty password -> invalid_request');
is_oauth_error(token_req([grant_type => 'password', username => 'alice'], client => 'webapp'),
               400, 'invalid_request', 'password grant: no password -> invalid_request');
is_oauth_error(token_req([grant_type => 'password', password => 'wonderland'], client => 'webapp'),
               400, 'invalid_request', 'password grant: no username -> invalid_request');
is_oauth_error(password_token('webapp', 'alice', 'wonderland', scope => 'admin'), 400,
               'invalid_scope', 'password grant: scope not allowed to the client -> invalid_scope');
is_oauth_error(password_token('shortlived', 'alice', 'wonderland', scope => 'write'), 400,
               'invalid_scope', 'password grant: scope write not allowed to shortlived');

# --- refresh_token: rotation, refresh_limit, replay ----------------------------------------

my $r1 = $pw->{refresh_token};
$r = refresh('webapp', $r1);
my $f2 = good_token($r, 'refresh 1: 200 with a new refresh token', scope => 'read write',
                    refresh => 1);
ok $f2->{refresh_token} && $f2->{refresh_token} ne $r1, 'the refresh token rotated';
ok introspect($f2->{access_token})->{active}, 'refreshed access token is active';
ok introspect($pw->{access_token})->{active}, 'the first access token stays active';
$i = introspect($f2->{access_token});
ok t_cmp($i->{username}, 'alice', 'refreshed token keeps the resource owner');

$r = refresh('webapp', $f2->{refresh_token});
my $f3 = good_token($r, 'refresh 2 (limit 2): 200 without a refresh token', refresh => 0,
                    scope => 'read write');
ok introspect($f3->{access_token})->{active}, 'the newest access token is active';

# the first refresh token again: refused, and the whole family goes
is_oauth_error(refresh('webapp', $r1), 400, 'invalid_grant',
               'a used refresh token is refused (rotation)');
is_deeply introspect($f3->{access_token}), { active => JSON::PP::false() },
          'replay revoked the family: newest access token -> {"active":false}';
ok !introspect($f2->{access_token})->{active}, '... and the one before';
ok !introspect($pw->{access_token})->{active}, '... and the first one';
is_oauth_error(refresh('webapp', $f2->{refresh_token}), 400, 'invalid_grant',
               'the second refresh token is refused too');

# scope narrowing and widening
$r = password_token('webapp', 'alice', 'wonderland');
my $n0 = good_token($r, 'password grant for the scope tests', refresh => 1);
$r = refresh('webapp', $n0->{refresh_token}, scope => 'read');
my $n1 = good_token($r, 'refresh with scope=read narrows', scope => 'read', refresh => 1);
ok t_cmp(introspect($n1->{access_token})->{scope}, 'read', 'narrowed token introspects as read');
is_oauth_error(refresh('webapp', $n1->{refresh_token}, scope => 'read write'), 400,
               'invalid_scope', 'refresh may not widen back to read write');
is_oauth_error(refresh('webapp', $n1->{refresh_token}, scope => 'admin'), 400,
               'invalid_scope', 'refresh may not add a scope the client lacks');
$r = refresh('webapp', $n1->{refresh_token});
my $n2 = good_token($r, 'a refused widening did not use up the refresh token; no scope keeps '
                        . 'the narrowed one', scope => 'read', refresh => 0);

# refresh token of another client, unknown, missing
$r = password_token('webapp', 'bob', 'builder');
my $b0 = good_token($r, 'password grant, bob', refresh => 1);
is_oauth_error(refresh('shortlived', $b0->{refresh_token}), 400, 'invalid_grant',
               'a refresh token of another client -> invalid_grant');
$r = refresh('webapp', $b0->{refresh_token});
good_token($r, '... and it still works for its own client', refresh => 1);
is_oauth_error(refresh('webapp', 'A' x 43), 400, 'invalid_grant',
               'unknown refresh token -> invalid_grant');
is_oauth_error(token_req([grant_type => 'refresh_token'], client => 'webapp'), 400,
               'invalid_request', 'refresh_token missing -> invalid_request');
is_oauth_error(refresh('webapp', $pw->{access_token}), 400, 'invalid_grant',
               'an access token is no refresh token');

# refresh_limit -1 (shortlived): a refresh token every time
$r = password_token('shortlived', 'bob', 'builder');
my $s = good_token($r, 'shortlived (refresh_limit -1): password grant', refresh => 1,
                   expires_in => 2);
for my $n (1 .. 3) {
    $r = refresh('shortlived', $s->{refresh_token});
    $s = good_token($r, "unlimited refresh $n: new refresh token", refresh => 1);
}

# --- invalid_client ---------------------------------------------------------------------

my $cc = [grant_type => 'client_credentials'];
is_oauth_error(post_form('/oauth/token', $cc), 401, 'invalid_client',
               'no client authentication -> 401 invalid_client');
is_oauth_error(token_req($cc, auth => ['m2m', 'wrong-secret']), 401, 'invalid_client',
               'wrong secret -> 401');
is_oauth_error(token_req($cc, auth => ['m2m', '']), 401, 'invalid_client', 'empty secret -> 401');
is_oauth_error(token_req($cc, auth => ['sha', 'md5-secret']), 401, 'invalid_client',
               '{SHA} client with a wrong secret -> 401');
is_oauth_error(token_req($cc, auth => ['md5', 'wrong']), 401, 'invalid_client',
               '$apr1$ client with a wrong secret -> 401');
is_oauth_error(token_req($cc, auth => ['nosuch', 'nosuch-secret']), 401, 'invalid_client',
               'unknown client -> 401');
is_oauth_error(token_req($cc, client => 'disabled'), 401, 'invalid_client',
               'disabled client with its right secret -> 401');
is_oauth_error(post_form('/oauth/token', [@$cc, client_id => 'm2m', client_secret => 'm2m-secret']),
               401, 'invalid_client', 'secret in the body instead of Basic -> 401');
is_oauth_error(token_req([@$cc, client_secret => 'm2m-secret'], client => 'm2m'), 401,
               'invalid_client', 'secret in the body even with valid Basic -> 401');
is_oauth_error(post_form('/oauth/token', $cc, headers => [Authorization => 'Basic !!!notbase64']),
               401, 'invalid_client', 'malformed Basic -> 401');
is_oauth_error(post_form('/oauth/token', $cc,
                         headers => [Authorization => 'Basic ' . MIME::Base64::encode_base64('m2m', '')]),
               401, 'invalid_client', 'Basic without a colon -> 401');
is_oauth_error(post_form('/oauth/token', $cc, headers => [Authorization => 'Bearer abc']),
               401, 'invalid_client', 'Bearer instead of Basic -> 401');
is_oauth_error(token_req([grant_type => 'client_credentials', client_id => 'spa']), 401,
               'invalid_client', 'public client on client_credentials (client_id only) -> 401');
is_oauth_error(token_req([grant_type => 'password', username => 'alice', password => 'wonderland',
                          client_id => 'webapp']), 401, 'invalid_client',
               'confidential client by client_id only -> 401');
# a secret with a '+' is form-urlencoded inside Basic (RFC 6749 §2.3.1): m2m-secret
# sent as m2m%2Dsecret decodes to the same secret
$r = token_req($cc, auth => ['m2m', 'm2m%2Dsecret']);
good_token($r, 'Basic credentials are form-urldecoded (RFC 6749 §2.3.1)');

# --- unauthorized_client, unsupported_grant_type, invalid_scope, invalid_request ------------

is_oauth_error(password_token('m2m', 'alice', 'wonderland'), 400, 'unauthorized_client',
               'm2m may not use the password grant -> unauthorized_client');
is_oauth_error(cc_token('webapp'), 400, 'unauthorized_client',
               'webapp may not use client_credentials -> unauthorized_client');
is_oauth_error(token_req([grant_type => 'implicit'], client => 'webapp'), 400,
               'unsupported_grant_type', 'grant_type=implicit -> unsupported_grant_type');
is_oauth_error(token_req([grant_type => 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
                         client => 'm2m'), 400, 'unsupported_grant_type',
               'unknown grant type -> unsupported_grant_type');
is_oauth_error(token_req([grant_type => 'CLIENT_CREDENTIALS'], client => 'm2m'), 400,
               'unsupported_grant_type', 'grant types are case-sensitive');
is_oauth_error(cc_token('m2m', scope => 'nosuch'), 400, 'invalid_scope',
               'undefined scope -> invalid_scope');
is_oauth_error(cc_token('sha', scope => 'write'), 400, 'invalid_scope',
               'defined scope the client may not have -> invalid_scope');
is_oauth_error(cc_token('m2m', scope => 'read nosuch'), 400, 'invalid_scope',
               'one bad scope among good ones -> invalid_scope');
is_oauth_error(token_req([scope => 'read'], client => 'm2m'), 400, 'invalid_request',
               'grant_type missing -> invalid_request');
is_oauth_error(token_req([grant_type => ''], client => 'm2m'), 400, 'invalid_request',
               'grant_type empty -> invalid_request');
is_oauth_error(token_req([grant_type => 'authorization_code'], client => 'webapp'), 400,
               'invalid_request', 'authorization_code without code -> invalid_request');
is_oauth_error(token_req([grant_type => 'authorization_code', code => 'x' x 43,
                          redirect_uri => 'https://app.example/cb'], client => 'webapp'),
               400, 'invalid_grant', 'unknown code -> invalid_grant');

# --- the HTTPS rule, the POST rule ------------------------------------------------------

$r = cc_token('m2m', scheme => 'http');
is_oauth_error($r, 400, 'invalid_request', 'plain HTTP -> 400 invalid_request');
ok !defined(($r->{json} || {})->{access_token}), '... and no token';
$r = get('/oauth/token?grant_type=client_credentials', auth => ['m2m', 'm2m-secret']);
is_oauth_error($r, 405, 'invalid_request', 'GET -> 405');
ok t_cmp($r->{headers}->header('Allow'), 'POST', 'Allow: POST');
$r = request('PUT', '/oauth/token', form => $cc, auth => ['m2m', 'm2m-secret']);
is_oauth_error($r, 405, 'invalid_request', 'PUT -> 405');
ok t_cmp($r->{headers}->header('Allow'), 'POST', 'Allow: POST on PUT');
$r = request('DELETE', '/oauth/token', auth => ['m2m', 'm2m-secret']);
ok t_cmp($r->{status}, 405, 'DELETE -> 405');

# --- <VirtualHost oas_getok>: OAuthASRequirePost Off -----------------------------------

my $gp = Apache::Test::vars('oas_getok_port');
ok $gp, "oas_getok vhost on port " . ($gp // '?');
$r = get('/oauth/token?grant_type=client_credentials&scope=read', port => $gp,
         auth => ['m2m', 'm2m-secret']);
$j = good_token($r, 'RequirePost Off: GET with query parameters -> 200', scope => 'read',
                refresh => 0);
$i = introspect($j->{access_token});
ok $i->{active} && $i->{client_id} eq 'm2m',
   'the token from the vhost introspects active on the main HTTPS vhost (one store)';
$r = get('/oauth/token?grant_type=client_credentials', port => $gp, auth => ['m2m', 'm2m-secret']);
good_token($r, 'vhost inherits the main server\'s scopes and registry: all m2m scopes',
           scope => 'read write admin');
$r = get('/oauth/token?grant_type=password&username=alice&password=wonderland', port => $gp,
         auth => ['webapp', 'webapp-secret']);
good_token($r, 'vhost inherits the Location\'s OAuthASPasswordProvider: password grant by GET',
           refresh => 1);
$r = cc_token('m2m', port => $gp, scope => 'admin');
good_token($r, 'POST still works on the vhost', scope => 'admin');
is_oauth_error(get('/oauth/token?grant_type=client_credentials', port => $gp,
                   auth => ['m2m', 'bad']), 401, 'invalid_client',
               'vhost: wrong secret -> 401');
is_oauth_error(get('/oauth/token?grant_type=client_credentials&scope=nosuch', port => $gp,
                   auth => ['m2m', 'm2m-secret']), 400, 'invalid_scope',
               'vhost: undefined scope -> invalid_scope');
is_oauth_error(get('/oauth/token?grant_type=client_credentials', port => $gp,
                   auth => ['disabled', 'disabled-secret']), 401, 'invalid_client',
               'vhost: disabled client -> 401');
is_oauth_error(get('/oauth/token?grant_type=client_credentials&grant_type=client_credentials',
                   port => $gp, auth => ['m2m', 'm2m-secret']), 400, 'invalid_request',
               'vhost: a query parameter twice -> invalid_request');
$r = request('PUT', '/oauth/token', port => $gp, form => $cc, auth => ['m2m', 'm2m-secret']);
is_oauth_error($r, 405, 'invalid_request', 'vhost: PUT -> 405');
ok t_cmp($r->{headers}->header('Allow'), qr/^GET, POST$/, 'vhost: Allow: GET, POST');
is_oauth_error(get('/oauth/introspect?token=x', port => $gp, auth => ['rs', 'rs-secret']),
               405, 'invalid_request',
               'vhost: RequirePost Off is for the token endpoint only: GET introspect -> 405');

# --- the tokens themselves ----------------------------------------------------------------

my @bad = grep { !/^[A-Za-z0-9_-]{43}$/ } @tokens;
ok !@bad, scalar(@tokens) . ' tokens, each 43 base64url characters' or diag "bad: @bad";
my %seen;
my @dup = grep { $seen{$_}++ } @tokens;
ok !@dup, 'all tokens differ' or diag "duplicates: @dup";
ok @tokens >= 35, 'enough tokens seen to mean something';
