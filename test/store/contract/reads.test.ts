/**
 * The store contract, operator reads: run against every engine (helpers/for-each-engine.ts) through the ports
 * (src/store/ports.ts). Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
});
