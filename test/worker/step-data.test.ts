/**
 * step_data (migration 003) on both engines: saved under the lease only, merged per row, with an optional
 * history entry in the same transaction; unreadable documents read as empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/ports.js';
import { readStepData } from '../../src/worker/step-data.js';
import { freshDatabase } from '../helpers/fresh-database.js';
import { postgresSkip } from '../helpers/postgres.js';
import { historyOf, rowOf } from '../helpers/store-reads.js';

const T0 = 1_750_000_000_000;

async function open(engine: 'sqlite' | 'postgres'): Promise<{ store: Store; close(): Promise<void> }> {
  const database = await freshDatabase(engine, 'stepdata');
  const store = await openStore({ database: database.url });
  return {
    store,
    async close() {
      await store.close();
      await database.drop();
    },
  };
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`step_data on ${engine}`, { skip: engine === 'postgres' ? await postgresSkip() : false }, () => {
    test('saved under the lease, with the history mark in the same transaction', async () => {
      const { store, close } = await open(engine);
      try {
        await store.handOffs.recordHandOffs(
          [{ region: 'us-east-1', instanceIds: ['i-00000001', 'i-00000002', 'i-00000003'], ipAddress: null, project: null, component: null, userData: null, requestedBy: null, sourceIp: null, userAgent: null, dueAt: T0, firstStep: 'asg_detach', firstAttemptAt: T0 }],
          T0,
        );
        const rows = await store.work.claim('me', T0, 30_000, 2);
        assert.equal(rows.length, 2);
        assert.equal(rows[0]!.step_data, null, 'a new row has no progress');
        const other = (await store.work.claim('someone-else', T0, 30_000, 5))[0]!;
        const mark = { state: 'draining', step: 'drain_hook', event: 'drain_hook.started', detail: (id: number) => `call 1 for ${id}` };
        const held = await store.work.saveProgress(
          'me',
          [
            { id: rows[0]!.id, json: JSON.stringify({ hook: { attempts: 1 } }) },
            { id: rows[1]!.id, json: JSON.stringify({ hook: { attempts: 1 } }) },
            { id: other.id, json: JSON.stringify({ hook: { attempts: 9 } }) },
          ],
          T0 + 5,
          mark,
        );
        assert.deepEqual(held.sort(), [rows[0]!.id, rows[1]!.id].sort(), 'a row another worker holds is left alone');
        const after = (await rowOf(store, rows[0]!.id))!;
        assert.deepEqual(readStepData(after), { hook: { attempts: 1 } });
        assert.equal(after.state, 'draining');
        assert.equal((await rowOf(store, other.id))!.step_data, null);
        const history = await historyOf(store, rows[1]!.id);
        assert.deepEqual(history.map((h) => [h.event, h.step, h.state, h.detail, Number(h.at)]), [['drain_hook.started', 'drain_hook', 'draining', `call 1 for ${rows[1]!.id}`, T0 + 5]]);
        // Without a document, only the mark: step_data is kept.
        await store.work.saveProgress('me', [{ id: rows[0]!.id }], T0 + 6, { ...mark, event: 'drain_wait.started', step: 'drain_wait' });
        assert.deepEqual(readStepData((await rowOf(store, rows[0]!.id))!), { hook: { attempts: 1 } });
      } finally {
        await close();
      }
    });
  });
}

test('an absent or unreadable document reads as no progress', () => {
  assert.deepEqual(readStepData({ step_data: null }), {});
  assert.deepEqual(readStepData({ step_data: 'not json' }), {});
  assert.deepEqual(readStepData({ step_data: '[1,2]' }), {});
  assert.deepEqual(readStepData({ step_data: '{"lb":{"targets":[],"classic":[],"startedAt":1,"deadline":2}}' }).lb?.deadline, 2);
});
