/**
 * The dashboard in real headless Chromium against a real service: it asks for the token, shows a pending
 * instance with a live countdown, cancels it after a confirmation, filters, shows a termination's history,
 * and runs with no console error (so its Content-Security-Policy lets its own script and style in).
 *
 * DASHBOARD_SCREENSHOT=docs/dashboard.png also saves a screenshot of a populated dashboard (for the README;
 * docs/screenshots/take.ts takes the same afternoon's before/after pictures).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium } from '../helpers/browser.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { scenario } from './scenario.js';
import { seededService } from './seed.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

const TOKEN = 'browser-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const skip = browserSkip();

describe('dashboard in Chromium', { skip }, () => {
  let svc: TestService;
  let browser: Browser;
  let base: string;
  const problems: string[] = [];

  async function handOff(ids: string[], project: string, component: string, region = 'us-east-1'): Promise<number[]> {
    const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: ids, project, component, ec2_region: region } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().terminations.map((t: { id: number }) => t.id);
  }

  async function open(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (m) => {
      // The 401s are expected: the first look without a token (authentication may be off), the wrong token.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(base);
    return page;
  }

  async function signIn(page: Page, token = TOKEN): Promise<void> {
    await page.locator('#token').fill(token);
    await page.locator('#login-form button[type=submit]').click();
  }

  before(async () => {
    svc = await testService({ authToken: TOKEN, delay: '1h' });
    await svc.app.listen({ host: '127.0.0.1', port: 0 });
    const address = svc.app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('asks for the token, refuses a wrong one, then shows a pending instance with a live countdown', { timeout: 60_000 }, async () => {
    await handOff(['i-0aaaaaaaaaaaaa001'], 'shop', 'web');
    const page = await open();
    try {
      await page.locator('#login').waitFor({ state: 'visible' });
      await signIn(page, 'not-the-right-token-at-all');
      await page.locator('#login-error').filter({ hasText: 'The token was not accepted.' }).waitFor();
      await signIn(page);
      const row = page.locator('#active-rows tr[data-instance="i-0aaaaaaaaaaaaa001"]');
      await row.waitFor();
      assert.match(await row.locator('.badge').innerText(), /pending/);
      assert.match(await row.innerText(), /shop \/ web/);
      const countdown = row.locator('.countdown');
      const first = await countdown.innerText();
      assert.match(first, /^in (59m \d\ds|1h 00m 00s)$/);
      await page.waitForFunction((text) => (globalThis as any).document.querySelector('#active-rows tr[data-instance="i-0aaaaaaaaaaaaa001"] .countdown')?.textContent !== text, first, { timeout: 3000 });
      assert.match(await countdown.innerText(), /^in 59m \d\ds$/);
    } finally {
      await page.close();
    }
  });

  test('the cancel button cancels it, after a confirmation', { timeout: 60_000 }, async () => {
    const [id] = await handOff(['i-0aaaaaaaaaaaaa002'], 'shop', 'worker');
    const page = await open();
    try {
      await signIn(page);
      const row = page.locator('#active-rows tr[data-instance="i-0aaaaaaaaaaaaa002"]');
      await row.locator('button[data-action=cancel]').click();
      const dialog = page.locator('dialog#confirm');
      await dialog.waitFor({ state: 'visible' });
      assert.match(await dialog.innerText(), /i-0aaaaaaaaaaaaa002[\s\S]*will NOT be terminated/);
      // "Back" changes nothing.
      await page.locator('#confirm-back').click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal((await rowOf(svc.store, id!))?.state, 'pending');

      await row.locator('button[data-action=cancel]').click();
      await page.locator('#confirm-reason').fill('kept for the browser test');
      await page.locator('#confirm-ok').click();
      await page.locator('#toast').filter({ hasText: 'i-0aaaaaaaaaaaaa002 cancelled: it will be kept' }).waitFor();
      await page.locator('#final-rows tr[data-instance="i-0aaaaaaaaaaaaa002"] .badge', { hasText: 'cancelled' }).waitFor();
      await row.waitFor({ state: 'detached' });
      const stored = await rowOf(svc.store, id!);
      assert.equal(stored?.state, 'cancelled');
      assert.equal(stored?.reason, 'cancelled by bearer: kept for the browser test');
      assert.equal((await historyOf(svc.store, id!)).at(-1)?.event, 'cancelled');
    } finally {
      await page.close();
    }
  });

  test('filters by project and state, and shows one termination with its history', { timeout: 60_000 }, async () => {
    await handOff(['i-0aaaaaaaaaaaaa003', 'i-0aaaaaaaaaaaaa004'], 'blog', 'web', 'eu-west-1');
    const page = await open();
    try {
      await signIn(page);
      await page.locator('#active-rows tr[data-instance="i-0aaaaaaaaaaaaa003"]').waitFor();
      await page.locator('#f-project').fill('blog');
      await page.waitForFunction(() => {
        const rows: { textContent: string }[] = [...(globalThis as any).document.querySelectorAll('#active-rows tr')];
        return rows.length === 2 && rows.every((r) => r.textContent.includes('blog'));
      });
      assert.match(page.url(), /#project=blog$/, 'the filter is in the URL, so the view can be shared');
      await page.locator('#f-states input[value=cancelled]').check();
      await page.locator('#active').waitFor({ state: 'hidden' });
      await page.locator('#final-empty').waitFor({ state: 'visible' }); // no cancelled blog termination
      await page.locator('#clear').click();
      const row = page.locator('#final-rows tr[data-instance="i-0aaaaaaaaaaaaa002"]');
      await row.waitFor();
      await row.locator('a.link').click();
      const detail = page.locator('#detail');
      await detail.waitFor({ state: 'visible' });
      const text = await detail.innerText();
      assert.match(text, /Termination #\d+/);
      assert.match(text, /accepted[\s\S]*cancelled/);
      assert.match(text, /cancelled by bearer: kept for the browser test/);
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'hidden' });
    } finally {
      await page.close();
    }
  });

  test('ran without a console error or a blocked script or style', () => {
    assert.deepEqual(problems, []);
  });

  test('screenshot for the README (DASHBOARD_SCREENSHOT=path)', { skip: process.env.DASHBOARD_SCREENSHOT ? false : 'set DASHBOARD_SCREENSHOT=docs/dashboard.png to take it', timeout: 60_000 }, async () => {
    // A plausible afternoon (scenario.ts), on a service of its own.
    const now = Date.now();
    const { svc: shown } = await seededService({ authToken: TOKEN, delay: '2h' }, (seed) => scenario(seed, now));
    try {
      await shown.app.listen({ host: '127.0.0.1', port: 0 });
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      await page.goto(`http://127.0.0.1:${(shown.app.server.address() as { port: number }).port}/`);
      await signIn(page);
      await page.locator('#final-rows tr[data-instance="i-0e4f5a6b7c8d9e005"]').waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT!, fullPage: true });
      await page.close();
    } finally {
      await shown.close();
    }
  });
});
