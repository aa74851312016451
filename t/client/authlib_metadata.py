#!/usr/bin/python3
"""t/client/authlib_metadata.py — a standard client discovers mod_oauth_as (RFC 8414).

    /usr/bin/python3 t/client/authlib_metadata.py ISSUER CAFILE

Debian's python3-authlib finds the metadata document from the issuer alone
(authlib.oauth2.rfc8414.get_well_known_url), checks it with
AuthorizationServerMetadata.validate(), and then uses nothing but the endpoints it
names: OAuth2Session gets a client-credentials token for m2m (client_secret_basic)
from token_endpoint, calls a protected page with it, has the resource server rs
introspect it at introspection_endpoint, revokes it at revocation_endpoint and
introspects again; a wrong secret must give authlib an invalid_client error.
TLS is verified against CAFILE (the test server's self-signed certificate).

Prints one JSON object (never a token or a secret) that t/34_authlib_metadata.t
judges; exit 0 when every step ran.
"""
import json
import sys
import traceback
import urllib.parse

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

ENDPOINTS = ("authorization_endpoint", "token_endpoint", "introspection_endpoint",
             "revocation_endpoint")


def session(client_id, secret, cafile, **kw):
    s = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic",
                      revocation_endpoint_auth_method="client_secret_basic",
                      **kw)
    s.verify = cafile
    s.trust_env = False          # no proxy from the environment: loopback only
    return s


def main(issuer, cafile):
    out = {}
    url = get_well_known_url(issuer, external=True)
    out["well_known_url"] = url
    plain = requests.Session()
    plain.verify = cafile
    plain.trust_env = False
    resp = plain.get(url, timeout=30)
    out["metadata_status"] = resp.status_code
    out["metadata_content_type"] = resp.headers.get("Content-Type", "")
    meta = AuthorizationServerMetadata(resp.json())
    try:
        meta.validate()
        out["validate"] = "ok"
    except ValueError as e:
        out["validate"] = "error: %s" % e
    out["issuer"] = meta.issuer
    for name in ENDPOINTS:
        out[name] = getattr(meta, name)
    for name in ("scopes_supported", "response_types_supported", "grant_types_supported",
                 "token_endpoint_auth_methods_supported", "code_challenge_methods_supported",
                 "introspection_endpoint_auth_methods_supported",
                 "revocation_endpoint_auth_methods_supported"):
        out[name] = getattr(meta, name)
    out["iss_parameter"] = meta.get("authorization_response_iss_parameter_supported")

    # the token endpoint of the metadata, with authlib's own client
    m2m = session("m2m", "m2m-secret", cafile, scope="read")
    token = m2m.fetch_token(meta.token_endpoint, grant_type="client_credentials")
    out["token_type"] = token.get("token_type")
    out["token_scope"] = token.get("scope")
    out["token_expires_in"] = token.get("expires_in")
    out["has_access_token"] = bool(token.get("access_token"))
    out["has_refresh_token"] = "refresh_token" in token
    access = token["access_token"]

    # a protected page of the same server, the token put in by authlib (Bearer header)
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(issuer))
    out["protected_status"] = m2m.get(origin + "/api/read/x.txt", timeout=30).status_code
    out["protected_write_status"] = m2m.get(origin + "/api/write/y.txt",
                                            timeout=30).status_code

    # introspection as the resource server rs, at the endpoint of the metadata
    rs = session("rs", "rs-secret", cafile)
    info = rs.introspect_token(meta.introspection_endpoint, token=access).json()
    out["introspect"] = {k: info.get(k) for k in ("active", "client_id", "sub", "scope",
                                                  "token_type", "iss")}

    # revocation, then introspection again
    r = m2m.revoke_token(meta.revocation_endpoint, token=access,
                         token_type_hint="access_token")
    out["revoke_status"] = r.status_code
    out["after_revoke"] = rs.introspect_token(meta.introspection_endpoint,
                                              token=access).json()
    out["protected_after_revoke"] = m2m.get(origin + "/api/read/x.txt",
                                            timeout=30).status_code

    # a wrong secret: authlib raises the server's OAuth error
    try:
        session("m2m", "wrong-secret", cafile).fetch_token(
            meta.token_endpoint, grant_type="client_credentials")
        out["wrong_secret"] = "no error"
    except OAuthError as e:
        out["wrong_secret"] = e.error
    return out


if __name__ == "__main__":
    try:
        result = main(sys.argv[1], sys.argv[2])
        print(json.dumps(result, sort_keys=True))
        sys.exit(0)
    except Exception as e:  # report, the .t says what went wrong
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e),
                          "trace": traceback.format_exc()}))
        sys.exit(1)
