/**
 * The store contract, operator actions (act): the row read under a lock, checked, changed as `decide`
 * says, the lease cleared and the history recorded in one durable transaction, on every engine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RowChange } from '../../../src/store/ports.js';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { handOff, iid, LEASE, outcome, readers, T0 } from './fixtures.js';

const FROM = ['pending', 'draining'] as const;
const change: RowChange = { set: { state: 'cancelled', next_attempt_at: null, reason: 'by test' }, history: { state: 'cancelled', step: 'terminate', event: 'cancelled', detail: 'why' } };

forEachEngine('store-actions', (ctx) => {
  const { get, history } = readers(ctx);
  const scheduleOne = async () => (await ctx.store.handOffs.recordHandOffs([handOff([iid()])], T0))[0]![0]!.id;

  test('not_found for an id that does not exist; decide is not asked', async () => {
    const result = await ctx.store.actions.act(999_999_999, T0, FROM, () => assert.fail('decide was asked'));
    assert.deepEqual(result, { kind: 'not_found' });
  });

  test('conflict with the current state when it is not in fromStates, or final', async () => {
    const id = await scheduleOne();
    await ctx.store.work.claim('w', T0, LEASE, 1);
    await ctx.store.work.enter('w', [id], 'terminating', 'terminate.started', T0 + 1);
    assert.deepEqual(await ctx.store.actions.act(id, T0 + 2, FROM, () => change), { kind: 'conflict', state: 'terminating' });
    await ctx.store.work.settle('w', [outcome(id)], T0 + 3);
    assert.deepEqual(await ctx.store.actions.act(id, T0 + 4, ['pending', 'terminated'], () => change), { kind: 'conflict', state: 'terminated' }, 'a final row never changes');
    assert.deepEqual((await history(id)).map((h) => h.event), ['terminate.started', 'terminate.ok']);
  });

  test('done: decide sees the row and its history; the change, a cleared lease and the entry are committed', async () => {
    const id = await scheduleOne();
    await ctx.store.work.claim('w', T0, LEASE, 1);
    await ctx.store.work.saveProgress('w', [{ id, json: '{"asg":{"detached":true}}' }], T0 + 1, { state: 'draining', step: 'asg_detach', event: 'asg_detach.ok', detail: () => null });
    let seen: [string, string | null, string[]] | undefined;
    const result = await ctx.store.actions.act(id, T0 + 2, FROM, (row, h) => {
      seen = [row.state, row.lease_owner, h.map((e) => e.event)];
      return change;
    });
    assert.deepEqual(seen, ['draining', 'w', ['asg_detach.ok']]);
    assert.equal(result.kind, 'done');
    if (result.kind !== 'done') return;
    assert.deepEqual([result.row.state, result.row.next_attempt_at, result.row.lease_owner, result.row.reason, result.row.updated_at], ['cancelled', null, null, 'by test', T0 + 2]);
    assert.deepEqual(result.history.map((h) => [h.event, h.state, h.detail, h.at]), [['asg_detach.ok', 'draining', null, T0 + 1], ['cancelled', 'cancelled', 'why', T0 + 2]]);
    assert.deepEqual((await get(id))!.state, 'cancelled');
    // The worker that held it finds its lease gone.
    assert.deepEqual(await ctx.store.work.settle('w', [outcome(id)], T0 + 3), []);
  });
});
