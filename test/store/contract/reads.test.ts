/**
 * The store contract, operator reads: run against every engine (helpers/for-each-engine.ts) through the ports
 * (src/store/ports.ts). Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListQuery } from '../../../src/store/ports.js';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { T0, LEASE, iid, handOff, outcome, readers } from './fixtures.js';

forEachEngine('store-reads', (ctx) => {
  const { get, history, list } = readers(ctx);
  const replica = () => ctx.replica();

  describe('reading', () => {
    test('list: newest first, keyset paging by id, filters', async () => {
      const recs = await ctx.store.handOffs.recordHandOffs(
        [0, 1, 2, 3, 4].map((i) => handOff([iid()], { component: i % 2 === 0 ? 'web' : 'worker', project: i < 4 ? 'shop' : 'blog' })),
        T0,
      );
      const ids = recs.map((r) => r[0]!.id);
      const page1 = await list({ limit: 2 });
      assert.deepEqual(page1.map((r) => r.id), [ids[4], ids[3]]);
      const page2 = await list({ limit: 2, after: { id: page1.at(-1)!.id } });
      assert.deepEqual(page2.map((r) => r.id), [ids[2], ids[1]]);
      const page3 = await list({ limit: 2, after: { id: page2.at(-1)!.id } });
      assert.deepEqual(page3.map((r) => r.id), [ids[0]]);
      assert.deepEqual((await list({ limit: 10, component: 'worker' })).map((r) => r.id), [ids[3], ids[1]]);
      assert.deepEqual((await list({ limit: 10, project: 'blog' })).map((r) => r.id), [ids[4]]);
      const one = (await get(ids[2]!))!;
      assert.deepEqual((await list({ limit: 10, instanceId: one.instance_id })).map((r) => r.id), [ids[2]]);
      await ctx.store.work.claim('a', T0, LEASE, 1);
      await ctx.store.work.settle('a', [outcome(ids[0]!)], T0 + 1);
      assert.deepEqual((await list({ limit: 10, states: ['terminated'] })).map((r) => r.id), [ids[0]]);
      assert.deepEqual((await list({ limit: 10, states: ['pending'], after: { id: ids[3]! } })).map((r) => r.id), [ids[2], ids[1]]);
      assert.equal(await get(999_999_999), undefined);
    });

    test('countLive and nextWake follow live rows only', async () => {
      assert.equal(await ctx.store.reads.countLive(), 0);
      assert.equal(await ctx.store.work.nextWake(), null);
      const recs = await ctx.store.handOffs.recordHandOffs(
        [handOff([iid()], { firstAttemptAt: T0 + 500 }), handOff([iid()], { firstAttemptAt: T0 + 200 })],
        T0,
      );
      assert.equal(await ctx.store.reads.countLive(), 2);
      assert.equal(await ctx.store.work.nextWake(), T0 + 200);
      const [claimed] = await ctx.store.work.claim('a', T0 + 200, LEASE, 1);
      assert.equal(claimed?.id, recs[1]![0]!.id);
      assert.equal(await ctx.store.work.nextWake(), T0 + 500, 'the lease expiry is later than the other row');
      await ctx.store.work.settle('a', [outcome(claimed!.id)], T0 + 201);
      assert.equal(await ctx.store.reads.countLive(), 1);
      assert.equal(await ctx.store.work.nextWake(), T0 + 500);
    });
  });

  describe('list orders', () => {
    /** Every page of `q` (limit 2), following the cursor as the API does: the ids in order. */
    async function allPages(q: Partial<ListQuery>): Promise<number[]> {
      const out: number[] = [];
      let after: ListQuery['after'];
      for (let pages = 0; pages < 50; pages++) {
        const page = await ctx.store.reads.list({ limit: 2, ...q, after });
        out.push(...page.rows.map((r) => r.id));
        const last = page.rows.at(-1);
        if (!page.more || !last) return out;
        after = { id: last.id, at: q.order === 'due' ? last.due_at : q.order === 'ended' ? last.updated_at : undefined };
      }
      throw new Error('more than 50 pages');
    }

    test('order=due: soonest due first, ties by lower id, paged by (due_at, id) across states', async () => {
      const dues = [T0 + 300, T0 + 100, T0 + 200, T0 + 100, T0 + 100, T0 + 50];
      const ids = (await ctx.store.handOffs.recordHandOffs(dues.map((d) => handOff([iid()], { dueAt: d, firstAttemptAt: d })), T0)).map((r) => r[0]!.id);
      // One of them draining: a listing over several states merges their seeks.
      await ctx.db.updateTable('terminations').set({ state: 'draining' }).where('id', '=', ids[3]!).execute();
      const expected = ids.map((id, i) => ({ id, due: dues[i]! })).sort((a, b) => a.due - b.due || a.id - b.id).map((r) => r.id);
      assert.deepEqual(await allPages({ order: 'due' }), expected);
      assert.deepEqual(await allPages({ order: 'due', states: ['pending', 'draining'] }), expected);
      assert.deepEqual(await allPages({ order: 'due', states: ['pending'] }), expected.filter((id) => id !== ids[3]));
      assert.deepEqual(await allPages({ order: 'due', project: 'shop' }), expected);
      assert.deepEqual(await allPages({ order: 'due', instanceId: (await get(ids[4]!))!.instance_id }), [ids[4]]);
    });

    test('order=ended: final rows only, the latest to end first, ties by higher id', async () => {
      const ids = (await ctx.store.handOffs.recordHandOffs([0, 1, 2, 3, 4].map(() => handOff([iid()])), T0)).map((r) => r[0]!.id);
      await ctx.store.work.claim('a', T0, LEASE, 10);
      const ends = [T0 + 20, T0 + 10, T0 + 20, T0 + 30];
      for (const [i, end] of ends.entries()) await ctx.store.work.settle('a', [outcome(ids[i]!, i === 1 ? { state: 'failed', event: 'terminate.failed' } : {})], end);
      const expected = [ids[3], ids[2], ids[0], ids[1]]; // ids[4] is still live
      assert.deepEqual(await allPages({ order: 'ended' }), expected);
      assert.deepEqual(await allPages({ order: 'ended', states: ['terminated'] }), [ids[3], ids[2], ids[0]]);
      assert.deepEqual(await allPages({ order: 'ended', states: ['terminated', 'failed'], component: 'web' }), expected);
      assert.deepEqual(await allPages({ order: 'ended', instanceId: (await get(ids[4]!))!.instance_id }), [], 'a live row has not ended');
    });

    test('order=id with several states merges newest first', async () => {
      const ids = (await ctx.store.handOffs.recordHandOffs([0, 1, 2, 3].map(() => handOff([iid()])), T0)).map((r) => r[0]!.id);
      await ctx.db.updateTable('terminations').set({ state: 'draining' }).where('id', 'in', [ids[0]!, ids[2]!]).execute();
      assert.deepEqual(await allPages({ states: ['pending', 'draining'] }), [...ids].reverse());
    });
  });
});
