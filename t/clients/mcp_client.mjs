#!/usr/bin/env node
// t/clients/mcp_client.mjs — an MCP client for t/48_mcp.t, built on the Model Context
// Protocol TypeScript SDK (pinned in package.json): its Client, its streamable HTTP
// transport and its OAuth machinery (an OAuthClientProvider; the SDK's auth() runs the
// discovery, registration, PKCE and the code exchange).  Given nothing but the URL of
// an MCP server, it
//   1. meets the 401 and follows its resource_metadata (RFC 9728) to the authorization
//      server's metadata (RFC 8414),
//   2. registers itself (RFC 7591) as a public client with a loopback redirect URI
//      (RFC 8252: http://127.0.0.1:PORT/callback, served here),
//   3. sends the user to the authorization endpoint with PKCE S256 and `resource`
//      (RFC 8707) — headless, the "browser" is this script: it signs in with HTTP Basic
//      as USER:PASSWORD, reads the approval page's form and posts Approve, and follows
//      the redirect to its own callback, where the code arrives,
//   4. redeems the code, lists the tools and calls `add`.
//
//   node t/clients/mcp_client.mjs MCP_URL USER PASSWORD [CERT KEY]
//
// With CERT and KEY (PEM files), step 2 is a client metadata document instead
// (draft-ietf-oauth-client-id-metadata-document, the SDK's clientMetadataUrl): the
// script serves its document over HTTPS on loopback and uses its URL as client_id.
//
// Prints one JSON line: the tools, the tool's answer, the client id, the access token,
// and the authorization request's parameters.  The test server's certificate is
// self-signed: the .t trusts it with NODE_EXTRA_CA_CERTS.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [mcpUrl, user, password, certFile, keyFile] = process.argv.slice(2);

// The OAuth client's state, in memory (a real client would keep it on disk).
class HeadlessProvider {
    constructor(redirectUrl) {
        this._redirectUrl = redirectUrl;
        this._state = `st-${Math.random().toString(36).slice(2)}`;
        this.authorizationUrl = null;
    }
    get redirectUrl() { return this._redirectUrl; }
    get clientMetadataUrl() { return this._metadataUrl; }
    get clientMetadata() {
        return {
            client_name: this._metadataUrl ? 'MCP SDK test client (metadata document)'
                                           : 'MCP SDK test client',
            redirect_uris: [this._redirectUrl],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
        };
    }
    state() { return this._state; }
    clientInformation() { return this._client; }
    saveClientInformation(info) { this._client = info; }
    tokens() { return this._tokens; }
    saveTokens(tokens) { this._tokens = tokens; }
    redirectToAuthorization(url) { this.authorizationUrl = url; }
    saveCodeVerifier(v) { this._verifier = v; }
    codeVerifier() { return this._verifier; }
}

// The redirect URI: a loopback listener that takes one callback.
function callbackServer() {
    return new Promise((resolve) => {
        let deliver;
        const arrived = new Promise((r) => { deliver = r; });
        const srv = http.createServer((req, res) => {
            const u = new URL(req.url, 'http://127.0.0.1');
            if (u.pathname !== '/callback') { res.writeHead(404).end(); return; }
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end('You may close this window.');
            deliver(u.searchParams);
        });
        srv.listen(0, '127.0.0.1', () => resolve({ srv, arrived,
            url: `http://127.0.0.1:${srv.address().port}/callback` }));
    });
}

// The client metadata document, served over HTTPS on loopback: its URL is the client id.
function documentServer(provider) {
    return new Promise((resolve) => {
        const srv = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
            (req, res) => {
                if (req.url !== '/client.json') { res.writeHead(404).end(); return; }
                res.writeHead(200, { 'Content-Type': 'application/json' })
                   .end(JSON.stringify({ client_id: provider._metadataUrl,
                                         ...provider.clientMetadata }));
            });
        srv.listen(0, '127.0.0.1', () => {
            provider._metadataUrl = `https://localhost:${srv.address().port}/client.json`;
            resolve(srv);
        });
    });
}

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The user's part, headless: sign in, read the approval page, approve, follow the
// redirect to the callback.
async function approve(authorizationUrl) {
    const basic = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
    const page = await fetch(authorizationUrl, { headers: { Authorization: basic } });
    const html = await page.text();
    if (page.status !== 200) throw new Error(`approval page: HTTP ${page.status}: ${html}`);
    const form = /<form method="post"([^>]*)>([\s\S]*?)<\/form>/.exec(html);
    if (!form) throw new Error('no form on the approval page');
    const action = (/action="([^"]*)"/.exec(form[1]) || [])[1];
    const fields = new URLSearchParams();
    for (const m of form[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
        fields.append(unescapeHtml(m[1]), unescapeHtml(m[2]));
    }
    fields.append('decision', 'approve');
    const post = await fetch(new URL(action ? unescapeHtml(action) : authorizationUrl.pathname,
                                     authorizationUrl), {
        method: 'POST', redirect: 'manual', body: fields,
        headers: { Authorization: basic },
    });
    const location = post.headers.get('location');
    if (post.status !== 303 || !location) {
        throw new Error(`approve: HTTP ${post.status}: ${await post.text()}`);
    }
    await fetch(location);   // the browser goes to the redirect URI
    return { page: html };
}

async function main() {
    const cb = await callbackServer();
    const provider = new HeadlessProvider(cb.url);
    const docSrv = certFile ? await documentServer(provider) : null;
    const out = {};
    let transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    const client = new Client({ name: 'oas-mcp-test-client', version: '1.0.0' });
    try {
        await client.connect(transport);
        throw new Error('connected without authorization');
    } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
    }
    if (!provider.authorizationUrl) throw new Error('no authorization URL');
    out.authorization_params = Object.fromEntries(provider.authorizationUrl.searchParams);
    out.approval_page_client = /registered itself/.test((await approve(provider.authorizationUrl)).page);
    const params = await cb.arrived;
    cb.srv.close();
    if (params.get('state') !== provider.state()) throw new Error('state mismatch');
    if (!params.get('code')) throw new Error(`no code: ${params}`);
    await transport.finishAuth(params.get('code'));

    transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    await client.connect(transport);
    out.tools = (await client.listTools()).tools.map((t) => t.name);
    const r = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    out.result = r.content.map((c) => c.text).join('');
    out.client_id = provider.clientInformation().client_id;
    out.access_token = provider.tokens().access_token;
    out.token_scope = provider.tokens().scope;
    await client.close();
    if (docSrv) docSrv.close();
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
    process.stderr.write(`mcp_client.mjs: ${err && err.stack || err}\n`);
    process.exit(1);
});
