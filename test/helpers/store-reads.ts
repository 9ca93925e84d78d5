// A termination's row and its history through the OperatorReads port, for tests that check what a step,
// the worker or an operator action left behind.
import type { HistoryRow, Store, TerminationRow } from '../../src/store/ports.js';

export async function rowOf(store: Pick<Store, 'reads'>, id: number): Promise<TerminationRow | undefined> {
  return (await store.reads.get(id))?.row;
}

export async function historyOf(store: Pick<Store, 'reads'>, id: number): Promise<HistoryRow[]> {
  return (await store.reads.get(id))?.history ?? [];
}
