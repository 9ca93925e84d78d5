/**
 * The store contract, the work queue: run against every engine (helpers/for-each-engine.ts) through the ports
 * (src/store/ports.ts). Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { T0, LEASE, iid, handOff, outcome, readers } from './fixtures.js';

forEachEngine('store-work', (ctx) => {
  const { get, history, list } = readers(ctx);
  const replica = () => ctx.replica();

  describe('claiming with leases', () => {
    test('soleWriter: true where only this process writes the database (SQLite), false where replicas share it', () => {
      assert.equal(ctx.store.work.soleWriter, ctx.engine === 'sqlite');
    });

    test('claims only due rows, oldest first, up to the limit, under the owner until now + lease', async () => {
      const due = await ctx.store.handOffs.recordHandOffs(
        [0, 1, 2].map((i) => handOff([iid()], { firstAttemptAt: T0 - 1000 + i })),
        T0 - 5000,
      );
      await ctx.store.handOffs.recordHandOffs([handOff([iid()], { dueAt: T0 + 1, firstAttemptAt: T0 + 1 })], T0 - 5000);
      const claimed = await ctx.store.work.claim('a', T0, LEASE, 2);
      assert.deepEqual(claimed.map((r) => r.id).sort(), [due[0]![0]!.id, due[1]![0]!.id].sort());
      for (const r of claimed) {
        assert.equal(r.lease_owner, 'a');
        assert.equal(r.next_attempt_at, T0 + LEASE);
        assert.equal(typeof r.next_attempt_at, 'number');
      }
      const rest = await ctx.store.work.claim('a', T0, LEASE, 10);
      assert.deepEqual(rest.map((r) => r.id), [due[2]![0]!.id], 'the not-yet-due row stays');
    });

    test('a held row is not claimed by another replica until its lease expires; then it is taken over', async () => {
      const b = await replica();
      const s = (await ctx.store.handOffs.recordHandOffs([handOff([iid()])], T0))[0]![0]!;
      assert.equal((await ctx.store.work.claim('a', T0, LEASE, 10)).length, 1);
      assert.deepEqual(await b.work.claim('b', T0 + LEASE - 1, LEASE, 10), [], 'still leased to a');
      const taken = await b.work.claim('b', T0 + LEASE, LEASE, 10);
      assert.deepEqual(taken.map((r) => [r.id, r.lease_owner, r.next_attempt_at]), [[s.id, 'b', T0 + 2 * LEASE]]);
      // The replica that lost the lease cannot settle, extend or move the row any more.
      assert.deepEqual(await ctx.store.work.settle('a', [outcome(s.id, { state: 'failed', event: 'x' })], T0 + LEASE + 1), []);
      assert.deepEqual(await ctx.store.work.enter('a', [s.id], 'terminating', 'terminate.started', T0 + LEASE + 1), []);
      await ctx.store.work.extend('a', [s.id], T0 + 10 * LEASE);
      assert.equal((await get(s.id))?.next_attempt_at, T0 + 2 * LEASE);
      assert.equal(await ctx.store.work.release('a', T0 + LEASE + 2), 0);
      assert.deepEqual(await b.work.settle('b', [outcome(s.id)], T0 + LEASE + 3), [s.id]);
      const row = await get(s.id);
      assert.deepEqual([row?.state, row?.next_attempt_at, row?.lease_owner], ['terminated', null, null]);
      assert.deepEqual((await history(s.id)).map((e) => e.event), ['terminate.ok'], 'no history from the loser');
    });

    test('replicas claiming at the same moment never get the same row (SKIP LOCKED on PostgreSQL)', async () => {
      const stores = [ctx.store, await replica(), await replica()];
      const n = 300;
      const ids = Array.from({ length: n }, iid);
      await ctx.store.handOffs.recordHandOffs(ids.map((id) => handOff([id])), T0 - 1);
      const claims = new Map<number, string>();
      await Promise.all(
        stores.map(async (s, k) => {
          const owner = `r${k}`;
          for (;;) {
            const rows = await s.work.claim(owner, T0, LEASE, 17);
            if (rows.length === 0) return;
            for (const r of rows) {
              assert.equal(claims.get(r.id), undefined, `row ${r.id} claimed by ${claims.get(r.id)} and ${owner}`);
              claims.set(r.id, owner);
            }
          }
        }),
      );
      assert.equal(claims.size, n);
      const owners = await ctx.db.selectFrom('terminations').select(['id', 'lease_owner']).execute();
      for (const o of owners) assert.equal(o.lease_owner, claims.get(o.id));
    });

    test("one replica's claim batches hand-offs that other replicas accepted", async () => {
      const [b, c] = [await replica(), await replica()];
      const fromA = await ctx.store.handOffs.recordHandOffs([handOff([iid(), iid()])], T0);
      const fromB = await b.handOffs.recordHandOffs([handOff([iid()])], T0);
      const fromC = await c.handOffs.recordHandOffs([handOff([iid()])], T0);
      const claimed = await c.work.claim('c', T0, LEASE, 100);
      const expected = [...fromA, ...fromB, ...fromC].flat().map((s) => s.id).sort();
      assert.deepEqual(claimed.map((r) => r.id).sort(), expected);
    });

    test('extendLeases pushes only the owner\'s rows; releaseLeases gives them back, due now', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()]), handOff([iid()])], T0);
      const [x, y, z] = recs.map((r) => r[0]!.id) as [number, number, number];
      await ctx.store.work.claim('a', T0, LEASE, 2); // x, y (same next_attempt_at: either order)
      const heldByA = (await list({ limit: 10 })).filter((r) => r.lease_owner === 'a').map((r) => r.id);
      assert.equal(heldByA.length, 2);
      await ctx.store.work.claim('b', T0, LEASE, 10); // the third one
      await ctx.store.work.extend('a', [x, y, z], T0 + 5 * LEASE);
      for (const id of [x, y, z]) {
        const r = await get(id);
        assert.equal(r?.next_attempt_at, r?.lease_owner === 'a' ? T0 + 5 * LEASE : T0 + LEASE, `row ${id}`);
      }
      assert.equal(await ctx.store.work.release('a', T0 + 7), 2);
      for (const id of heldByA) assert.deepEqual(await get(id).then((r) => [r?.lease_owner, r?.next_attempt_at]), [null, T0 + 7]);
      assert.equal((await list({ limit: 10 })).filter((r) => r.lease_owner === 'b').length, 1, "b's lease is untouched");
    });

    test('releaseAllLeases (SQLite start-up) frees every live lease and leaves final rows final', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
      const [x, y] = recs.map((r) => r[0]!.id) as [number, number];
      await ctx.store.work.claim('gone', T0, LEASE, 10);
      await ctx.store.work.settle('gone', [outcome(y)], T0 + 1);
      assert.equal(await ctx.store.work.releaseAll(T0 + 2), 1);
      assert.deepEqual(await get(x).then((r) => [r?.lease_owner, r?.next_attempt_at]), [null, T0 + 2]);
      assert.deepEqual(await get(y).then((r) => [r?.state, r?.next_attempt_at]), ['terminated', null]);
    });
  });

  describe('settling work', () => {
    test('applyOutcomes: per-row decisions, attempts reset/increment/keep, history, lease released', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs([0, 1, 2, 3].map(() => handOff([iid()])), T0);
      const [ok, retry1, retry2, reset] = recs.map((r) => r[0]!.id) as [number, number, number, number];
      await ctx.db.updateTable('terminations').set({ attempts: 2 }).where('id', 'in', [retry1, retry2, reset]).execute();
      await ctx.store.work.claim('a', T0, LEASE, 10);
      const settled = await ctx.store.work.settle(
        'a',
        [
          outcome(ok),
          outcome(retry1, { state: 'terminating', nextAttemptAt: T0 + 4000, attempts: 'increment', reason: 'throttled', event: 'terminate.retry', detail: 'slow down' }),
          outcome(retry2, { state: 'terminating', nextAttemptAt: T0 + 4000, attempts: 'increment', reason: 'throttled', event: 'terminate.retry', detail: 'slow down' }),
          outcome(reset, { state: 'draining', step: 'drain', nextAttemptAt: T0 + 100, attempts: 'reset', event: 'detach.ok' }),
        ],
        T0 + 10,
      );
      assert.deepEqual(settled.sort(), [ok, retry1, retry2, reset].sort());
      const rows = new Map((await list({ limit: 10 })).map((r) => [r.id, r]));
      const view = (id: number) => {
        const r = rows.get(id)!;
        return [r.state, r.step, r.next_attempt_at, r.attempts, r.lease_owner, r.reason, r.updated_at];
      };
      assert.deepEqual(view(ok), ['terminated', 'terminate', null, 0, null, null, T0 + 10]);
      assert.deepEqual(view(retry1), ['terminating', 'terminate', T0 + 4000, 3, null, 'throttled', T0 + 10]);
      assert.deepEqual(view(retry2), ['terminating', 'terminate', T0 + 4000, 3, null, 'throttled', T0 + 10]);
      assert.deepEqual(view(reset), ['draining', 'drain', T0 + 100, 0, null, null, T0 + 10]);
      const hist = await history(retry1);
      assert.deepEqual(hist.map((e) => [e.event, e.state, e.step, e.detail, e.at]), [['terminate.retry', 'terminating', 'terminate', 'slow down', T0 + 10]]);
      assert.equal(await ctx.store.reads.countLive(), 3);
    });

    test('ids and history rows go in one parameter: awkward text and NULLs survive, and 2,000 rows are one batch', async () => {
      const many = (await ctx.store.handOffs.recordHandOffs([handOff(Array.from({ length: 2000 }, iid))], T0))[0]!.map((s) => s.id);
      assert.equal((await ctx.store.work.claim('a', T0, LEASE, 5000)).length, 2000);
      await ctx.store.work.extend('a', many, T0 + 2 * LEASE);
      assert.equal((await get(many[1999]!))?.next_attempt_at, T0 + 2 * LEASE);
      const awkward = `a "quoted", {braced} \\ back'slash\u00e9 NULL \u{1F600}\n`;
      const [first, second] = many as [number, number];
      const settled = await ctx.store.work.settle(
        'a',
        many.map((id) => outcome(id, { detail: id === first ? awkward : id === second ? 'NULL' : null })),
        T0 + 1,
      );
      assert.equal(settled.length, 2000);
      assert.deepEqual((await history(first)).map((e) => [e.detail, e.termination_id, e.at]), [[awkward, first, T0 + 1]]);
      assert.deepEqual((await history(second)).map((e) => e.detail), ['NULL'], 'the text NULL is text');
      assert.deepEqual((await history(many[1999]!)).map((e) => [e.detail, e.state]), [[null, 'terminated']]);
    });

    test('applyOutcomes only settles rows the owner holds', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
      const [mine, theirs] = recs.map((r) => r[0]!.id) as [number, number];
      await ctx.db.updateTable('terminations').set({ lease_owner: 'a', next_attempt_at: T0 + LEASE }).where('id', '=', mine).execute();
      await ctx.db.updateTable('terminations').set({ lease_owner: 'b', next_attempt_at: T0 + LEASE }).where('id', '=', theirs).execute();
      assert.deepEqual(await ctx.store.work.settle('a', [outcome(mine), outcome(theirs)], T0 + 1), [mine]);
      assert.equal((await get(theirs))?.state, 'pending');
      assert.deepEqual(await history(theirs), []);
      assert.deepEqual(await ctx.store.work.settle('a', [], T0 + 1), []);
    });

    test('enterState moves only held rows and records the event', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
      const [mine, free] = recs.map((r) => r[0]!.id) as [number, number];
      await ctx.db.updateTable('terminations').set({ lease_owner: 'a' }).where('id', '=', mine).execute();
      assert.deepEqual(await ctx.store.work.enter('a', [mine, free], 'terminating', 'terminate.started', T0 + 3), [mine]);
      assert.deepEqual(await get(mine).then((r) => [r?.state, r?.updated_at, r?.lease_owner]), ['terminating', T0 + 3, 'a']);
      assert.equal((await get(free))?.state, 'pending');
      assert.deepEqual((await history(mine)).map((e) => [e.event, e.state, e.at]), [['terminate.started', 'terminating', T0 + 3]]);
    });

    test('large batches (over one statement chunk) are claimed and settled whole', async () => {
      const n = 1200;
      await ctx.store.handOffs.recordHandOffs(Array.from({ length: n }, () => handOff([iid()])), T0);
      const claimed = await ctx.store.work.claim('a', T0, LEASE, 2000);
      assert.equal(claimed.length, n);
      const held = await ctx.store.work.enter('a', claimed.map((r) => r.id), 'terminating', 'terminate.started', T0 + 1);
      assert.equal(held.length, n);
      const settled = await ctx.store.work.settle('a', claimed.map((r) => outcome(r.id)), T0 + 2);
      assert.equal(settled.length, n);
      assert.equal(await ctx.store.reads.countLive(), 0);
    });
  });
});
