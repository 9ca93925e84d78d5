/**
 * An operator's expedite racing a worker on another replica (PostgreSQL): the worker writes its step
 * progress (step_data) while the expedite is between reading the row and writing it back. The expedite
 * must lock the row when it reads it, so it either waits for the worker's write and keeps it, or the
 * worker's write waits and finds its lease gone. Without the lock, read committed lets the expedite write
 * back a step_data read before the worker's, and the worker's progress is lost.
 * Skips without PostgreSQL as store.test.ts does (a failure under CI=true).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { expediteTermination } from '../../src/operator/index.js';
import { connect } from '../../src/store/connect.js';
import { openSqlStore } from '../../src/store/open.js';
import { freshDatabase } from '../helpers/fresh-database.js';
import { handOffRecord } from '../helpers/handoff-record.js';
import { postgresSkip } from '../helpers/postgres.js';

const T0 = 1_750_000_000_000;

describe('expedite against a worker on another replica (PostgreSQL)', { skip: await postgresSkip() }, () => {
  test("the worker's step progress written meanwhile is kept, with the expedite mark", async () => {
    const database = await freshDatabase('postgres', 'oprace');
    const store = await openSqlStore({ database: database.url });
    const workerSide = await connect(database.url);
    try {
      const recorded = await store.handOffs.recordHandOffs([handOffRecord(['i-0123456789abcdef0'], T0 + 600_000, { firstStep: 'lb_deregister', firstAttemptAt: T0 })], T0);
      const id = recorded[0]![0]!.id;
      await workerSide.db.updateTable('terminations').set({ lease_owner: 'worker-b', state: 'draining', step_data: JSON.stringify({ asg: { detached: true, group: 'web' } }) }).where('id', '=', id).execute();

      // The worker's write is under way: its transaction holds the row, not yet committed.
      let releaseWorker!: () => void;
      const workerMayCommit = new Promise<void>((resolve) => (releaseWorker = resolve));
      let workerWrote!: () => void;
      const workerHasWritten = new Promise<void>((resolve) => (workerWrote = resolve));
      const worker = workerSide.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('terminations')
          .set({ step_data: JSON.stringify({ asg: { detached: true, group: 'web' }, lb: { targets: [{ arn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1', port: 80 }], classic: [] } }) })
          .where('id', '=', id)
          .where('lease_owner', '=', 'worker-b')
          .execute();
        workerWrote();
        await workerMayCommit;
      });
      await workerHasWritten;

      const expedite = expediteTermination(store.actions, { id, by: 'alice', note: null, now: T0 + 1000 });
      // Wait until the expedite is blocked on the worker's row lock: at its read with the fix, at its
      // update (having read the row already) without it.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(workerSide.db);
        if (rows[0]!.n > 0) break;
        if (Date.now() > deadline) throw new Error('the expedite never waited for the row lock');
        await sleep(20);
      }
      releaseWorker();
      await worker;
      const result = await expedite;

      assert.equal(result.kind, 'done');
      const data = JSON.parse((await store.reads.get(id))!.row.step_data!) as { lb?: { targets: unknown[] }; expedited?: boolean };
      assert.equal(data.expedited, true, 'the expedite mark is there');
      assert.equal(data.lb?.targets.length, 1, "the worker's deregistration record, written meanwhile, is not lost");
    } finally {
      await workerSide.close();
      await store.close();
      await database.drop();
    }
  });
});
