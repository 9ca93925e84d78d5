/**
 * Saving a step's progress (the `step_data` JSON column, migration 003) under the worker's lease, with an
 * optional history entry in the same transaction. A step saves what it has done before it reports the
 * result, so a worker that dies in between resumes with that knowledge instead of redoing the work.
 */
import type { TerminationStore } from './store.js';
import { chunks } from '../domain/chunks.js';
import { IDS_PER_STATEMENT } from './batch-sizes.js';

export interface StepDataEntry {
  id: number;
  /** The whole step_data document, as JSON text; absent: left as it is (only the history mark). */
  json?: string;
}

export interface HistoryMark {
  state: string;
  step: string;
  event: string;
  detail: (id: number) => string | null;
}


/** Writes each row's step_data if `owner` still holds the row; returns the ids written. */
export async function saveStepData(store: TerminationStore, owner: string, entries: StepDataEntry[], now: number, mark?: HistoryMark): Promise<number[]> {
  if (entries.length === 0) return [];
  // Rows with the same document (often a whole batch) share one UPDATE.
  const byJson = new Map<string | undefined, number[]>();
  for (const e of entries) {
    const ids = byJson.get(e.json);
    if (ids) ids.push(e.id);
    else byJson.set(e.json, [e.id]);
  }
  return store.durably(async (trx) => {
    const held: number[] = [];
    for (const [json, ids] of byJson) {
      for (const chunk of chunks(ids, IDS_PER_STATEMENT)) {
        const rows = await trx
          .updateTable('terminations')
          .set({ updated_at: now, ...(json !== undefined ? { step_data: json } : {}), ...(mark ? { state: mark.state } : {}) })
          .where('lease_owner', '=', owner)
          .where('id', 'in', chunk)
          .returning('id')
          .execute();
        held.push(...rows.map((r) => r.id));
      }
    }
    if (mark && held.length > 0) {
      // Through the store, so whatever it does with each transition (the notification outbox) happens.
      await store.insertHistory(trx, held.map((id) => ({ termination_id: id, at: now, state: mark.state, step: mark.step, event: mark.event, detail: mark.detail(id) })));
    }
    return held;
  });
}
