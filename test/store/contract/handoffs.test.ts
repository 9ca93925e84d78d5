/**
 * The store contract, hand-offs: run against every engine (helpers/for-each-engine.ts) through the ports
 * (src/store/ports.ts). Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { T0, LEASE, iid, handOff, outcome, readers } from './fixtures.js';

forEachEngine('store-handoffs', (ctx) => {
  const { get, history, list } = readers(ctx);
  const replica = () => ctx.replica();

  describe('recording hand-offs', () => {
    test('new instances get one pending row each, with numbers (not strings) for ids and times', async () => {
      const ids = [iid(), iid()];
      const [scheduled] = await ctx.store.handOffs.recordHandOffs([handOff(ids, { dueAt: T0 + 10_000, firstAttemptAt: T0 + 10_000 })], T0);
      assert.equal(scheduled!.length, 2);
      for (const [i, s] of scheduled!.entries()) {
        assert.equal(typeof s.id, 'number');
        assert.deepEqual({ ...s, id: 0 }, { id: 0, instance_id: ids[i], region: 'us-east-1', state: 'pending', due_at: T0 + 10_000, next_attempt_at: T0 + 10_000, duplicate: false });
      }
      const row = await get(scheduled![0]!.id);
      assert.equal(row?.next_attempt_at, T0 + 10_000);
      assert.equal(row?.created_at, T0);
      assert.equal(row?.lease_owner, null);
      assert.equal(row?.attempts, 0);
      assert.equal(await ctx.store.reads.countLive(), 2);
    });

    test('a repeated hand-off finds the live row: same id, duplicate, nothing new scheduled', async () => {
      const id = iid();
      const first = (await ctx.store.handOffs.recordHandOffs([handOff([id])], T0))[0]![0]!;
      const again = (await ctx.store.handOffs.recordHandOffs([handOff([id], { dueAt: T0 + 99_000 })], T0 + 5))[0]![0]!;
      assert.equal(again.id, first.id);
      assert.equal(again.duplicate, true);
      assert.equal(again.due_at, T0, 'the original schedule stands');
      assert.equal(await ctx.store.reads.countLive(), 1);
    });

    test('the same instance twice in one group commit: one row, both documents answered with it', async () => {
      const id = iid();
      const [a, b] = await ctx.store.handOffs.recordHandOffs([handOff([id]), handOff([id, iid()])], T0);
      assert.equal(a![0]!.id, b![0]!.id);
      assert.deepEqual([a![0]!.duplicate, b![0]!.duplicate], [false, true], 'the second document is told it repeats');
      assert.equal(await ctx.store.reads.countLive(), 2);
    });

    test('the same id in another region is another instance; a final row does not block a new hand-off', async () => {
      const id = iid();
      const east = (await ctx.store.handOffs.recordHandOffs([handOff([id])], T0))[0]![0]!;
      const west = (await ctx.store.handOffs.recordHandOffs([handOff([id], { region: 'eu-west-1' })], T0))[0]![0]!;
      assert.notEqual(west.id, east.id);
      assert.equal(west.duplicate, false);
      const [claimed] = await ctx.store.work.claim('w', T0, LEASE, 10).then((rows) => rows.filter((r) => r.id === east.id));
      assert.ok(claimed);
      await ctx.store.work.settle('w', [outcome(east.id)], T0 + 1);
      const next = (await ctx.store.handOffs.recordHandOffs([handOff([id])], T0 + 2))[0]![0]!;
      assert.notEqual(next.id, east.id, 'a new termination once the old one is final');
      assert.equal(next.duplicate, false);
    });

    test('replicas recording the same instances at the same moment schedule each once', async () => {
      const [b, c] = [await replica(), await replica()];
      const ids = Array.from({ length: 60 }, iid);
      const results = await Promise.all(
        [ctx.store, b, c].flatMap((s) => [0, 1].map(() => s.handOffs.recordHandOffs(ids.map((id) => handOff([id])), T0))),
      );
      const idsByInstance = new Map<string, Set<number>>();
      for (const docs of results) for (const [s] of docs) idsByInstance.set(s!.instance_id, (idsByInstance.get(s!.instance_id) ?? new Set()).add(s!.id));
      assert.equal(idsByInstance.size, 60);
      for (const [instance, rowIds] of idsByInstance) assert.equal(rowIds.size, 1, `${instance} got rows ${[...rowIds]}`);
      assert.equal(await ctx.store.reads.countLive(), 60);
      const fresh = results.flat().filter(([s]) => !s!.duplicate).length;
      assert.equal(fresh, 60, 'exactly one caller per instance saw it as new');
    });
    test('replicas recording overlapping instances in opposite orders do not deadlock', async () => {
      const b = await replica();
      for (let round = 0; round < 5; round++) {
        const ids = Array.from({ length: 200 }, iid);
        const reversed = [...ids].reverse();
        const [x, y] = await Promise.all([
          ctx.store.handOffs.recordHandOffs(ids.map((id) => handOff([id])), T0),
          b.handOffs.recordHandOffs(reversed.map((id) => handOff([id])), T0),
        ]);
        assert.equal(x.length + y.length, 400);
      }
      assert.equal(await ctx.store.reads.countLive(), 1000);
    });
  });
});
