/**
 * Durable transactions and the transitions recorded in them: every history entry, and (for the states
 * notifications are on for) its outbox row in the same transaction, so a notification exists exactly
 * when its transition was committed, and a crash cannot drop one.
 */
import type { Kysely, Transaction } from 'kysely';
import { chunks } from '../lib/chunks.js';
import { ROWS_PER_INSERT } from './batch-sizes.js';
import type { Dialect, RowColumnType } from './dialect.js';
import type { Database, HistoryRow } from './schema.js';

const HISTORY_COLUMNS = ['termination_id', 'at', 'state', 'step', 'event', 'detail'] as const;
const HISTORY_TYPES: readonly RowColumnType[] = ['integer', 'integer', 'text', 'text', 'text', 'text'];

export type NewHistoryRow = Omit<HistoryRow, 'id'>;

export class Transitions {
  private notified: ReadonlySet<string> = new Set();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly afterCommit: () => Promise<void>,
  ) {}

  /** The states whose transitions write an outbox row. */
  notifyOn(states: ReadonlySet<string>): void {
    this.notified = states;
  }

  /** Runs `work` in a transaction and returns once its commit is durable: for anything acknowledged. */
  readonly durably = async <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> => {
    const result = await this.db.transaction().execute(work);
    await this.afterCommit();
    return result;
  };

  /** Records transitions, with their outbox rows (one per termination and state: a retry never notifies twice). */
  async record(trx: Transaction<Database>, rows: NewHistoryRow[]): Promise<void> {
    // INSERT ... SELECT from one parameter: the worker writes a history row per instance and step, and
    // building a VALUES list for each costs more CPU than the insert itself (docs/performance.md).
    if (rows.length > 0) {
      const values = rows.map((r) => HISTORY_COLUMNS.map((c) => r[c]));
      await trx.insertInto('termination_history').columns(HISTORY_COLUMNS).expression(this.dialect.rowsOf(HISTORY_TYPES, values)).execute();
    }
    const wanted = this.notified.size === 0 ? [] : rows.filter((r) => this.notified.has(r.state));
    for (const chunk of chunks(wanted, ROWS_PER_INSERT)) {
      await trx
        .insertInto('notification_outbox')
        .values(
          chunk.map((r) => ({
            termination_id: r.termination_id,
            state: r.state,
            event: r.event,
            detail: r.detail,
            at: r.at,
            next_attempt_at: r.at,
            lease_owner: null,
            attempts: 0,
            last_error: null,
            outcome: null,
            done_at: null,
          })),
        )
        .onConflict((oc) => oc.columns(['termination_id', 'state']).doNothing())
        .execute();
    }
  }
}
