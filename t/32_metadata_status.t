# Authorization server metadata (RFC 8414, SPEC section 6) at
# /.well-known/oauth-authorization-server: the issuer, every endpoint's absolute URL as
# mapped in t/conf/extra.conf.in, the supported values; the endpoints it names work.
# The status document (oauth-as-status, /oauth/status) and mod_status' server-status:
# store figures per tier and kind, capacity, tokens issued per grant, errors per code,
# purges, and that they move; no token, code or secret ever appears in either.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use LWP::UserAgent ();
use MIME::Base64 ();
use OAS::Test;
use OAS::TokenTest;
use OAS::RSTest;

plan tests => 90, need_module('oauth_as'), need_module('ssl'), need_module('status');

my $ORIGIN = 'https://localhost:' . https_port();
my $WK     = '/.well-known/oauth-authorization-server';

sub no_store { (($_[0]{headers}->header('Cache-Control') // '') =~ /\bno-store\b/) ? 1 : 0 }

sub has_all {     # has_all($array, @values): every value is in the JSON array
    my ($a, @v) = @_;
    return 0 unless ref $a eq 'ARRAY';
    my %in = map { $_ => 1 } grep { !ref } @$a;
    return !grep { !$in{$_} } @v;
}

sub fmt { ref $_[0] eq 'ARRAY' ? '[' . join(', ', @{ $_[0] }) . ']' : $_[0] // 'undef' }

# === metadata ==================================================================================

my $r = get($WK);
ok t_cmp($r->{status}, 200, 'metadata: 200 over HTTPS');
ok t_cmp($r->{headers}->header('Content-Type'), qr{^application/json\b}, 'metadata: application/json');
ok no_store($r), 'metadata: Cache-Control: no-store';
my $m = $r->{json} || {};
ok t_cmp(ref $m, 'HASH', 'metadata: a JSON object');

ok t_cmp($m->{issuer}, $ORIGIN, 'issuer: OAuthASIssuer (https://localhost:PORT)');
my $mapped = 1;
$mapped &&= t_cmp($m->{authorization_endpoint}, "$ORIGIN/oauth/authorize", 'authorization_endpoint');
ok $mapped;
for (['token_endpoint', 'token'], ['introspection_endpoint', 'introspect'],
     ['revocation_endpoint', 'revoke']) {
    my $ok = t_cmp($m->{$_->[0]}, "$ORIGIN/oauth/$_->[1]", $_->[0]);
    ok $ok;
    $mapped &&= $ok;
}
unless ($mapped) {      # say why: SPEC section 1, each endpoint is mapped once
    my @maps;
    for my $f (sort glob(Apache::Test::vars('t_conf') . '/*.conf')) {
        open my $fh, '<', $f or next;
        my $loc;
        while (<$fh>) {
            $loc = $1 if /^\s*<Location\s+"?([^">\s]+)/i;
            push @maps, "$1 at $loc in $f" if $loc && /^\s*SetHandler\s+(oauth-as-\S+)/i;
        }
    }
    diag "the configuration maps (the first of a handler is what the metadata names):\n  "
        . join("\n  ", @maps);
}
ok has_all($m->{scopes_supported}, qw(read write admin)),
   'scopes_supported has read write admin: ' . fmt($m->{scopes_supported});
ok !grep({ !/^[\x21\x23-\x5b\x5d-\x7e]+$/ } @{ $m->{scopes_supported} || [] }),
   'scopes_supported: scope tokens only';
ok has_all($m->{response_types_supported}, qw(code token)),
   'response_types_supported: code and token: ' . fmt($m->{response_types_supported});
ok has_all($m->{grant_types_supported},
           qw(authorization_code implicit client_credentials password refresh_token)),
   'grant_types_supported: all five: ' . fmt($m->{grant_types_supported});
ok has_all($m->{token_endpoint_auth_methods_supported}, 'client_secret_basic'),
   'token_endpoint_auth_methods_supported: client_secret_basic: '
   . fmt($m->{token_endpoint_auth_methods_supported});
ok has_all($m->{token_endpoint_auth_methods_supported}, qw(client_secret_post private_key_jwt)),
   '... and client_secret_post and private_key_jwt (for clients registered with them)';
ok has_all($m->{code_challenge_methods_supported}, qw(S256 plain)),
   'code_challenge_methods_supported: S256 and plain: ' . fmt($m->{code_challenge_methods_supported});
ok JSON::PP::is_bool($m->{authorization_response_iss_parameter_supported})
   && $m->{authorization_response_iss_parameter_supported},
   'authorization_response_iss_parameter_supported: true (a JSON boolean)';
ok !(grep { /_endpoint$/ && ($m->{$_} // '') !~ m{^https://[^/?#]+/[^?#]*$} } keys %$m),
   'every *_endpoint is an absolute https URL without query or fragment';

# the endpoints it names are the ones that answer
my $ua = ua();
my $tok = $ua->post($m->{token_endpoint} // 'https://invalid./',
                    { grant_type => 'client_credentials' },
                    Authorization => 'Basic ' . MIME::Base64::encode_base64('m2m:m2m-secret', ''));
ok t_cmp($tok->code, 200, 'the token_endpoint of the metadata issues a token');
my $at = eval { JSON::PP->new->decode($tok->content)->{access_token} } // '';
my $in = $ua->post($m->{introspection_endpoint} // 'https://invalid./', { token => $at },
                   Authorization => 'Basic ' . MIME::Base64::encode_base64('rs:rs-secret', ''));
ok t_cmp($in->content, qr/"active":\s*true/, 'the introspection_endpoint of the metadata finds it');
my $rv = $ua->post($m->{revocation_endpoint} // 'https://invalid./', { token => $at },
                   Authorization => 'Basic ' . MIME::Base64::encode_base64('m2m:m2m-secret', ''));
ok t_cmp($rv->code, 200, 'the revocation_endpoint of the metadata revokes it');
ok t_cmp(introspect_raw($at)->{body}, '{"active":false}', '... it is gone');
# (only where it is the expected Location: another one may be a deliberately broken
# mapping of another test, whose 500 would be an unexpected error-log line here)
if (($m->{authorization_endpoint} // '') eq "$ORIGIN/oauth/authorize") {
    my $az = $ua->get("$m->{authorization_endpoint}?response_type=code&client_id=webapp");
    ok t_cmp($az->code, 401, 'the authorization_endpoint of the metadata asks the user to sign in');
}
else {
    fail('the authorization_endpoint of the metadata is not the one of extra.conf.in');
}

# the issuer never comes from the request
$r = raw_request("GET $WK HTTP/1.1\r\nHost: localhost:1\r\nConnection: close\r\n\r\n");
ok t_cmp($r->{json} && $r->{json}{issuer}, $ORIGIN, 'another Host header: the same issuer');
ok t_cmp($r->{json} && $r->{json}{token_endpoint}, "$ORIGIN/oauth/token", '... the same endpoints');

# transport
$r = request('HEAD', $WK);
ok t_cmp($r->{status}, 200, 'HEAD: 200');
$r = post_form($WK, { a => 1 });
ok t_cmp($r->{status}, 405, 'POST: 405');
ok t_cmp($r->{headers}->header('Allow'), qr/\bGET\b/, '... Allow names GET');
$r = get($WK, scheme => 'http');
ok t_cmp($r->{status}, 400, 'plain HTTP: 400');
ok t_cmp($r->{json} && $r->{json}{error}, 'invalid_request', '... invalid_request');
ok no_store($r), '... Cache-Control: no-store';

# === status =====================================================================================

sub status_json {
    my $res = get('/oauth/status');
    diag("status: HTTP $res->{status}: $res->{body}") unless $res->{status} == 200;
    return $res->{json} || {};
}

sub auto_lines {      # /server-status?auto -> {OAuthASName => value}
    my $res = get('/server-status?auto', scheme => 'http');
    my %v;
    for (split /\n/, $res->{body} // '') { $v{$1} = $2 if /^(OAuthAS\w+):\s*(\S+)/ }
    return \%v;
}

sub num { defined $_[0] && !ref $_[0] && $_[0] =~ /^\d+$/ }

$r = get('/oauth/status');
ok t_cmp($r->{status}, 200, 'status: 200 over HTTPS from loopback');
ok t_cmp($r->{headers}->header('Content-Type'), qr{^application/json\b}, 'status: application/json');
ok no_store($r), 'status: Cache-Control: no-store';
my $s = $r->{json} || {};
ok t_cmp($s->{issuer}, $ORIGIN, 'status: issuer');
ok t_cmp($s->{store_type}, qr/\S/, 'status: store_type (' . ($s->{store_type} // 'undef') . ')');
my $st = $s->{store} || {};
my $mem = $st->{memory_entries} || {};
ok((num($mem->{code}) && num($mem->{access_token}) && num($mem->{refresh_token})),
   'status: memory entries per kind (code, access_token, refresh_token): '
   . join(', ', map { "$_=$mem->{$_}" } sort keys %$mem));
ok t_cmp($st->{memory_capacity}, 1000, 'status: memory capacity (OAuthASStoreMemory 1000)');
ok t_cmp($st->{disk_capacity}, 20000, 'status: disk capacity (OAuthASStoreDisk 20000)');
ok num($st->{disk_entries}), "status: disk entries (" . ($st->{disk_entries} // 'undef') . ")";
ok num($st->{purged}) && num($st->{full}), 'status: purged and full counts';
my $c = $s->{counters} || {};
ok has_all([keys %{ $c->{tokens_issued} || {} }],
           qw(authorization_code implicit client_credentials password refresh_token)),
   'status: tokens issued per grant';
ok has_all([keys %{ $c->{errors} || {} }],
           qw(invalid_request invalid_client invalid_grant unauthorized_client
              unsupported_grant_type invalid_scope)),
   'status: errors per code';
ok !(grep { !num($_) } values %{ $c->{errors} || {} }), 'status: every error count a number';
ok num($c->{purge_runs}), "status: purge runs (" . ($c->{purge_runs} // 'undef') . ")";
ok num($c->{introspections}) && num($c->{revocations}), 'status: introspections, revocations';
ok num($c->{bearer_accepted}) && num($c->{bearer_refused}), 'status: bearer checks';

# --- the figures move ---------------------------------------------------------------------------

my @secret_strings;      # tokens issued below: none may appear in status or server-status
my $before = status_json();
my $acc_before = $before->{store}{memory_entries}{access_token} + $before->{store}{disk_entries};
my $cc1 = token_of(cc_token('m2m'));
my $cc2 = token_of(cc_token('m2m', scope => 'read'));
my $pw = password_token('webapp', 'alice', 'wonderland');
push @secret_strings, $cc1, $cc2, $pw->{json}{access_token}, $pw->{json}{refresh_token};
my $code = get_code();
push @secret_strings, $code if $code;
my $after = status_json();
my $d = sub { my ($k) = @_; $after->{counters}{tokens_issued}{$k} - $before->{counters}{tokens_issued}{$k} };
ok t_cmp($d->('client_credentials'), 2, 'tokens_issued.client_credentials grew by 2');
ok t_cmp($d->('password'), 1, 'tokens_issued.password grew by 1');
ok t_cmp($d->('refresh_token'), 0, 'tokens_issued.refresh_token did not move');
ok t_cmp($after->{counters}{codes_issued} - $before->{counters}{codes_issued}, 1, 'codes_issued grew by 1');
my $purged_delta = $after->{store}{purged} - $before->{store}{purged};
my $acc_after = $after->{store}{memory_entries}{access_token} + $after->{store}{disk_entries};
ok $acc_after + $purged_delta >= $acc_before + 3,
   "store: at least 3 more entries ($acc_before -> $acc_after, $purged_delta purged)";
ok $after->{store}{memory_entries}{refresh_token} + $purged_delta
   >= $before->{store}{memory_entries}{refresh_token} + 1, 'store: a refresh token more';
ok $after->{store}{memory_entries}{code} + $purged_delta >= $before->{store}{memory_entries}{code} + 1,
   'store: a code more';

$before = $after;
token_req({ grant_type => 'client_credentials' }, auth => ['m2m', 'wrong-secret']);
password_token('webapp', 'alice', 'wrong-password');
password_token('webapp', 'alice', 'wrong-password');
token_req({ grant_type => 'urn:nothing' }, client => 'm2m');
token_req({ grant_type => 'client_credentials', scope => 'nosuchscope' }, client => 'm2m');
$after = status_json();
my $e = sub { my ($k) = @_; ($after->{counters}{errors}{$k} // 0) - ($before->{counters}{errors}{$k} // 0) };
ok t_cmp($e->('invalid_client'), 1, 'errors.invalid_client grew by 1');
ok t_cmp($e->('invalid_grant'), 2, 'errors.invalid_grant grew by 2');
ok t_cmp($e->('unsupported_grant_type'), 1, 'errors.unsupported_grant_type grew by 1');
ok t_cmp($e->('invalid_scope'), 1, 'errors.invalid_scope grew by 1');
ok t_cmp($e->('invalid_request'), 0, 'errors.invalid_request did not move');
ok t_cmp($after->{counters}{tokens_issued}{client_credentials},
         $before->{counters}{tokens_issued}{client_credentials}, 'failed requests issued nothing');

$before = $after;
introspect_raw($cc2);
revoke('m2m', $cc2);
bearer('/rs/valid/ok.txt', $cc1);
bearer('/rs/valid/ok.txt', $cc2);             # revoked: refused
$after = status_json();
my $k = sub { my ($n) = @_; $after->{counters}{$n} - $before->{counters}{$n} };
ok t_cmp($k->('introspections'), 1, 'introspections grew by 1');
ok t_cmp($k->('revocations'), 1, 'revocations grew by 1');
ok t_cmp($k->('bearer_accepted'), 1, 'bearer_accepted grew by 1');
ok t_cmp($k->('bearer_refused'), 1, 'bearer_refused grew by 1');

# --- purges: an expired token, a graceful restart (the purge runs soon after start) ----------

# (the figures before are taken while the token is live: a periodic purge that runs
# before the restart counts as well)
my $short = token_of(cc_token('shortlived'));
push @secret_strings, $short;
$before = status_json();
sleep 2.5;
ok graceful_restart(), 'graceful restart';
my $end = time + 20;
do { sleep 0.5; $after = status_json() }
    while time < $end && ($after->{counters}{purge_runs} <= $before->{counters}{purge_runs}
                          || $after->{store}{purged} <= $before->{store}{purged});
ok $after->{counters}{purge_runs} > $before->{counters}{purge_runs},
   "purge_runs grew ($before->{counters}{purge_runs} -> $after->{counters}{purge_runs})";
ok $after->{store}{purged} > $before->{store}{purged},
   "store.purged grew: expired entries were dropped ($before->{store}{purged} -> $after->{store}{purged})";
ok t_cmp($after->{counters}{tokens_issued}{client_credentials},
         $before->{counters}{tokens_issued}{client_credentials},
         'the counters survive a graceful restart');

# --- server-status ----------------------------------------------------------------------------

my $auto = auto_lines();
my $js = status_json();
ok scalar(keys %$auto) >= 20, 'server-status?auto: ' . scalar(keys %$auto) . ' OAuthAS lines';
ok t_cmp($auto->{OAuthASMemoryCapacity}, 1000, 'OAuthASMemoryCapacity');
ok t_cmp($auto->{OAuthASDiskCapacity}, 20000, 'OAuthASDiskCapacity');
ok t_cmp($auto->{OAuthASMemoryAccessTokens}, $js->{store}{memory_entries}{access_token},
         'OAuthASMemoryAccessTokens = the status document\'s');
ok t_cmp($auto->{OAuthASMemoryRefreshTokens}, $js->{store}{memory_entries}{refresh_token},
         'OAuthASMemoryRefreshTokens');
ok t_cmp($auto->{OAuthASMemoryCodes}, $js->{store}{memory_entries}{code}, 'OAuthASMemoryCodes');
ok t_cmp($auto->{OAuthASDiskEntries}, $js->{store}{disk_entries}, 'OAuthASDiskEntries');
ok t_cmp($auto->{OAuthASPurged}, $js->{store}{purged}, 'OAuthASPurged');
ok t_cmp($auto->{OAuthASIssuedClientCredentials}, $js->{counters}{tokens_issued}{client_credentials},
         'OAuthASIssuedClientCredentials');
ok t_cmp($auto->{OAuthASIssuedPassword}, $js->{counters}{tokens_issued}{password},
         'OAuthASIssuedPassword');
ok t_cmp($auto->{OAuthASIssuedAuthorizationCode}, $js->{counters}{tokens_issued}{authorization_code},
         'OAuthASIssuedAuthorizationCode');
ok t_cmp($auto->{OAuthASError_invalid_client}, $js->{counters}{errors}{invalid_client},
         'OAuthASError_invalid_client');
ok t_cmp($auto->{OAuthASError_invalid_grant}, $js->{counters}{errors}{invalid_grant},
         'OAuthASError_invalid_grant');
ok t_cmp($auto->{OAuthASIntrospections}, $js->{counters}{introspections}, 'OAuthASIntrospections');
ok t_cmp($auto->{OAuthASBearerAccepted}, $js->{counters}{bearer_accepted}, 'OAuthASBearerAccepted');
my $html = get('/server-status', scheme => 'http');
ok t_cmp($html->{body}, qr{<h2>OAuth authorization server[^<]*</h2>.*<td>MemoryCapacity</td><td>1000</td>}s,
         'server-status (HTML): the module\'s table');

# --- no token, code or secret anywhere ---------------------------------------------------------

my @registry = @{ JSON::PP->new->decode(do { local (@ARGV, $/) = (registry_path()); <> })->{clients} };
push @secret_strings, map { (secret_of($_->{client_id}), $_->{secret} // ()) } @registry;
push @secret_strings, qw(wonderland builder);
my $csrf = do { local (@ARGV, $/) = (Apache::Test::vars('t_conf') . '/csrf.key'); <> };
$csrf =~ s/\s+\z//;
push @secret_strings, $csrf, substr($csrf, 0, 16);
my %docs = (
    'status JSON'         => get('/oauth/status')->{body},
    'server-status?auto'  => get('/server-status?auto', scheme => 'http')->{body},
    'server-status HTML'  => get('/server-status', scheme => 'http')->{body},
    'metadata'            => get($WK)->{body},
);
for my $name (sort keys %docs) {
    my @found = grep { length($_) >= 6 && index($docs{$name}, $_) >= 0 } @secret_strings;
    ok !@found, "$name: none of " . scalar(@secret_strings) . ' tokens, codes, secrets, hashes'
        or diag "found: @found";
}

# --- transport ---------------------------------------------------------------------------------

$r = post_form('/oauth/status', { a => 1 });
ok t_cmp($r->{status}, 405, 'status: POST: 405');
$r = get('/oauth/status', scheme => 'http');
ok t_cmp($r->{status}, 400, 'status: plain HTTP: 400 (OAuthASRequireHTTPS)');
