// par_flow.mjs — an independent client (panva's oauth4webapi, pinned in package.json)
// doing the authorization code flow with PKCE through a pushed authorization request
// (RFC 9126), for t/37_par.t.
//
//   node par_flow.mjs ISSUER CLIENT_ID REDIRECT_URI [CLIENT_SECRET]
//
// 1. discovery at ISSUER (RFC 8414), 2. the push to the metadata's
// pushed_authorization_request_endpoint (HTTP Basic with CLIENT_SECRET, else a public
// client), 3. prints one JSON line {"authorization_url", "request_uri", "expires_in"}
// and reads one line from stdin: the URL the user's browser was redirected to (the
// test drives the approval page with plain HTTP), 4. validates it (state, iss) and
// redeems the code with the PKCE verifier, 5. prints one JSON line with the token
// answer.  Any failure: one JSON line {"error": "..."} and exit 1.
// TLS: the test server's certificate is self-signed; the test sets
// NODE_TLS_REJECT_UNAUTHORIZED=0 for this process.
import * as oauth from 'oauth4webapi';
import { createInterface } from 'node:readline';

const [issuerUrl, clientId, redirectUri, secret] = process.argv.slice(2);

function out(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function readLine() {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  throw new Error('no callback URL on stdin');
}

async function main() {
  const issuer = new URL(issuerUrl);
  const as = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' }));
  if (!as.pushed_authorization_request_endpoint) {
    throw new Error('the metadata has no pushed_authorization_request_endpoint');
  }
  const client = { client_id: clientId };
  const auth = secret ? oauth.ClientSecretBasic(secret) : oauth.None();
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  const params = new URLSearchParams({
    response_type: 'code', redirect_uri: redirectUri, scope: 'read', state,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  const par = await oauth.processPushedAuthorizationResponse(
    as, client, await oauth.pushedAuthorizationRequest(as, client, auth, params));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request_uri', par.request_uri);
  out({ authorization_url: url.href, request_uri: par.request_uri, expires_in: par.expires_in });

  const callback = oauth.validateAuthResponse(as, client, new URL(await readLine()), state);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, callback, redirectUri, verifier));
  out({ access_token: tokens.access_token, token_type: tokens.token_type,
        scope: tokens.scope, expires_in: tokens.expires_in,
        refresh_token: tokens.refresh_token ?? null });
}

main().catch((e) => {
  out({ error: `${e.name}: ${e.message}${e.cause ? ' (' + JSON.stringify(e.cause) + ')' : ''}` });
  process.exit(1);
});
