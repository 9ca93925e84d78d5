/**
 * The store contract, step progress (saveProgress): step_data saved under the lease only, a row's whole
 * document at a time, with an optional history entry each in the same transaction, on every engine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { handOff, iid, LEASE, readers, T0 } from './fixtures.js';

forEachEngine('store-progress', (ctx) => {
  const { get, history } = readers(ctx);

  test('saved for held rows only; rows with the same document share it; a mark records history and the state', async () => {
    const ids = (await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()]), handOff([iid()])], T0)).map((r) => r[0]!.id);
    await ctx.store.work.claim('me', T0, LEASE, 2);
    await ctx.store.work.claim('other', T0, LEASE, 5);
    const mine = (await Promise.all(ids.map(get))).filter((r) => r!.lease_owner === 'me').map((r) => r!.id);
    const theirs = ids.find((id) => !mine.includes(id))!;
    const doc = JSON.stringify({ asg: { detached: true, group: 'web' } });
    const mark = { state: 'draining', step: 'asg_detach', event: 'asg_detach.ok', detail: (id: number) => `row ${id}` };
    const written = await ctx.store.work.saveProgress('me', [...mine, theirs].map((id) => ({ id, json: doc })), T0 + 5, mark);
    assert.deepEqual(written.sort(), [...mine].sort());
    for (const id of mine) {
      const row = (await get(id))!;
      assert.deepEqual([row.step_data, row.state, row.updated_at], [doc, 'draining', T0 + 5]);
      assert.deepEqual((await history(id)).map((h) => [h.event, h.state, h.step, h.detail, h.at]), [['asg_detach.ok', 'draining', 'asg_detach', `row ${id}`, T0 + 5]]);
    }
    assert.equal((await get(theirs))!.step_data, null, "another owner's row is left alone");
    assert.deepEqual(await history(theirs), []);
  });

  test('rows with different documents each keep their own', async () => {
    const ids = (await ctx.store.handOffs.recordHandOffs([handOff([iid()]), handOff([iid()]), handOff([iid()])], T0)).map((r) => r[0]!.id);
    await ctx.store.work.claim('me', T0, LEASE, 3);
    const docs = ids.map((id, i) => JSON.stringify({ hook: { attempts: i % 2 === 0 ? 1 : 2, for: id } }));
    assert.deepEqual((await ctx.store.work.saveProgress('me', ids.map((id, i) => ({ id, json: docs[i]! })), T0 + 5)).sort(), [...ids].sort());
    assert.deepEqual(await Promise.all(ids.map(async (id) => (await get(id))!.step_data)), docs);
    assert.deepEqual(await history(ids[0]!), [], 'no mark, no history');
  });

  test('without a document only the mark is written; without entries nothing', async () => {
    const [id] = (await ctx.store.handOffs.recordHandOffs([handOff([iid()], { stepData: '{"hook":{"attempts":1}}' })], T0)).map((r) => r[0]!.id);
    await ctx.store.work.claim('me', T0, LEASE, 1);
    assert.deepEqual(await ctx.store.work.saveProgress('me', [{ id: id! }], T0 + 6, { state: 'draining', step: 'drain_wait', event: 'drain_wait.started', detail: () => null }), [id]);
    assert.equal((await get(id!))!.step_data, '{"hook":{"attempts":1}}');
    assert.deepEqual((await history(id!)).map((h) => h.event), ['drain_wait.started']);
    assert.deepEqual(await ctx.store.work.saveProgress('me', [], T0 + 7), []);
  });

  test('a lost lease saves nothing', async () => {
    const [id] = (await ctx.store.handOffs.recordHandOffs([handOff([iid()])], T0)).map((r) => r[0]!.id);
    await ctx.store.work.claim('me', T0, LEASE, 1);
    await ctx.store.work.claim('next', T0 + LEASE, LEASE, 1);
    assert.deepEqual(await ctx.store.work.saveProgress('me', [{ id: id!, json: '{}' }], T0 + LEASE + 1), []);
    assert.equal((await get(id!))!.step_data, null);
  });
});
