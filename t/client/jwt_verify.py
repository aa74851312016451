#!/usr/bin/python3
"""An independent check of a JWT access token (t/35_jwt.t): Debian's python3-jwt
(PyJWT) verifies the signature against a JWK Set and the registered claims.

stdin: {"jwks": {...}, "token": "...", "issuer": "...", "audience": "..."}
stdout: {"ok": true, "header": {...}, "claims": {...}} or {"ok": false, "error": "..."}
"""
import json
import sys

import jwt


def main():
    req = json.load(sys.stdin)
    try:
        header = jwt.get_unverified_header(req["token"])
        jwks = [k for k in req["jwks"]["keys"] if k.get("kid") == header.get("kid")]
        if not jwks:
            raise ValueError("no key in the JWKS has kid %r" % header.get("kid"))
        key = jwt.PyJWK(jwks[0])          # the JWK's own alg: the only one accepted
        claims = jwt.decode(req["token"], key.key, algorithms=[jwks[0]["alg"]],
                            issuer=req["issuer"], audience=req["audience"],
                            options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]})
        print(json.dumps({"ok": True, "header": header, "claims": claims}))
    except Exception as e:  # every refusal is an answer, not a crash
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))


main()
