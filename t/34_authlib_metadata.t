# A standard client discovers the server (RFC 8414): Debian's python3-authlib, run by
# t/client/authlib_metadata.py with /usr/bin/python3 (not the first python3 on PATH),
# finds the metadata document from the issuer, validates it with
# AuthorizationServerMetadata.validate(), finds every endpoint, and uses them: a
# client-credentials token from token_endpoint (OAuth2Session, client_secret_basic),
# a protected page with it, introspection_endpoint as rs, revocation_endpoint.
# TLS verified against the test server's certificate.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use FindBin ();
use JSON::PP ();
use OAS::Test;

my $PY = '/usr/bin/python3';

plan tests => 35, need_module('oauth_as'), need_module('ssl'),
    need({ "$PY with python3-authlib and python3-requests" =>
           -x $PY && system($PY, '-c', 'import authlib.oauth2.rfc8414, requests') == 0 });

# the 403 on /api/write: mod_authz_core logs its refusal at level error
expect_error_log(qr{AH01631: user m2m: authorization failure for "/api/write/});

my $ISS    = 'https://localhost:' . https_port();
my $CA     = Apache::Test::vars('t_conf') . '/oas-ssl/server.crt';
my $script = "$FindBin::Bin/client/authlib_metadata.py";

my $out = `timeout 120 $PY '$script' '$ISS' '$CA' 2>&1`;
my $rc  = $? >> 8;
my ($line) = grep { /^\{/ } split /\n/, $out // '';
my $r = eval { JSON::PP->new->decode($line // '') } || {};
ok($rc == 0 && !$r->{error}, 'authlib discovered the server and used every endpoint')
    or diag "exit $rc: " . ($r->{error} // '') . "\n" . ($r->{trace} // $out // '');

sub has { my ($a, $v) = @_; ref $a eq 'ARRAY' && grep { $_ eq $v } @$a }

# --- discovery -------------------------------------------------------------------------

ok t_cmp($r->{well_known_url}, "$ISS/.well-known/oauth-authorization-server",
         'get_well_known_url(issuer): the RFC 8414 location');
ok t_cmp($r->{metadata_status}, 200, 'the metadata document: 200');
ok t_cmp($r->{metadata_content_type}, qr{^application/json}, '... application/json');
ok t_cmp($r->{validate}, 'ok', 'AuthorizationServerMetadata.validate() accepts it');
ok t_cmp($r->{issuer}, $ISS, 'issuer');
ok t_cmp($r->{authorization_endpoint}, "$ISS/oauth/authorize", 'authorization_endpoint found');
ok t_cmp($r->{token_endpoint}, "$ISS/oauth/token", 'token_endpoint found');
ok t_cmp($r->{introspection_endpoint}, "$ISS/oauth/introspect", 'introspection_endpoint found');
ok t_cmp($r->{revocation_endpoint}, "$ISS/oauth/revoke", 'revocation_endpoint found');
ok has($r->{scopes_supported}, 'read') && has($r->{scopes_supported}, 'admin'), 'scopes_supported';
ok has($r->{response_types_supported}, 'code'), 'response_types_supported: code';
ok has($r->{grant_types_supported}, 'client_credentials'), 'grant_types_supported: client_credentials';
ok has($r->{token_endpoint_auth_methods_supported}, 'client_secret_basic'),
   'token_endpoint_auth_methods_supported: client_secret_basic';
ok has($r->{code_challenge_methods_supported}, 'S256'), 'code_challenge_methods_supported: S256';
ok has($r->{introspection_endpoint_auth_methods_supported}, 'client_secret_basic'),
   'introspection_endpoint_auth_methods_supported: client_secret_basic';
ok has($r->{revocation_endpoint_auth_methods_supported}, 'client_secret_basic'),
   'revocation_endpoint_auth_methods_supported: client_secret_basic';
ok JSON::PP::is_bool($r->{iss_parameter}) && $r->{iss_parameter},
   'authorization_response_iss_parameter_supported: true';

# --- the token endpoint, through OAuth2Session ------------------------------------------

ok t_cmp($r->{token_type}, qr/^bearer$/i, 'fetch_token (client_credentials): token_type Bearer');
ok t_cmp($r->{token_scope}, 'read', '... scope read, as asked');
ok t_cmp($r->{token_expires_in}, 3600, '... expires_in 3600');
ok $r->{has_access_token}, '... an access token';
ok !$r->{has_refresh_token}, '... and no refresh token (client credentials)';
ok t_cmp($r->{protected_status}, 200, 'the token on a protected page (/api/read, scope read): 200');
ok t_cmp($r->{protected_write_status}, 403, '... and on /api/write: 403');

# --- introspection and revocation --------------------------------------------------------

my $i = $r->{introspect} || {};
ok $i->{active} && JSON::PP::is_bool($i->{active}), 'introspect_token as rs: active';
ok t_cmp($i->{client_id}, 'm2m', '... client_id');
ok t_cmp($i->{sub}, 'm2m', '... sub');
ok t_cmp($i->{scope}, 'read', '... scope');
ok t_cmp($i->{token_type}, 'Bearer', '... token_type');
ok t_cmp($i->{iss}, $ISS, '... iss');
ok t_cmp($r->{revoke_status}, 200, 'revoke_token: 200');
ok t_cmp(JSON::PP->new->canonical->encode($r->{after_revoke} // {}), '{"active":false}',
         '... then the token introspects exactly {"active":false}');
ok t_cmp($r->{protected_after_revoke}, 401, '... and the protected page refuses it');
ok t_cmp($r->{wrong_secret}, 'invalid_client', 'a wrong secret: authlib reports invalid_client');
