#!/usr/bin/env node
// t/clients/mcp_server.mjs — a tiny MCP tool server for t/48_mcp.t, in the style of the
// Model Context Protocol TypeScript SDK's examples (pinned in package.json): the
// streamable HTTP transport in stateless mode (a server and a transport per request),
// one tool `add`.  It listens on a Unix socket (or a loopback port) and knows nothing
// of OAuth: httpd in front of it (t/conf/mcp.conf.in) lets only requests with a valid
// token through, and passes the user and client in X-Remote-User / X-OAuth-Client-Id,
// which the tool's answer repeats so the test sees who called it.
//
//   node t/clients/mcp_server.mjs SOCKET_PATH|PORT
//
// Prints "listening" on stdout once it accepts connections.
import http from 'node:http';
import fs from 'node:fs';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const [where] = process.argv.slice(2);

function makeServer(req) {
    const server = new McpServer({ name: 'oas-test-tools', version: '1.0.0' });
    server.registerTool('add', {
        description: 'Adds two numbers',
        inputSchema: { a: z.number(), b: z.number() },
    }, async ({ a, b }) => ({
        content: [{ type: 'text', text: `${a + b} for ${req.headers['x-remote-user'] || '-'}`
                                     + ` via ${req.headers['x-oauth-client-id'] || '-'}` }],
    }));
    return server;
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        let size = 0;
        const parts = [];
        req.on('data', (c) => {
            size += c.length;
            if (size > 1 << 20) { reject(new Error('body too large')); req.destroy(); return; }
            parts.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
        req.on('error', reject);
    });
}

const httpServer = http.createServer(async (req, res) => {
    try {
        if (!req.url.startsWith('/mcp')) { res.writeHead(404).end(); return; }
        if (req.method !== 'POST') {   // stateless: no GET stream, no DELETE of a session
            res.writeHead(405, { Allow: 'POST' }).end();
            return;
        }
        const raw = await readBody(req);
        const server = makeServer(req);
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => { transport.close(); server.close(); });
        await server.connect(transport);
        await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
    } catch (err) {
        process.stderr.write(`mcp_server.mjs: ${err && err.stack || err}\n`);
        if (!res.headersSent) res.writeHead(500).end();
    }
});

if (/^\d+$/.test(where)) {
    httpServer.listen(Number(where), '127.0.0.1', () => process.stdout.write('listening\n'));
} else {
    try { fs.unlinkSync(where); } catch { /* not there */ }
    httpServer.listen(where, () => process.stdout.write('listening\n'));
}
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => { httpServer.close(); process.exit(0); });
}
