// For the few tests that set up a state no port writes (a row put on a step by hand, a backdated history
// entry) or look at a table no port shows (the outbox): through the store's own class, so no test file
// holds a database handle or knows the engine.
import type { Store } from '../../src/store/ports.js';
import type { HistoryRow, OutboxRow, TerminationRow } from '../../src/store/schema.js';
import { SqlStore } from '../../src/store/sql-store.js';

function tables(store: Store) {
  if (!(store instanceof SqlStore)) throw new Error('store-tables: not a store opened by openStore');
  return store.connection.db;
}

/** Sets columns of one termination as they are, and appends history entries (no lease, no state checks). */
export async function forceRow(
  store: Store,
  id: number,
  set: Partial<Omit<TerminationRow, 'id'>>,
  history: Omit<HistoryRow, 'id' | 'termination_id'>[] = [],
): Promise<void> {
  const db = tables(store);
  if (Object.keys(set).length > 0) {
    const [result] = await db.updateTable('terminations').set(set).where('id', '=', id).execute();
    if (Number(result?.numUpdatedRows ?? 0) !== 1) throw new Error(`forceRow: no termination ${id}`);
  }
  if (history.length > 0) await db.insertInto('termination_history').values(history.map((h) => ({ ...h, termination_id: id }))).execute();
}

/** Every outbox row, in id order. */
export function outboxRows(store: Store): Promise<OutboxRow[]> {
  return tables(store).selectFrom('notification_outbox').selectAll().orderBy('id').execute();
}

/** Every termination, in id order. */
export function terminationRows(store: Store): Promise<TerminationRow[]> {
  return tables(store).selectFrom('terminations').selectAll().orderBy('id').execute();
}
