#!/usr/bin/env node
// t/clients/dpop.mjs — DPoP (RFC 9449), private_key_jwt (RFC 7523) and
// client_secret_post with panva's oauth4webapi (pinned in package.json), an
// independent client, for t/45_dpop.t.
//
//   node t/clients/dpop.mjs ISSUER NONCE_ISSUER RESOURCE_URL PKJ_JWK_FILE
//
// Prints one JSON line: what each step got.  The test certificate is self-signed:
// NODE_TLS_REJECT_UNAUTHORIZED=0 is set by the .t.
import * as oauth from 'oauth4webapi';
import { readFileSync } from 'node:fs';

const [issuerArg, nonceIssuerArg, resourceArg, pkjFile] = process.argv.slice(2);
const result = {};

async function discover(iss) {
    const issuer = new URL(iss);
    return oauth.processDiscoveryResponse(
        issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' }));
}

// client_credentials with a DPoP proof; one retry on use_dpop_nonce (the
// handle keeps the DPoP-Nonce the server sent)
async function dpopToken(as, client, auth, dpop) {
    const req = () => oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' },
                                                           { DPoP: dpop });
    try {
        return await oauth.processClientCredentialsResponse(as, client, await req());
    } catch (err) {
        if (!oauth.isDPoPNonceError(err)) {
            throw err;
        }
        result.nonce_retry = true;
        return oauth.processClientCredentialsResponse(as, client, await req());
    }
}

async function resource(token, dpop) {
    const res = await oauth.protectedResourceRequest(token, 'GET', new URL(resourceArg),
                                                     undefined, undefined, { DPoP: dpop });
    return res.status;
}

async function main() {
    const as = await discover(issuerArg);
    const keys = await oauth.generateKeyPair('ES256');
    const m2m = { client_id: 'm2m' };
    const dpop = oauth.DPoP(m2m, keys);
    const t1 = await dpopToken(as, m2m, oauth.ClientSecretBasic('m2m-secret'), dpop);
    result.basic_dpop = { token_type: t1.token_type, resource: await resource(t1.access_token, dpop) };

    const jwk = JSON.parse(readFileSync(pkjFile, 'utf8'));
    const pk = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' },
                                             false, ['sign']);
    const pkj = { client_id: 'pkj' };
    const dpop2 = oauth.DPoP(pkj, await oauth.generateKeyPair('EdDSA'));
    const t2 = await dpopToken(as, pkj, oauth.PrivateKeyJwt(pk), dpop2);
    result.private_key_jwt_dpop = { token_type: t2.token_type,
                                    resource: await resource(t2.access_token, dpop2) };

    const post = { client_id: 'post' };
    const t3 = await oauth.processClientCredentialsResponse(as, post, await
        oauth.clientCredentialsGrantRequest(as, post, oauth.ClientSecretPost('m2m-secret'),
                                            { scope: 'read' }));
    result.client_secret_post = { token_type: t3.token_type };

    const asn = await discover(nonceIssuerArg);
    const dpop3 = oauth.DPoP(m2m, keys);
    const t4 = await dpopToken(asn, m2m, oauth.ClientSecretBasic('m2m-secret'), dpop3);
    result.nonce = { token_type: t4.token_type, retried: !!result.nonce_retry };
}

main().then(() => process.stdout.write(JSON.stringify(result) + '\n'))
      .catch((err) => {
          result.error = `${err.name}: ${err.message} ${err.error || ''} ${err.cause ? JSON.stringify(err.cause) : ''}`;
          process.stdout.write(JSON.stringify(result) + '\n');
          process.exitCode = 1;
      });
