/**
 * The store contract, the notification outbox: written in the transaction of each transition in a notified
 * state (once per termination and state), and delivered as a leased queue, on every engine.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { handOff, iid, LEASE, outcome, T0 } from './fixtures.js';

forEachEngine('store-outbox', (ctx) => {
  const outbox = () => ctx.db.selectFrom('notification_outbox').selectAll().orderBy('id').execute();
  const scheduleOne = async () => (await ctx.store.handOffs.recordHandOffs([handOff([iid()])], T0))[0]![0]!.id;

  beforeEach(() => ctx.store.notifyOn(new Set(['terminating', 'terminated'])));

  describe('written with the transition', () => {
    test('one row per termination and notified state, whatever wrote the transition; none for other states', async () => {
      const id = await scheduleOne();
      await ctx.store.work.claim('w', T0, LEASE, 10);
      await ctx.store.work.saveProgress('w', [{ id }], T0 + 1, { state: 'draining', step: 'drain_wait', event: 'drain_wait.started', detail: () => null });
      assert.deepEqual(await outbox(), [], 'draining is not notified');
      await ctx.store.work.enter('w', [id], 'terminating', 'terminate.started', T0 + 2);
      await ctx.store.work.enter('w', [id], 'terminating', 'terminate.started', T0 + 3); // a retry in the same state
      await ctx.store.work.settle('w', [outcome(id)], T0 + 4);
      const rows = await outbox();
      assert.deepEqual(rows.map((r) => [r.termination_id, r.state, r.event, r.at, r.next_attempt_at, r.attempts]), [
        [id, 'terminating', 'terminate.started', T0 + 2, T0 + 2, 0],
        [id, 'terminated', 'terminate.ok', T0 + 4, T0 + 4, 0],
      ]);
    });

    test('notifyOn(nothing) writes no outbox rows', async () => {
      ctx.store.notifyOn(new Set());
      const id = await scheduleOne();
      await ctx.store.work.claim('w', T0, LEASE, 10);
      await ctx.store.work.settle('w', [outcome(id)], T0 + 1);
      assert.deepEqual(await outbox(), []);
    });
  });

  describe('delivered as a leased queue', () => {
    const notified = async () => {
      const id = await scheduleOne();
      await ctx.store.work.claim('w', T0, LEASE, 10);
      await ctx.store.work.settle('w', [outcome(id)], T0 + 1);
      return id;
    };

    test('claimed with its termination by one replica only; finished, never again', async () => {
      const id = await notified();
      const b = await ctx.replica();
      assert.equal(await ctx.store.notifications.nextWake(), T0 + 1);
      const [x, y] = await Promise.all([ctx.store.notifications.claim('a', T0 + 1, LEASE, 10), b.notifications.claim('b', T0 + 1, LEASE, 10)]);
      assert.equal(x.length + y.length, 1, 'exactly one replica got it');
      const n = [...x, ...y][0]!;
      const owner = x.length === 1 ? 'a' : 'b';
      assert.equal(typeof n.id, 'number');
      assert.deepEqual([n.state, n.event, n.attempts, n.termination.id, n.termination.region, n.termination.due_at], ['terminated', 'terminate.ok', 0, id, 'us-east-1', T0]);
      assert.equal(await ctx.store.notifications.nextWake(), T0 + 1 + LEASE, 'the lease expiry');
      await ctx.store.notifications.finish(owner, n.id, 'delivered', null, T0 + 2);
      assert.equal(await ctx.store.notifications.nextWake(), null);
      assert.deepEqual(await ctx.store.notifications.claim('a', T0 + 10 * LEASE, LEASE, 10), []);
      const [row] = await outbox();
      assert.deepEqual([row!.outcome, row!.done_at, row!.attempts, row!.lease_owner], ['delivered', T0 + 2, 1, null]);
    });

    test('retryAt: due again then, one attempt more; a lost lease ignores the old holder; release gives back', async () => {
      await notified();
      const [n] = await ctx.store.notifications.claim('a', T0 + 1, LEASE, 10);
      await ctx.store.notifications.retryAt('a', n!.id, T0 + 5000, 'HTTP 503');
      assert.deepEqual(await ctx.store.notifications.claim('b', T0 + 4999, LEASE, 10), []);
      const [again] = await ctx.store.notifications.claim('b', T0 + 5000, LEASE, 10);
      assert.equal(again!.attempts, 1);
      // b's lease runs out; c takes it over; b's late answer changes nothing.
      const [taken] = await ctx.store.notifications.claim('c', T0 + 5000 + LEASE, LEASE, 10);
      assert.equal(taken!.id, n!.id);
      await ctx.store.notifications.finish('b', n!.id, 'delivered', null, T0 + 5001 + LEASE);
      assert.equal((await outbox())[0]!.outcome, null);
      assert.equal(await ctx.store.notifications.release('c', T0 + 6000 + LEASE), 1);
      assert.equal(await ctx.store.notifications.nextWake(), T0 + 6000 + LEASE, 'due at once');
    });
  });
});
