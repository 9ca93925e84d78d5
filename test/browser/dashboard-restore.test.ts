/**
 * "Cancel and restore" in the dashboard's cancel confirmation, in real headless Chromium against a real
 * service (no worker: the rows stay where the action put them): a drained instance goes to `restoring`,
 * one that had left nothing ends `restored` at once; the expedite confirmation has no such choice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium, openSignedIn } from '../helpers/browser.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';
import { forceRow } from '../helpers/store-tables.js';

const TOKEN = 'browser-restore-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('cancel and restore in the dashboard', { skip: browserSkip() }, () => {
  let svc: TestService;
  let browser: Browser;
  let base: string;
  const problems: string[] = [];

  before(async () => {
    svc = await testService({ authToken: TOKEN, delay: '1h' });
    await svc.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(svc.app.server.address() as { port: number }).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  const open = () => openSignedIn(() => browser.newPage({ viewport: { width: 1360, height: 900 } }), base, TOKEN, problems);

  test('a drained instance: restoring; one that left nothing: restored; no restore choice for expedite', { timeout: 60_000 }, async () => {
    const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: ['i-0bbbbbbbbbbbbb001', 'i-0bbbbbbbbbbbbb002'], ec2_region: 'us-east-1' } });
    const [drainedId, freshId] = res.json().terminations.map((t: { id: number }) => t.id) as number[];
    const stepData = { asg: { group: 'web-asg', lifecycle: 'InService', detached: true, classic: [], targetGroups: [] } };
    await forceRow(svc.store, drainedId!, { state: 'draining', step: 'terminate', step_data: JSON.stringify(stepData) });
    const page = await open();
    try {
      const dialog = page.locator('dialog#confirm');
      const drained = page.locator('#active-rows tr[data-instance="i-0bbbbbbbbbbbbb001"]');
      await drained.locator('button[data-action=expedite]').click();
      await dialog.waitFor({ state: 'visible' });
      assert.equal(await page.locator('#confirm-restore').isVisible(), false, 'expedite: no restore choice');
      await page.locator('#confirm-back').click();

      await drained.locator('button[data-action=cancel]').click();
      await dialog.waitFor({ state: 'visible' });
      assert.match(await dialog.innerText(), /"Cancel and restore" does/);
      await page.locator('#confirm-reason').fill('rolled back');
      await page.locator('#confirm-restore').click();
      await page.locator('#toast').filter({ hasText: 'i-0bbbbbbbbbbbbb001 cancelled: it will be kept and put back in service' }).waitFor();
      await drained.locator('.badge', { hasText: 'restoring' }).waitFor();
      const stored = await rowOf(svc.store, drainedId!);
      assert.equal(stored?.state, 'restoring');
      assert.equal(stored?.reason, 'cancelled with restore by bearer: rolled back');

      const fresh = page.locator('#active-rows tr[data-instance="i-0bbbbbbbbbbbbb002"]');
      await fresh.locator('button[data-action=cancel]').click();
      await page.locator('#confirm-restore').click();
      await page.locator('#toast').filter({ hasText: 'i-0bbbbbbbbbbbbb002 cancelled and restored: it had left nothing to put back' }).waitFor();
      await page.locator('#final-rows tr[data-instance="i-0bbbbbbbbbbbbb002"] .badge', { hasText: 'restored' }).waitFor();
      assert.equal((await rowOf(svc.store, freshId!))?.state, 'restored');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
