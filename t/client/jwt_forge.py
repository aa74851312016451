#!/usr/bin/python3
"""A forged JWT access token (t/33_jwt_remote.t): the claims and header of a real token,
signed with a fresh EC P-256 key that no JWK Set publishes, under the real token's kid.
A verifier that trusts our JWK Set must refuse it.

stdin: the real token (compact JWS); stdout: the forged one.
"""
import sys

import jwt
from cryptography.hazmat.primitives.asymmetric import ec


def main():
    token = sys.stdin.read().strip()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    key = ec.generate_private_key(ec.SECP256R1())
    print(jwt.encode(claims, key, algorithm="ES256",
                     headers={"kid": header.get("kid"), "typ": header.get("typ")}))


main()
