#!/usr/bin/env node
// t/browser/device.js — the device verification page (oas_ep_device.c) in a real
// browser, for t/39_device_browser.t.
//
//   node t/browser/device.js VERIFICATION_URI_COMPLETE CODE_PAGE.png APPROVAL_PAGE.png
//
// Debian's Chromium, headless, driven by playwright-core (as flow.js).  alice signs in
// with Basic auth, finds the code already filled in, presses Continue, sees the
// approval page, approves with the mouse; then the same with a code she types by hand
// (lower case, no dash) and denies with the keyboard only.  Prints one JSON object of
// facts; the .t judges them and polls the token endpoint.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [completeUrl, typedCode, codeShot, approvalShot] = process.argv.slice(2);
const TIMEOUT = 20000;

async function facts(page, response) {
    const h = response ? await response.allHeaders() : {};
    return {
        status: response ? response.status() : null,
        url: page.url(),
        title: await page.title(),
        lang: await page.evaluate(() => document.documentElement.lang),
        h1: await page.getByRole('heading', { level: 1 }).allTextContents(),
        text: await page.locator('main').innerText(),
        footer: await page.locator('footer').allTextContents(),
        listItems: await page.getByRole('listitem').allTextContents(),
        buttons: await page.getByRole('button').allTextContents(),
        codeInput: await page.getByLabel('Code').count()
            ? await page.getByLabel('Code').inputValue() : null,
        focused: await page.evaluate(() => {
            const e = document.activeElement;
            return e ? (e.getAttribute('value') || e.id || e.tagName) : null;
        }),
        aria: await page.locator('body').ariaSnapshot(),
        xfo: h['x-frame-options'] || null,
        csp: h['content-security-policy'] || null,
    };
}

async function main() {
    const origin = new URL(completeUrl).origin;
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oas-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        ignoreHTTPSErrors: true,
        httpCredentials: { username: 'alice', password: 'wonderland', origin },
        viewport: { width: 900, height: 700 },
        timeout: 60000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--ignore-certificate-errors'],
    });
    const result = { browser: context.browser() ? context.browser().version() : 'chromium' };
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    try {
        // 1. verification_uri_complete: the code is there; Continue; Approve
        let resp = await page.goto(completeUrl);
        result.codePage = await facts(page, resp);
        await page.screenshot({ path: codeShot, fullPage: true });
        let nav = page.waitForNavigation();
        await page.getByRole('button', { name: 'Continue' }).click();
        resp = await nav;
        result.approvalPage = await facts(page, resp);
        await page.screenshot({ path: approvalShot, fullPage: true });
        nav = page.waitForNavigation();
        await page.getByRole('button', { name: 'Approve' }).click();
        resp = await nav;
        result.approved = await facts(page, resp);

        // 2. the bare verification_uri, a code typed by hand, the keyboard only: Deny
        resp = await page.goto(completeUrl.replace(/\?.*$/, ''));
        result.emptyForm = await facts(page, resp);
        await page.keyboard.type(typedCode);
        nav = page.waitForNavigation();
        await page.keyboard.press('Enter');
        resp = await nav;
        result.typedApproval = await facts(page, resp);
        await page.keyboard.press('Tab');          // Approve has the focus; Tab: Deny
        result.focusAfterTab = await page.evaluate(() => document.activeElement.value);
        nav = page.waitForNavigation();
        await page.keyboard.press('Enter');
        resp = await nav;
        result.denied = await facts(page, resp);
    } catch (e) {
        result.error = String(e && e.stack || e);
        try {
            result.errorUrl = page.url();
            await page.screenshot({ path: codeShot.replace(/\.png$/, '') + '-error.png' });
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
