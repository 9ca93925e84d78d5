/**
 * The narrow interface between the service and its database. The HTTP layer records hand-offs, the
 * worker claims and settles work, the operator views read. Every worker update is filtered on the lease
 * owner, so a worker whose lease ran out (and whose rows another worker took) cannot overwrite them.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { chunks } from '../domain/chunks.js';
import { IDS_PER_STATEMENT, ROWS_PER_INSERT } from './batch-sizes.js';
import type { Engine } from './engine.js';
import { HandOffRecorder, type HandOffRecord, type Scheduled } from './record-handoffs.js';
import type { Database, HistoryRow, TerminationRow } from './schema.js';

export type { HandOffRecord, Scheduled } from './record-handoffs.js';

/** What the worker decided for one claimed row. */
export interface Outcome {
  id: number;
  state: string;
  step: string;
  /** Null when the state is final. */
  nextAttemptAt: number | null;
  attempts: 'reset' | 'increment' | 'keep';
  reason: string | null;
  /** History entry: what happened and why. */
  event: string;
  detail: string | null;
  /** False: update the row but add no history entry (a poll that changed nothing). Default true. */
  record?: boolean;
}

export interface ListFilter {
  state?: string;
  instanceId?: string;
  project?: string;
  component?: string;
  /** Only rows with an id below this (the previous page's last id). */
  beforeId?: number;
  limit: number;
}


export interface Durability {
  /** Resolves once everything committed so far is on stable storage (SQLite: the log's fsync). */
  afterCommit(): Promise<void>;
  /** Closes the database (and whatever the durability needs). */
  close(): Promise<void>;
  /** SQLite: the connection under `db`, for the hand-off insert without the query builder. */
  sqlite?: BetterSqlite3.Database;
  /** SQLite: told how that insert went (the health check, sqlite-health.ts). */
  writeHealth?: { noteError(err: unknown): void; noteSuccess(): void };
}

export class TerminationStore {
  private readonly handOffs: HandOffRecorder;

  constructor(
    readonly db: Kysely<Database>,
    readonly engine: Engine,
    private readonly durability: Durability = { afterCommit: async () => {}, close: () => db.destroy() },
  ) {
    this.handOffs = new HandOffRecorder(db, (work) => this.durably(work), () => durability.afterCommit(), durability.sqlite, durability.writeHealth);
  }

  /** Runs `work` in a transaction and returns once its commit is durable: call it for anything acknowledged. */
  async durably<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    await this.durability.afterCommit();
    return result;
  }

  /**
   * Records many hand-off documents in one transaction (one log flush), returning for each document the
   * termination of each of its instances, new or already scheduled (record-handoffs.ts).
   */
  recordHandOffs(docs: HandOffRecord[], now: number): Promise<Scheduled[][]> {
    return this.handOffs.record(docs, now);
  }

  /**
   * Claims up to `limit` due rows for `owner` until `now + leaseMs`. On PostgreSQL, `SKIP LOCKED` lets
   * replicas claim side by side without waiting on each other's rows.
   */
  async claimDue(owner: string, now: number, leaseMs: number, limit: number): Promise<TerminationRow[]> {
    const due = this.db
      .selectFrom('terminations')
      .select('id')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit);
    if (this.engine === 'postgres') {
      // A MATERIALIZED CTE runs the locking select exactly once, whatever plan the UPDATE gets. A row
      // another replica claimed and committed meanwhile is re-checked against `<= now` and left out.
      return this.db
        .with((w) => w('due').materialized(), () => due.forUpdate().skipLocked())
        .updateTable('terminations')
        .set({ lease_owner: owner, next_attempt_at: now + leaseMs, updated_at: now })
        .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
        .returningAll()
        .execute();
    }
    return this.db
      .updateTable('terminations')
      .set({ lease_owner: owner, next_attempt_at: now + leaseMs, updated_at: now })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /** Keeps rows a long step is still working on from being taken over. */
  async extendLeases(owner: string, ids: number[], until: number): Promise<void> {
    for (const chunk of chunks(ids, IDS_PER_STATEMENT)) {
      await this.db
        .updateTable('terminations')
        .set({ next_attempt_at: until })
        .where('lease_owner', '=', owner)
        .where('id', 'in', chunk)
        .execute();
    }
  }

  /**
   * Moves claimed rows to a new state under the owner's lease, before an irreversible call, so that a
   * concurrent cancel and the call cannot both win. Returns the ids still held.
   */
  async enterState(owner: string, ids: number[], state: string, event: string, now: number): Promise<number[]> {
    return this.durably(async (trx) => {
      const held: number[] = [];
      for (const chunk of chunks(ids, IDS_PER_STATEMENT)) {
        const rows = await trx
          .updateTable('terminations')
          .set({ state, updated_at: now })
          .where('lease_owner', '=', owner)
          .where('id', 'in', chunk)
          .returning('id')
          .execute();
        held.push(...rows.map((r) => r.id));
      }
      await this.insertHistory(trx, held.map((id) => ({ termination_id: id, at: now, state, step: null, event, detail: null })));
      return held;
    });
  }

  /**
   * Settles the worker's decisions in one transaction and releases the lease on those rows. Rows whose
   * lease the owner lost are left alone. Returns the ids that were settled.
   */
  async applyOutcomes(owner: string, outcomes: Outcome[], now: number): Promise<number[]> {
    if (outcomes.length === 0) return [];
    // Rows with the same decision (typically a whole batch) share one UPDATE.
    const groups = new Map<string, Outcome[]>();
    for (const o of outcomes) {
      const k = JSON.stringify([o.state, o.step, o.nextAttemptAt, o.attempts, o.reason]);
      const group = groups.get(k);
      if (group) group.push(o);
      else groups.set(k, [o]);
    }
    return this.durably(async (trx) => {
      const settled = new Set<number>();
      for (const group of groups.values()) {
        const first = group[0]!;
        for (const chunk of chunks(group.map((o) => o.id), IDS_PER_STATEMENT)) {
          const rows = await trx
            .updateTable('terminations')
            .set({
              state: first.state,
              step: first.step,
              next_attempt_at: first.nextAttemptAt,
              lease_owner: null,
              reason: first.reason,
              updated_at: now,
              attempts: first.attempts === 'reset' ? 0 : first.attempts === 'increment' ? sql<number>`attempts + 1` : sql<number>`attempts`,
            })
            .where('lease_owner', '=', owner)
            .where('id', 'in', chunk)
            .returning('id')
            .execute();
          for (const r of rows) settled.add(r.id);
        }
      }
      await this.insertHistory(
        trx,
        outcomes
          .filter((o) => settled.has(o.id) && o.record !== false)
          .map((o) => ({ termination_id: o.id, at: now, state: o.state, step: o.step, event: o.event, detail: o.detail })),
      );
      return [...settled];
    });
  }

  /** Gives back every row `owner` holds (graceful shutdown): they are due again at once. */
  async releaseLeases(owner: string, now: number): Promise<number> {
    return this.release(owner, now);
  }

  /**
   * Releases every lease. Only for an engine with a single server (SQLite, locked exclusively): at start
   * every lease in the file was held by a process that is gone.
   */
  async releaseAllLeases(now: number): Promise<number> {
    return this.release(null, now);
  }

  /** Makes rows held by `owner` (or by anyone, for null) due again at once. */
  private async release(owner: string | null, now: number): Promise<number> {
    let q = this.db.updateTable('terminations').set({ lease_owner: null, next_attempt_at: now, updated_at: now }).where('next_attempt_at', 'is not', null);
    q = owner === null ? q.where('lease_owner', 'is not', null) : q.where('lease_owner', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  async get(id: number): Promise<TerminationRow | undefined> {
    return this.db.selectFrom('terminations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async history(id: number): Promise<HistoryRow[]> {
    return this.db.selectFrom('termination_history').selectAll().where('termination_id', '=', id).orderBy('id').execute();
  }

  /** Newest first, keyset-paged by id (no OFFSET scans). */
  async list(filter: ListFilter): Promise<TerminationRow[]> {
    let q = this.db.selectFrom('terminations').selectAll().orderBy('id', 'desc').limit(filter.limit);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.instanceId !== undefined) q = q.where('instance_id', '=', filter.instanceId);
    if (filter.project !== undefined) q = q.where('project', '=', filter.project);
    if (filter.component !== undefined) q = q.where('component', '=', filter.component);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    return q.execute();
  }

  /** Live (not final) terminations. */
  async countLive(): Promise<number> {
    const row = await this.db
      .selectFrom('terminations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('next_attempt_at', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The earliest moment any live row wants the worker, to sleep until then. */
  async nextWake(): Promise<number | null> {
    const row = await this.db
      .selectFrom('terminations')
      .select('next_attempt_at')
      .where('next_attempt_at', 'is not', null)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    return row?.next_attempt_at ?? null;
  }

  /**
   * Runs inside the transaction of every recorded transition, with its history rows: the notification
   * outbox (src/notify/outbox.ts) is written here, so a notification is committed with what it reports.
   */
  onHistory: ((trx: Transaction<Database>, rows: Omit<HistoryRow, 'id'>[]) => Promise<void>) | undefined;

  /** Records transitions (also used by the operator actions, src/store/operator.ts). */
  async insertHistory(trx: Transaction<Database>, rows: Omit<HistoryRow, 'id'>[]): Promise<void> {
    for (const chunk of chunks(rows, ROWS_PER_INSERT)) await trx.insertInto('termination_history').values(chunk).execute();
    if (this.onHistory && rows.length > 0) await this.onHistory(trx, rows);
  }

  async close(): Promise<void> {
    await this.durability.close();
  }
}
