/**
 * The dashboard's views in real headless Chromium, on a service seeded with a plausible afternoon
 * (scenario.ts; no worker, no AWS): scheduled soonest due first and outcomes newest ended first, the
 * waiting state, the summary line, times with their zone (the browser runs in Asia/Kolkata, UTC+05:30
 * all year), the `#/terminations/ID` detail with back and forward, several states in the filter, and
 * expedite after its confirmation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkip, launchChromium, openSignedIn } from '../helpers/browser.js';
import type { TestService } from '../helpers/service.js';
import { scenario, type Afternoon } from './scenario.js';
import { seededService } from './seed.js';

const TOKEN = 'dashboard-views-token-0123456789';
const ZONE = 'Asia/Kolkata';
const skip = browserSkip();

/** How the page should show a time in ZONE: "2026-12-03 19:32:11 UTC+05:30". */
function inZone(iso: string, timeZone = ZONE, offset = 'UTC+05:30'): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso));
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${offset}`;
}

describe('dashboard views in Chromium', { skip }, () => {
  let svc: TestService;
  let ids: Afternoon;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;
  const problems: string[] = [];

  const item = async (id: number) => (await svc.app.inject({ url: `/api/v1/terminations/${id}`, headers: { authorization: `Bearer ${TOKEN}` } })).json();
  const rowIds = (page: Page, list: 'active' | 'final') => page.locator(`#${list}-rows tr`).evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));

  async function open(hash = ''): Promise<Page> {
    const page = await openSignedIn(() => context.newPage(), base + hash, TOKEN, problems);
    await page.locator('#active-rows tr').first().waitFor();
    return page;
  }

  /** Waits until the list holds exactly these rows, in this order. */
  async function listIs(page: Page, list: 'active' | 'final', expected: number[]): Promise<void> {
    try {
      await page.waitForFunction(
        ([key, want]) => {
          const rows: { getAttribute(name: string): string }[] = [...(globalThis as any).document.querySelectorAll(`#${key}-rows tr`)];
          return rows.map((r) => r.getAttribute('data-id')).join(',') === want;
        },
        [list, expected.join(',')] as const,
        { timeout: 5000 },
      );
    } catch {
      assert.deepEqual(await rowIds(page, list), expected, `${list} list`);
    }
  }

  before(async () => {
    const now = Date.now();
    ({ svc, planned: ids } = await seededService({ authToken: TOKEN, delay: '2h' }, (seed) => scenario(seed, now)));
    await svc.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(svc.app.server.address() as { port: number }).port}/`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1360, height: 900 }, timezoneId: ZONE, locale: 'en-GB' });
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('scheduled: soonest due first; outcomes: the latest to end first (neither in id order)', { timeout: 60_000 }, async () => {
    const page = await open();
    try {
      const byDue = [ids.terminating, ids.nothing, ids.waiting, ids.soon, ids.drainWait, ids.retrying, ids.late];
      const [terminated, failed, cancelled, refused, failedLongAgo] = ids.ended as [number, number, number, number, number];
      const byEnd = [cancelled, terminated, refused, failed, failedLongAgo];
      assert.notDeepEqual(byDue, [...byDue].sort((a, b) => a - b), 'the scenario hands off in another order');
      assert.notDeepEqual(byEnd, [...byEnd].sort((a, b) => b - a), 'the scenario ends in another order');
      await listIs(page, 'active', byDue);
      await listIs(page, 'final', byEnd);
    } finally {
      await page.close();
    }
  });

  test('a row drained and waiting out its delay, and one with nothing to drain, read as waiting, with why', { timeout: 60_000 }, async () => {
    const page = await open();
    try {
      const row = (id: number) => page.locator(`#active-rows tr[data-id="${id}"]`);
      const expected: [number, string, string][] = [
        [ids.waiting, 'waiting', 'drained: waits out its delay'],
        [ids.nothing, 'waiting', 'nothing to drain: waits out its delay'],
        [ids.late, 'waiting', 'nothing to drain: waits out its delay'],
        [ids.drainWait, 'draining', 'waiting for its connections to drain'],
        [ids.retrying, 'draining', 'leaving its load balancers'],
        [ids.terminating, 'terminating', 'the termination call is under way'],
      ];
      for (const [id, phase, note] of expected) {
        await row(id).waitFor();
        assert.equal(await row(id).getAttribute('data-phase'), phase, `#${id}`);
        assert.equal(await row(id).locator('.badge').innerText(), phase, `#${id}`);
        assert.equal(await row(id).locator('.phase-note').innerText(), note, `#${id}`);
      }
      assert.match(await row(ids.retrying).locator('td.reason').innerText(), /^retrying \(2\): DeregisterTargets: Throttling: Rate exceeded$/);
      assert.match(await row(ids.waiting).locator('.countdown').innerText(), /^in 2[45]m \d\ds$/);
    } finally {
      await page.close();
    }
  });

  test('the summary: the next termination, and what failed or was refused in the last 24 h (links to them)', { timeout: 60_000 }, async () => {
    const page = await open();
    try {
      const next = await item(ids.nothing);
      const summary = page.locator('#summary');
      await summary.locator('#summary-problems').waitFor();
      const text = await summary.innerText();
      const expected = new RegExp(`^Next termination in (4m \\d\\ds|5m 00s): i-0d3e4f5a6b7c8d902 \\(#${ids.nothing}\\) at ${inZone(next.due_at).replace('+', '\\+')}; 1 failed, 1 refused in the last 24 h$`);
      assert.match(text, expected);
      await summary.locator('a.problem.failed').click();
      await page.locator('#active').waitFor({ state: 'hidden' });
      await listIs(page, 'final', [ids.ended[1]!, ids.ended[4]!]); // every failed one, the filter has no time limit
      assert.match(page.url(), /#state=failed$/);
    } finally {
      await page.close();
    }
  });

  test('times carry their zone, the same in the lists, the detail and the history (even inside its prose)', { timeout: 60_000 }, async () => {
    const page = await open();
    try {
      const waiting = await item(ids.waiting);
      const terminated = await item(ids.ended[0]!);
      const dueShown = inZone(waiting.due_at);
      assert.equal(await page.locator(`#active-rows tr[data-id="${ids.waiting}"] .sub.time`).innerText(), dueShown);
      await page.locator(`#final-rows tr[data-id="${ids.ended[0]}"] .sub.time`).waitFor();
      assert.equal(await page.locator(`#final-rows tr[data-id="${ids.ended[0]}"] .sub.time`).innerText(), inZone(terminated.updated_at));
      await page.locator(`#active-rows tr[data-id="${ids.waiting}"] a.link`).click();
      const detail = page.locator('#detail');
      await detail.locator('#history').waitFor();
      assert.match(await detail.innerText(), new RegExp(`Due\\s+in 2[45]m \\d\\ds at ${dueShown.replace('+', '\\+')}`));
      assert.match(await detail.innerText(), /State\s+waiting drained: waits out its delay/);
      const times = await detail.locator('#history .when').allInnerTexts();
      assert.equal(times.length, waiting.history.length);
      times.forEach((t, i) => assert.equal(t, inZone(waiting.history[i].at)));
      const history = await detail.locator('#history').innerText();
      assert.ok(history.includes(`terminate at ${dueShown} (hand-off + delay`), history);
      assert.doesNotMatch(history, /\d{4}-\d\d-\d\dT\d\d:\d\d/, 'no UTC ISO time is left in the prose');
    } finally {
      await page.close();
    }
  });

  test('#/terminations/ID opens that termination; back and forward move between details and the list', { timeout: 60_000 }, async () => {
    const page = await open(`#/terminations/${ids.drainWait}`);
    try {
      const detail = page.locator('#detail');
      const shows = async (id: number | null) => {
        if (id === null) await detail.waitFor({ state: 'hidden' });
        else await detail.locator('h3', { hasText: new RegExp(`^Termination #${id}$`) }).waitFor();
      };
      await shows(ids.drainWait);
      assert.match(page.url(), new RegExp(`#/terminations/${ids.drainWait}$`));
      await page.keyboard.press('Escape');
      await shows(null);
      assert.doesNotMatch(page.url(), /terminations/);

      await page.locator(`#active-rows tr[data-id="${ids.waiting}"] a.link`).click();
      await shows(ids.waiting);
      assert.match(page.url(), new RegExp(`#/terminations/${ids.waiting}$`));
      await page.locator(`#final-rows tr[data-id="${ids.ended[2]}"] a.link`).click();
      await shows(ids.ended[2]!);
      await page.goBack();
      await shows(ids.waiting);
      await page.goBack();
      await shows(null);
      await page.goForward();
      await shows(ids.waiting);
      await page.locator('#detail-close').click();
      await shows(null);
      assert.doesNotMatch(page.url(), /terminations/);
    } finally {
      await page.close();
    }
  });

  test('several states in the filter, kept in the link', { timeout: 60_000 }, async () => {
    let page = await open();
    try {
      await page.locator('#f-states input[value=draining]').check();
      await page.locator('#f-states input[value=failed]').check();
      await listIs(page, 'active', [ids.waiting, ids.drainWait, ids.retrying]);
      await listIs(page, 'final', [ids.ended[1]!, ids.ended[4]!]);
      assert.match(page.url(), /#state=draining%2Cfailed$|#state=draining,failed$/);
      const link = page.url();
      await page.close();

      page = await open(link.slice(link.indexOf('#')));
      await listIs(page, 'active', [ids.waiting, ids.drainWait, ids.retrying]);
      await listIs(page, 'final', [ids.ended[1]!, ids.ended[4]!]);
      const ticked = await page.locator('#f-states input:checked').evaluateAll((boxes) => boxes.map((b) => b.value));
      assert.deepEqual(ticked, ['draining', 'failed']);

      await page.locator('#f-states button', { hasText: 'in progress' }).click();
      await page.locator('#final').waitFor({ state: 'hidden' });
      await listIs(page, 'active', [ids.terminating, ids.nothing, ids.waiting, ids.soon, ids.drainWait, ids.retrying, ids.late]);
    } finally {
      await page.close();
    }
  });

  test('expedite from the detail, after its confirmation: due now, and the list and summary say so', { timeout: 60_000 }, async () => {
    const page = await open(`#/terminations/${ids.soon}`);
    try {
      await page.locator('#detail h3', { hasText: `Termination #${ids.soon}` }).waitFor();
      await page.locator('#detail button[data-action=expedite]').click();
      const dialog = page.locator('dialog#confirm');
      await dialog.waitFor({ state: 'visible' });
      assert.match(await dialog.innerText(), /Terminate now\?[\s\S]*i-0b1c2d3e4f5a6b702[\s\S]*will be terminated right away/);
      await page.locator('#confirm-ok').click();
      await page.locator('#toast').filter({ hasText: 'i-0b1c2d3e4f5a6b702 expedited: terminating now' }).waitFor();
      const stored = await item(ids.soon);
      assert.ok(Date.parse(stored.due_at) <= Date.now());
      assert.equal(stored.history.at(-1).event, 'expedited');
      await page.locator(`#active-rows tr[data-id="${ids.soon}"][data-phase=due]`).waitFor();
      await page.locator('#summary-next', { hasText: /^Next termination due (now|\d+s ago): i-0b1c2d3e4f5a6b702/ }).waitFor();
      await listIs(page, 'active', [ids.terminating, ids.soon, ids.nothing, ids.waiting, ids.drainWait, ids.retrying, ids.late]);
    } finally {
      await page.close();
    }
  });

  test('ran without a console error or a blocked script or style', () => {
    assert.deepEqual(problems, []);
  });
});
