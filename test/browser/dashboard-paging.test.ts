/**
 * The dashboard in real headless Chromium on a larger list: "Show 50 more" follows the API's keyset
 * cursor and keeps the soonest-due order across pages; and the rows whose only step left is the
 * termination read as what they are once due, or after a guard with nothing to drain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium, openSignedIn } from '../helpers/browser.js';
import type { TestService } from '../helpers/service.js';
import { seededService } from './seed.js';

const TOKEN = 'dashboard-paging-token-0123456789';
const MIN = 60_000;
const ROWS = 60;
const skip = browserSkip();

describe('dashboard paging and late states in Chromium', { skip }, () => {
  let svc: TestService;
  let browser: Browser;
  let base: string;
  let due: Map<number, number>;
  let overdue: number;
  let guardOnly: number;
  const problems: string[] = [];

  async function open(hash = ''): Promise<Page> {
    const page = await openSignedIn(() => browser.newPage({ viewport: { width: 1360, height: 900 } }), base + hash, TOKEN, problems);
    await page.locator('#active-rows tr').first().waitFor();
    return page;
  }

  before(async () => {
    const now = Date.now();
    ({ svc, planned: { due, overdue, guardOnly } } = await seededService({ authToken: TOKEN, delay: '2h' }, async (seed) => {
      const instances = Array.from({ length: ROWS }, (_, i) => `i-0f${String(i).padStart(15, '0')}`);
      const ids = await seed.handOff(instances, 'fleet', 'web');
      const due = new Map<number, number>();
      ids.forEach((id, i) => {
        // Due times in a scrambled order, two rows sharing each: the cursor has ties to get past.
        const at = now + (((i * 37) % (ROWS / 2)) + 1) * MIN;
        due.set(id, at);
        seed.set(id, { state: 'pending', step: 'terminate', due_at: at, next_attempt_at: at });
      });
      const [overdue, guardOnly] = await seed.handOff(['i-0a00000000000a001', 'i-0a00000000000a002'], 'fleet', 'api');
      seed.set(overdue!, { state: 'draining', step: 'terminate', due_at: now - 2 * MIN, next_attempt_at: now - 2 * MIN });
      seed.set(guardOnly!, { state: 'draining', step: 'terminate', due_at: now + 3 * 60 * MIN, next_attempt_at: now + 3 * 60 * MIN });
      seed.history(guardOnly!, [
        { at: now - MIN, state: 'draining', step: 'terminate', event: 'guard.ok', detail: 'the guards allow it; not needed: asg_detach (asg: leave), lb_deregister (drain.load_balancers: false), drain_wait (drain.load_balancers: false), drain_hook (no drain hook)' },
      ]);
      return { due, overdue: overdue!, guardOnly: guardOnly! };
    }));
    await svc.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(svc.app.server.address() as { port: number }).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('"Show 50 more" continues where the first page ended, soonest due first, ties by id', { timeout: 60_000 }, async () => {
    const page = await open('#project=fleet&component=web');
    try {
      const expected = [...due.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id]) => id);
      const shown = () => page.locator('#active-rows tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
      await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#active-rows tr').length === 50);
      assert.deepEqual(await shown(), expected.slice(0, 50));
      assert.equal(await page.locator('#active-count').innerText(), '50+ shown');
      await page.locator('#active-more').click();
      await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('#active-rows tr').length === n, ROWS);
      assert.deepEqual(await shown(), expected);
      await page.locator('#active-more').waitFor({ state: 'hidden' });
      assert.equal(await page.locator('#active-count').innerText(), `${ROWS} shown`);
    } finally {
      await page.close();
    }
  });

  test('a drained row past its due time is due, not draining; after a guard with nothing to drain it waits', { timeout: 60_000 }, async () => {
    const page = await open('#project=fleet&component=api');
    try {
      const row = (id: number) => page.locator(`#active-rows tr[data-id="${id}"]`);
      await row(overdue).waitFor();
      assert.equal(await row(overdue).getAttribute('data-phase'), 'due');
      assert.equal(await row(overdue).locator('.phase-note').innerText(), 'its delay is over: the worker terminates it next');
      assert.match(await row(overdue).locator('.countdown').innerText(), /^due 2m \d\ds ago$/);
      assert.equal(await row(guardOnly).getAttribute('data-phase'), 'waiting');
      await row(guardOnly).locator('a.link').click();
      await page.locator('#detail #history').waitFor();
      assert.match(await page.locator('#detail').innerText(), /State\s+waiting nothing to drain: waits out its delay/);
      assert.match(await page.locator('#summary-next').innerText(), /^Next termination due 2m \d\ds ago: i-0a00000000000a001/, 'the whole service: the overdue row is next');
    } finally {
      await page.close();
    }
  });

  test('ran without a console error or a blocked script or style', () => {
    assert.deepEqual(problems, []);
  });
});
