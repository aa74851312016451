#!/usr/bin/env node
// t/clients/device.mjs — the device authorization grant (RFC 8628) with panva's
// oauth4webapi (pinned in package.json), an independent client, for t/39_device.t.
//
//   node t/clients/device.mjs ISSUER CLIENT_ID SCOPE
//
// Discovers the server (RFC 8414), asks for a device code, and prints one JSON line
// {"step":"authorized", user_code, ...}.  Then it polls at once until the server says
// slow_down (too fast on purpose) and prints
// {"step":"early", errors}; the .t approves the user code meanwhile.  Then the
// library's polling loop as its documentation writes it: wait `interval`, poll,
// slow_down adds 5 seconds, authorization_pending goes on; last line
// {"step":"done", token, errors, waits}.  The test certificate is self-signed:
// NODE_TLS_REJECT_UNAUTHORIZED=0 is set by the .t.
import * as oauth from 'oauth4webapi';

const [issuerArg, clientId, scope] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

async function poll(as, client, auth, deviceCode) {
    const res = await oauth.deviceCodeGrantRequest(as, client, auth, deviceCode);
    try {
        return { token: await oauth.processDeviceCodeResponse(as, client, res) };
    } catch (err) {
        if (err instanceof oauth.ResponseBodyError) {
            return { error: err.error };
        }
        throw err;
    }
}

async function main() {
    const issuer = new URL(issuerArg);
    const as = await oauth.processDiscoveryResponse(
        issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' }));
    const client = { client_id: clientId };
    const auth = oauth.None();
    const dres = await oauth.deviceAuthorizationRequest(as, client, auth, { scope });
    const d = await oauth.processDeviceAuthorizationResponse(as, client, dres);
    out({ step: 'authorized', user_code: d.user_code, verification_uri: d.verification_uri,
          verification_uri_complete: d.verification_uri_complete, interval: d.interval,
          expires_in: d.expires_in, endpoint: as.device_authorization_endpoint });

    // polls at once until the server says slow_down (the interval is counted in
    // whole seconds: a quick poll may fall into the next second and be in time)
    const errors = [];
    for (let i = 0; i < 4 && !errors.includes('slow_down'); i++) {
        const r = await poll(as, client, auth, d.device_code);
        errors.push(r.error || 'token');
    }
    out({ step: 'early', errors });

    // the documented loop (oauth4webapi examples/device_authorization_grant)
    let interval = d.interval ?? 5;
    if (errors.includes('slow_down')) {
        interval += 5;
    }
    const waits = [];
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
        waits.push(interval);
        await sleep(interval);
        const r = await poll(as, client, auth, d.device_code);
        if (r.token) {
            out({ step: 'done', token: r.token, errors, waits });
            return;
        }
        errors.push(r.error);
        if (r.error === 'slow_down') {
            interval += 5;
        } else if (r.error !== 'authorization_pending') {
            break;
        }
    }
    out({ step: 'done', token: null, errors, waits });
}

main().catch((e) => {
    out({ step: 'done', error: String(e && e.stack || e) });
    process.exit(1);
});
