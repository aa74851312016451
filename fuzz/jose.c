/* fuzz/jose.c — the compact JWS verifier of include/oas_jose.h (oas_jose_verify,
 * oas_jose_claims_unverified): the input is a token as a resource server or the
 * DPoP and private_key_jwt checks would receive it, verified against a JWK Set of
 * one key of each kind (EC P-256 of RFC 7515 A.3, RSA of RFC 7638 §3.1, Ed25519
 * of RFC 8037 A.2) and against each key alone.
 * Properties: only APR_SUCCESS or APR_EINVAL; a reason on every refusal; on
 * success a header with an accepted alg (ES256, RS256, EdDSA; never none or a
 * symmetric one) and claims that are an object. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "fuzz.h"
#include "oas_jose.h"

static json_t *keys;

static json_t *jwks(void)
{
    if (!keys) {
        keys = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]}",
            "keys",
            "kty", "EC", "crv", "P-256", "kid", "ec",
            "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "kty", "RSA", "kid", "rsa", "e", "AQAB", "n",
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuh"
            "DR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6"
            "Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
            "n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0L"
            "s1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "kty", "OKP", "crv", "Ed25519", "kid", "ed",
            "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    }
    return keys;
}

static void check(const char *jws, const json_t *k, apr_pool_t *p)
{
    json_t *h = NULL, *c = NULL;
    const char *err = NULL, *alg;
    apr_status_t rv = oas_jose_verify(&h, &c, jws, k, p, &err);

    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(err != NULL && h == NULL && c == NULL);
        return;
    }
    alg = json_string_value(json_object_get(h, "alg"));
    FUZZ_CHECK(alg && (!strcmp(alg, "ES256") || !strcmp(alg, "RS256") || !strcmp(alg, "EdDSA")));
    FUZZ_CHECK(json_is_object(c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *jws;
    json_t *c = NULL;
    size_t i;

    apr_pool_create(&p, fuzz_pool_root());
    jws = fuzz_cstr(p, data, size);
    check(jws, jwks(), p);
    for (i = 0; i < json_array_size(json_object_get(jwks(), "keys")); i++) {
        check(jws, json_array_get(json_object_get(jwks(), "keys"), i), p);
    }
    if (oas_jose_claims_unverified(&c, jws, p) == APR_SUCCESS) {
        FUZZ_CHECK(json_is_object(c));
    }
    else {
        FUZZ_CHECK(c == NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
