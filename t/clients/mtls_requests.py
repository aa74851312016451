#!/usr/bin/python3
"""t/49_mtls.t: an independent mTLS client (RFC 8705) with Python requests.
Usage: mtls_requests.py ISSUER CERT KEY SERVER_CERT -- gets a token by tls_client_auth
(client mtls-dn) and calls the resource with the certificate-bound token."""
import sys
import requests

iss, crt, key, srv = sys.argv[1:5]
r = requests.post(iss + "/oauth/token", cert=(crt, key), verify=srv,
                  data={"grant_type": "client_credentials", "client_id": "mtls-dn"})
j = r.json()
print("token", r.status_code, j.get("token_type"))
res = requests.get(iss + "/rs/valid/ok.txt", cert=(crt, key), verify=srv,
                   headers={"Authorization": "Bearer " + j.get("access_token", "")})
print("resource", res.status_code, "ok" if res.status_code == 200 else res.text[:200])
