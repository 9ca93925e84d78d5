/**
 * Operator actions as conditional updates that also clear the lease. The worker records everything under
 * its lease and moves rows to `terminating` under it before the irreversible call, so whichever of the two
 * commits first wins, and the other sees it (the operator gets a conflict with the state, or the worker
 * finds the row no longer its own and leaves it alone). What to change is the caller's (src/operator/).
 */
import type { Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import type { ActionResult, OperatorActions } from './ports.js';
import type { Database } from './schema.js';
import type { Transitions } from './transitions.js';

export function operatorActions(db: Kysely<Database>, dialect: Dialect, transitions: Transitions): OperatorActions {
  return {
    act: (id, now, fromStates, decide) =>
      transitions.durably(async (trx): Promise<ActionResult> => {
        // Locked where the engine can: a worker on another replica cannot write its step progress between
        // our read and our update (expedite writes step_data back whole); its update waits, then finds its lease gone.
        const row = await dialect.lockRow(trx.selectFrom('terminations').selectAll().where('id', '=', id)).executeTakeFirst();
        if (!row) return { kind: 'not_found' };
        if (row.next_attempt_at === null || !fromStates.includes(row.state)) return { kind: 'conflict', state: row.state };
        const history = await trx.selectFrom('termination_history').selectAll().where('termination_id', '=', id).orderBy('id').execute();
        const change = decide(row, history);
        const updated = await trx
          .updateTable('terminations')
          .set({ ...change.set, lease_owner: null, updated_at: now })
          .where('id', '=', id)
          .where('state', 'in', fromStates)
          .where('next_attempt_at', 'is not', null)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          // Changed between our read and our update (another replica's worker, PostgreSQL read committed).
          const current = await trx.selectFrom('terminations').select('state').where('id', '=', id).executeTakeFirst();
          return { kind: 'conflict', state: current?.state ?? row.state };
        }
        await transitions.record(trx, [{ termination_id: id, at: now, ...change.history }]);
        const after = await trx.selectFrom('terminations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const full = await trx.selectFrom('termination_history').selectAll().where('termination_id', '=', id).orderBy('id').execute();
        return { kind: 'done', row: after, history: full };
      }),
  };
}
