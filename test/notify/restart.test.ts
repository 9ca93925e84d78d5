/** Notifications are kept across a restart: not yet delivered, or claimed by a process that died. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { config, handOff, harness, LATER, outbox, Receiver, settle } from '../helpers/notify-harness.js';

describe('durable across a restart', () => {
  test('a notification not yet delivered when the service stops is delivered after it starts again', async () => {
    const receiver = new Receiver();
    await receiver.start();
    receiver.answer = () => 503; // down for now
    const dir = mkdtempSync(join(tmpdir(), 'ddsrv-notify-'));
    const dbPath = join(dir, 'ddsrv.db');
    try {
      let h = await harness(config(receiver), dbPath);
      const [a] = await handOff(h.svc, ['i-0000000000000e001']);
      await settle(h.svc, a!, 'failed', 'boom');
      assert.equal(await h.notifier.runOnce(), 1);
      await h.notifier.stop();
      await h.svc.close();
      assert.equal(receiver.received.length >= 1, true);

      receiver.answer = () => 200;
      receiver.received.length = 0;
      // Its retry is due when the new process starts: the first round, at start, delivers it.
      h = await harness(config(receiver), dbPath, { skewMs: LATER });
      const [got] = await receiver.waitFor(1, 5000);
      assert.equal(got!.body.termination.instance_id, 'i-0000000000000e001');
      assert.equal((await outbox(h.svc))[0]!.outcome, 'delivered');
      await h.notifier.stop();
      await h.svc.close();
    } finally {
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on SQLite, a notification claimed by a process that died is due again when the service starts', async () => {
    const receiver = new Receiver();
    await receiver.start();
    const dir = mkdtempSync(join(tmpdir(), 'ddsrv-notify-'));
    const dbPath = join(dir, 'ddsrv.db');
    try {
      let h = await harness(config(receiver), dbPath);
      const [a] = await handOff(h.svc, ['i-0000000000000e011']);
      await settle(h.svc, a!, 'failed', 'boom');
      // A deliverer that claimed it for an hour and then died (the lease would hold it that long).
      assert.equal((await h.svc.store.notifications.claim('dead-process', Date.now(), 3_600_000, 10)).length, 1);
      await h.notifier.stop();
      await h.svc.close();
      assert.equal(receiver.received.length, 0);

      h = await harness(config(receiver), dbPath);
      assert.equal(receiver.received.length, 1, 'delivered by the first round after the start');
      assert.equal(receiver.received[0]!.body.termination.instance_id, 'i-0000000000000e011');
      assert.equal((await outbox(h.svc))[0]!.outcome, 'delivered');
      await h.notifier.stop();
      await h.svc.close();
    } finally {
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

