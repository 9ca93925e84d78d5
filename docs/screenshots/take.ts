/**
 * Screenshots of the dashboard on a plausible afternoon, for the docs and the before/after:
 *
 *   node --import tsx docs/screenshots/take.ts after      # -> docs/screenshots/dashboard-after*.png
 *
 * A real service on 127.0.0.1 (SQLite in a temp folder, no worker, no AWS) with hand-offs made through
 * its API, then moved on as the worker would have (test/browser/seed.ts): pending rows due at different
 * times and handed off in another order, rows draining, a row drained and waiting out its delay, rows
 * with nothing to drain, one terminating, and outcomes that ended in another order than their ids.
 * Headless Chromium (/usr/bin/chromium) in the Europe/Berlin zone, so times show whether they carry one.
 */
import { launchChromium } from '../../test/helpers/browser.js';
import { scenario } from '../../test/browser/scenario.js';
import { seededService } from '../../test/browser/seed.js';

const TOKEN = 'screenshot-token-0123456789abcdef';
const label = process.argv[2] ?? 'after';
const out = (name: string) => new URL(`./dashboard-${label}${name}.png`, import.meta.url).pathname;

const now = Date.now();
const { svc, planned: { waiting } } = await seededService({ authToken: TOKEN, delay: '2h' }, (seed) => scenario(seed, now));
const browser = await launchChromium();
try {
  await svc.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(svc.app.server.address() as { port: number }).port}/`;
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(base);
  await page.locator('#token').fill(TOKEN);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#final-rows tr[data-instance="i-0e4f5a6b7c8d9e005"]').waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: out(''), fullPage: true });
  await page.locator(`#active-rows tr[data-id="${waiting}"] .link`).click();
  await page.locator('#detail').waitFor({ state: 'visible' });
  await page.waitForTimeout(300);
  await page.screenshot({ path: out('-detail') });
  console.log(`saved ${out('')} and ${out('-detail')}`);
} finally {
  await browser.close();
  await svc.close();
}
