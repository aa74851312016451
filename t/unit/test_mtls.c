/* test_mtls.c — oas_mtls (RFC 8705): certificate thumbprints, subject DNs
 * and their comparison, x5c matching, the two client authentication checks,
 * and the x5t#S256 of a token record and its cnf. The certificates were made
 * with openssl (t/lib/OAS/TestMTLS.pm); their thumbprints computed with
 *   openssl x509 -outform DER | openssl dgst -sha256 -binary | base64url */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "oas_mtls.h"
#include "oas_token.h"

/* CN=mtls-client,O=OAS Test, issued by a test CA */
static const char CLIENT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBqzCCAVGgAwIBAgIUEWV2ohTb8XQzAiD1QKV3u0OoH+swCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQT0FTIFRlc3QgbVRMUyBDQTAeFw0yNjEyMDMxNDIxNTdaFw0z\n"
    "NjExMzAxNDIxNTdaMCkxETAPBgNVBAoMCE9BUyBUZXN0MRQwEgYDVQQDDAttdGxz\n"
    "LWNsaWVudDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI/LtRCdQ3cJ8Q2EbmNF\n"
    "0PwSMsYoBoCfwfCnZbgqFgRPLWB1AI+AV4uqrPSSLpgMYUWTsAzBFrJc5BNxA3NC\n"
    "h5ejZTBjMAwGA1UdEwEB/wQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0O\n"
    "BBYEFIeyDRNa8hTxRicZcNojCPdwzqOpMB8GA1UdIwQYMBaAFJenZJJNRz4htpsc\n"
    "nSEcCJUv4VsnMAoGCCqGSM49BAMCA0gAMEUCIQD2JCGME0gKiutdHh6c97mmTZll\n"
    "ER4kue9/5zm497q8xQIgHVF92wKnahH/8lVrMsPVi11d3O7SL+h3nfIqkfthkM8=\n"
    "-----END CERTIFICATE-----\n";
#define CLIENT_X5T "bQWSKBKaT-0hAmsU98Vjevh65m9UdrV7gXcKVIIGxms"

/* self-signed, CN=ss-client */
static const char SS_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnDCCAUKgAwIBAgIUM8D+Wby73dQqnjSM23Rrx6/ZhacwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJc3MtY2xpZW50MB4XDTI2MTIwMzE0MjE1N1oXDTM2MTEzMDE0\n"
    "MjE1N1owFDESMBAGA1UEAwwJc3MtY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
    "AQcDQgAEAaRxCA3vS8XU2xKzuxq9pOwEdgHEX96cTTlSI3ng7H+U69F2B1R6gi3r\n"
    "5ctA2vojvDtRuZ0z87XcNMI9bh++nKNyMHAwHQYDVR0OBBYEFJdPJf1Io48Xanwv\n"
    "YxXI3iFFxoNfMB8GA1UdIwQYMBaAFJdPJf1Io48XanwvYxXI3iFFxoNfMAwGA1Ud\n"
    "EwEB/wQCMAAwCwYDVR0PBAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMAoGCCqG\n"
    "SM49BAMCA0gAMEUCIQDEigzROV8AsqF6FwGfKUPhVBRVCXdl4kWcJiwvXZ71SAIg\n"
    "Z1S9Yo/C4zfKrjgbw4vtmWrHa+ewCdlTWA52C5bhZis=\n"
    "-----END CERTIFICATE-----\n";
#define SS_X5T "l6ibRqPdL_uN49rbNv8YABM1wuux1xjHjX0ybtI8b-g"
#define SS_B64 "MIIBnDCCAUKgAwIBAgIUM8D+Wby73dQqnjSM23Rrx6/ZhacwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJc3MtY2xpZW50MB4XDTI2MTIwMzE0MjE1N1oXDTM2MTEzMDE0MjE1N1owFDESMBAGA1UEAwwJc3MtY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAaRxCA3vS8XU2xKzuxq9pOwEdgHEX96cTTlSI3ng7H+U69F2B1R6gi3r5ctA2vojvDtRuZ0z87XcNMI9bh++nKNyMHAwHQYDVR0OBBYEFJdPJf1Io48XanwvYxXI3iFFxoNfMB8GA1UdIwQYMBaAFJdPJf1Io48XanwvYxXI3iFFxoNfMAwGA1UdEwEB/wQCMAAwCwYDVR0PBAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMAoGCCqGSM49BAMCA0gAMEUCIQDEigzROV8AsqF6FwGfKUPhVBRVCXdl4kWcJiwvXZ71SAIgZ1S9Yo/C4zfKrjgbw4vtmWrHa+ewCdlTWA52C5bhZis="
#define CLIENT_B64 "MIIBqzCCAVGgAwIBAgIUEWV2ohTb8XQzAiD1QKV3u0OoH+swCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQT0FTIFRlc3QgbVRMUyBDQTAeFw0yNjEyMDMxNDIxNTdaFw0zNjExMzAxNDIxNTdaMCkxETAPBgNVBAoMCE9BUyBUZXN0MRQwEgYDVQQDDAttdGxzLWNsaWVudDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI/LtRCdQ3cJ8Q2EbmNF0PwSMsYoBoCfwfCnZbgqFgRPLWB1AI+AV4uqrPSSLpgMYUWTsAzBFrJc5BNxA3NCh5ejZTBjMAwGA1UdEwEB/wQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFIeyDRNa8hTxRicZcNojCPdwzqOpMB8GA1UdIwQYMBaAFJenZJJNRz4htpscnSEcCJUv4VsnMAoGCCqGSM49BAMCA0gAMEUCIQD2JCGME0gKiutdHh6c97mmTZllER4kue9/5zm497q8xQIgHVF92wKnahH/8lVrMsPVi11d3O7SL+h3nfIqkfthkM8="

static apr_pool_t *p;

static void setup(void)
{
    apr_pool_create(&p, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(p);
}

START_TEST(thumbprint_and_dn)
{
    ck_assert_str_eq(oas_mtls_x5t(CLIENT_PEM, p), CLIENT_X5T);
    ck_assert_str_eq(oas_mtls_x5t(SS_PEM, p), SS_X5T);
    ck_assert_ptr_null(oas_mtls_x5t(NULL, p));
    ck_assert_ptr_null(oas_mtls_x5t("", p));
    ck_assert_ptr_null(oas_mtls_x5t("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", p));
    ck_assert_str_eq(oas_mtls_subject_dn(CLIENT_PEM, p), "CN=mtls-client,O=OAS Test");
    ck_assert_str_eq(oas_mtls_subject_dn(SS_PEM, p), "CN=ss-client");
    ck_assert_ptr_null(oas_mtls_subject_dn("junk", p));
}
END_TEST

START_TEST(dn_comparison)
{
    ck_assert(oas_mtls_dn_equal("CN=mtls-client,O=OAS Test", "cn=mtls-client, o=OAS Test"));
    ck_assert(oas_mtls_dn_equal("CN=a,O=b", " CN = a , O = b "));
    ck_assert(oas_mtls_dn_equal("CN=a+UID=1,O=b", "CN=a + UID=1,O=b"));
    ck_assert(!oas_mtls_dn_equal("CN=a,O=b", "O=b,CN=a"));           /* order counts */
    ck_assert(!oas_mtls_dn_equal("CN=a,O=b", "CN=a,O=b,C=DE"));
    ck_assert(!oas_mtls_dn_equal("CN=a b,O=c", "CN=ab,O=c"));         /* inner spaces count */
    ck_assert(!oas_mtls_dn_equal("CN=a\\,O=b", "CN=a,O=b"));          /* an escaped comma */
    ck_assert(oas_mtls_dn_equal("CN=a\\ ,O=b", "CN=a\\ ,O=b"));
    ck_assert(!oas_mtls_dn_equal("CN=a\\ ,O=b", "CN=a,O=b"));         /* an escaped space */
    ck_assert(!oas_mtls_dn_equal(NULL, "CN=a"));
    ck_assert(!oas_mtls_dn_equal("CN=a", NULL));
}
END_TEST

START_TEST(x5c)
{
    json_t *jwks = json_pack("{s:[{s:s,s:[s]}]}", "keys", "kty", "EC", "x5c", SS_B64);
    json_t *bad = json_pack("[s]", "bm90IGEgY2VydA==");

    ck_assert_int_eq(oas_mtls_x5c_match(jwks, SS_PEM, p), 1);
    ck_assert_int_eq(oas_mtls_x5c_match(jwks, CLIENT_PEM, p), 0);
    ck_assert_int_eq(oas_mtls_x5c_match(jwks, NULL, p), 0);
    ck_assert_ptr_null(oas_mtls_x5c_problem(json_object_get(json_array_get(
        json_object_get(jwks, "keys"), 0), "x5c"), p));
    ck_assert_ptr_nonnull(oas_mtls_x5c_problem(bad, p));
    ck_assert_ptr_nonnull(oas_mtls_x5c_problem(NULL, p));
    json_decref(bad);
    bad = json_pack("[s]", "%%");
    ck_assert_ptr_nonnull(oas_mtls_x5c_problem(bad, p));
    json_decref(bad);
    json_decref(jwks);
}
END_TEST

START_TEST(client_checks)
{
    json_t *jwks = json_pack("{s:[{s:s,s:[s]}]}", "keys", "kty", "EC", "x5c", SS_B64);
    oas_client_t dn, ss;
    oas_http_req_t req;

    memset(&dn, 0, sizeof(dn));
    memset(&ss, 0, sizeof(ss));
    memset(&req, 0, sizeof(req));
    dn.client_id = "mtls-dn";
    dn.auth_method = OAS_AUTH_TLS_CLIENT_AUTH;
    dn.tls_subject_dn = "CN=mtls-client, O=OAS Test";
    ss.client_id = "mtls-ss";
    ss.auth_method = OAS_AUTH_SELF_SIGNED_TLS;
    ss.jwks = jwks;

    ck_assert_ptr_nonnull(oas_mtls_client_problem(&dn, &req, p));    /* no certificate */
    req.client_cert = CLIENT_PEM;
    ck_assert_ptr_nonnull(oas_mtls_client_problem(&dn, &req, p));    /* mod_ssl did not verify */
    req.client_cert_verified = 1;
    ck_assert_ptr_null(oas_mtls_client_problem(&dn, &req, p));
    dn.tls_subject_dn = "CN=mtls-client,O=Other";
    ck_assert_ptr_nonnull(oas_mtls_client_problem(&dn, &req, p));    /* another DN */
    ck_assert_ptr_nonnull(oas_mtls_client_problem(&ss, &req, p));    /* not in x5c */
    req.client_cert = SS_PEM;
    req.client_cert_verified = 0;
    ck_assert_ptr_null(oas_mtls_client_problem(&ss, &req, p));
    json_decref(jwks);
}
END_TEST

START_TEST(record_and_cnf)
{
    oas_token_t t, back;
    oas_entry_t e;
    json_t *cnf;
    char *s;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_ACCESS;
    t.client_id = "mtls-dn";
    t.refreshes = -1;
    t.x5t = CLIENT_X5T;
    ck_assert_int_eq(oas_token_encode(&e, &t, p), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, p), APR_SUCCESS);
    ck_assert_str_eq(back.x5t, CLIENT_X5T);
    ck_assert_ptr_null(back.jkt);
    ck_assert_int_eq(back.refreshes, -1);
    cnf = oas_token_cnf(&back);
    s = json_dumps(cnf, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(s, "{\"x5t#S256\":\"" CLIENT_X5T "\"}");
    free(s);
    json_decref(cnf);

    t.jkt = "jkt-value";
    t.refreshes = 3;
    ck_assert_int_eq(oas_token_encode(&e, &t, p), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, p), APR_SUCCESS);
    ck_assert_str_eq(back.x5t, CLIENT_X5T);
    ck_assert_str_eq(back.jkt, "jkt-value");
    ck_assert_int_eq(back.refreshes, 3);

    t.x5t = NULL;      /* a record without it (as before the field existed) */
    ck_assert_int_eq(oas_token_encode(&e, &t, p), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, p), APR_SUCCESS);
    ck_assert_ptr_null(back.x5t);
    ck_assert_str_eq(back.jkt, "jkt-value");
}
END_TEST

static Suite *mtls_suite(void)
{
    Suite *s = suite_create("mtls");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, thumbprint_and_dn);
    tcase_add_test(tc, dn_comparison);
    tcase_add_test(tc, x5c);
    tcase_add_test(tc, client_checks);
    tcase_add_test(tc, record_and_cnf);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(mtls_suite)
