#!/usr/bin/env node
// t/clients/register.mjs — dynamic client registration (RFC 7591) with panva's
// oauth4webapi (pinned in package.json), an independent registrar, for t/47_register.t.
//
//   node t/clients/register.mjs ISSUER REDIRECT_URI
//
// Discovers the server (RFC 8414), registers a client_secret_basic client with the
// registration_endpoint of the metadata, and prints one JSON line: the registration
// answer plus registration_endpoint.  The test certificate is self-signed:
// NODE_TLS_REJECT_UNAUTHORIZED=0 is set by the .t.
import * as oauth from 'oauth4webapi';

const [issuerArg, redirectUri] = process.argv.slice(2);

async function main() {
    const issuer = new URL(issuerArg);
    const as = await oauth.processDiscoveryResponse(
        issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' }));
    const res = await oauth.dynamicClientRegistrationRequest(as, {
        redirect_uris: [redirectUri],
        client_name: 'oauth4webapi registrar',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
    });
    const client = await oauth.processDynamicClientRegistrationResponse(res);
    process.stdout.write(JSON.stringify({ ...client,
        registration_endpoint: as.registration_endpoint }) + '\n');
}

main().catch((err) => {
    process.stderr.write(`register.mjs: ${err && err.stack || err}\n`);
    process.exit(1);
});
