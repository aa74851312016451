#!/usr/bin/env node
// t/browser/flow.js — the authorization endpoint in a real browser, for t/21_browser.t.
//
//   node t/browser/flow.js AS_ORIGIN CALLBACK_PORT SCREENSHOT.png STATE_PREFIX
//
// Debian's Chromium (/usr/bin/chromium), headless, driven by playwright-core; no
// network but loopback.  The resource owner logs in with Basic auth (alice), as
// httpd asks at /oauth/authorize.  The registered redirect URIs of the shared
// registry (https://app.example/cb, https://spa.example/cb) are mapped by
// --host-rules to 127.0.0.1:CALLBACK_PORT, the test httpd's vhost oas_browser, which
// serves t/htdocs/cb.html there: the browser really follows the redirect and lands
// on a page that shows what arrived.
//
// Scenarios: approve with the mouse (code), deny, approve with the keyboard only,
// the implicit grant (token in the fragment), and framing (the page must refuse).
// Prints one JSON object on stdout: { scenario: {...facts...}, ... }; the .t judges
// the facts and redeems the codes.  Exit 0 when the browser part ran, 1 otherwise.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [asOrigin, cbPort, shotPath, statePrefix] = process.argv.slice(2);
if (!asOrigin || !cbPort || !shotPath) {
    console.error('usage: flow.js AS_ORIGIN CALLBACK_PORT SCREENSHOT.png [STATE_PREFIX]');
    process.exit(2);
}
const prefix = statePrefix || 'br';
const TIMEOUT = 20000;

function authorizeUrl(params) {
    return asOrigin + '/oauth/authorize?' + new URLSearchParams(params).toString();
}

async function callbackFacts(page) {
    await page.waitForURL(/^https:\/\/(app|spa)\.example\/cb/, { timeout: TIMEOUT });
    await page.waitForFunction(
        () => document.getElementById('status') &&
              document.getElementById('status').textContent === 'loaded',
        null, { timeout: TIMEOUT });
    const out = { url: page.url(), title: await page.title() };
    for (const k of ['code', 'state', 'iss', 'error', 'error_description', 'access_token']) {
        out[k] = await page.locator('#' + k).textContent();
    }
    return out;
}

// What a person (or a screen reader) finds on the approval page.
async function pageFacts(page, response) {
    const h = response ? await response.allHeaders() : {};
    const approve = page.getByRole('button', { name: 'Approve' });
    const deny = page.getByRole('button', { name: 'Deny' });
    return {
        status: response ? response.status() : null,
        url: page.url(),
        title: await page.title(),
        lang: await page.evaluate(() => document.documentElement.lang),
        h1: await page.getByRole('heading', { level: 1 }).allTextContents(),
        text: await page.locator('main').innerText(),
        listItems: await page.getByRole('listitem').allTextContents(),
        approveButtons: await approve.count(),
        denyButtons: await deny.count(),
        approveValue: await approve.first().getAttribute('value'),
        denyValue: await deny.first().getAttribute('value'),
        forms: await page.locator('form').count(),
        formMethod: await page.locator('form').first().getAttribute('method'),
        visibleInputs: await page.locator('input:not([type=hidden])').count(),
        focused: await page.evaluate(() => {
            const e = document.activeElement;
            return e ? { tag: e.tagName, name: e.getAttribute('name'), value: e.getAttribute('value') } : null;
        }),
        aria: await page.locator('body').ariaSnapshot(),
        xfo: h['x-frame-options'] || null,
        csp: h['content-security-policy'] || null,
        // readable without CSS: the same words with every style sheet switched off
        textWithoutCss: await page.evaluate(() => {
            for (const s of document.styleSheets) { s.disabled = true; }
            const t = document.querySelector('main').innerText;
            for (const s of document.styleSheets) { s.disabled = false; }
            return t;
        }),
    };
}

async function main() {
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oas-chromium-'));
    const port = Number(cbPort);
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        ignoreHTTPSErrors: true,
        httpCredentials: { username: 'alice', password: 'wonderland', origin: asOrigin },
        viewport: { width: 900, height: 700 },
        timeout: 60000,
        args: [
            '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--ignore-certificate-errors',
            `--host-rules=MAP app.example 127.0.0.1:${port}, MAP spa.example 127.0.0.1:${port}`,
        ],
    });
    const result = { browser: context.browser() ? context.browser().version() : 'chromium' };
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    try {
        // 1. approve with the mouse; the screenshot is the test artefact
        let resp = await page.goto(authorizeUrl({
            response_type: 'code', client_id: 'webapp', redirect_uri: 'https://app.example/cb',
            scope: 'read write', state: prefix + '-approve',
        }));
        result.approvePage = await pageFacts(page, resp);
        await page.screenshot({ path: shotPath, fullPage: true });
        await page.getByRole('button', { name: 'Approve' }).click();
        result.approve = await callbackFacts(page);

        // 2. deny
        await page.goto(authorizeUrl({
            response_type: 'code', client_id: 'webapp', redirect_uri: 'https://app.example/cb',
            state: prefix + '-deny',
        }));
        await page.getByRole('button', { name: 'Deny' }).click();
        result.deny = await callbackFacts(page);

        // 3. the keyboard only: Approve has the focus; Tab goes to Deny, Shift+Tab
        //    back to Approve, Enter submits it
        resp = await page.goto(authorizeUrl({
            response_type: 'code', client_id: 'webapp', redirect_uri: 'https://app.example/cb',
            scope: 'read', state: prefix + '-keyboard',
        }));
        const focusOf = () => page.evaluate(() => {
            const e = document.activeElement;
            return e ? (e.getAttribute('value') || e.tagName) : null;
        });
        result.keys = { initial: await focusOf() };
        await page.keyboard.press('Tab');
        result.keys.afterTab = await focusOf();
        await page.keyboard.press('Shift+Tab');
        result.keys.afterShiftTab = await focusOf();
        await page.keyboard.press('Enter');
        result.keyboard = await callbackFacts(page);

        // 4. the implicit grant: the token arrives in the fragment
        await page.goto(authorizeUrl({
            response_type: 'token', client_id: 'spa', redirect_uri: 'https://spa.example/cb',
            state: prefix + '-implicit',
        }));
        await page.getByRole('button', { name: 'Approve' }).click();
        result.implicit = await callbackFacts(page);
        result.implicit.hash = new URL(page.url()).hash;
        result.implicit.search = new URL(page.url()).search;

        // 5. framing: a page on the callback origin puts the approval page in an
        //    iframe; the browser must not render it there
        await page.goto(`https://app.example/cb?framing=1`);
        const target = authorizeUrl({
            response_type: 'code', client_id: 'webapp', redirect_uri: 'https://app.example/cb',
            state: prefix + '-frame',
        });
        // the control: a page without X-Frame-Options does render in a frame
        const addFrame = (id, src) => page.evaluate(([fid, fsrc]) => new Promise((resolve) => {
            const f = document.createElement('iframe');
            f.id = fid;
            f.src = fsrc;
            f.onload = () => resolve();
            document.body.appendChild(f);
            setTimeout(resolve, 5000);
        }), [id, src]);
        await addFrame('control', 'https://spa.example/cb?control=1');
        await addFrame('victim', target);
        const frameOf = (id) => page.frames().find((f) => f.name() === id ||
            (f.parentFrame() === page.mainFrame() && f.url().includes(id === 'control' ? 'control=1' : '-frame')));
        const control = frameOf('control');
        let controlLoaded = null;
        if (control) {
            try {
                controlLoaded = await control.locator('#status').textContent({ timeout: 5000 });
            } catch (e) {
                controlLoaded = String(e);
            }
        }
        const frame = frameOf('victim');
        let framedButtons = -1, framedUrl = null;
        if (frame) {
            framedUrl = frame.url();
            try {
                framedButtons = await frame.locator('button[name=decision]').count();
            } catch (e) {
                framedButtons = 0;
            }
        }
        result.framing = { frameFound: !!frame, framedUrl, framedButtons, controlLoaded };
    } catch (e) {
        result.error = String(e && e.stack || e);
        try {
            result.errorUrl = page.url();
            await page.screenshot({ path: shotPath.replace(/\.png$/, '') + '-error.png' });
        } catch (e2) { /* nothing more to learn */ }
    } finally {
        await context.close();
        fs.rmSync(userDataDir, { recursive: true, force: true });
    }
    process.stdout.write(JSON.stringify(result) + '\n');
    return result.error ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\n');
    process.exit(1);
});
