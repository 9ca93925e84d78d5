/**
 * Recording hand-offs: one row per instance id, or the live termination the instance already has. A
 * group of documents (group-commit.ts) is written in one transaction and reported only once it is
 * durable. SQLite writes through two prepared statements (sqlite-handoffs.ts); PostgreSQL through Kysely,
 * in one order for every replica.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import type { HandOff } from '../domain/handoff.js';
import { chunks } from '../domain/chunks.js';
import { IDS_PER_STATEMENT, ROWS_PER_INSERT } from './batch-sizes.js';
import type { Database, NewTerminationRow } from './schema.js';
import { sqliteHandOffWriter, type SqliteHandOffWriter } from './sqlite-handoffs.js';

/** One validated hand-off document as the store records it (one row per instance id), with who sent it and its plan. */
export interface HandOffRecord extends Omit<HandOff, 'userDataValue'> {
  requestedBy: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  dueAt: number;
  firstStep: string;
  /** When the worker should first look at it (the due time when nothing happens before it). */
  firstAttemptAt: number;
  /** Initial step_data (e.g. the dry-run mark); absent: none. */
  stepData?: string | null;
}

export interface Scheduled {
  id: number;
  instance_id: string;
  region: string;
  state: string;
  due_at: number;
  /** When the worker first looks at it (now when a drain step comes first, else the due time). */
  next_attempt_at: number | null;
  /** True when the instance was already scheduled and this hand-off changed nothing. */
  duplicate: boolean;
}

const key = (region: string, instanceId: string) => `${region}/${instanceId}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class HandOffRecorder {
  /** SQLite: prepared on first use, after the migrations. */
  private sqliteHandOffs: SqliteHandOffWriter | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    /** Runs work in a transaction and returns once its commit is durable (TerminationStore.durably). */
    private readonly durably: <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>,
    /** Resolves once everything committed so far is durable. */
    private readonly afterCommit: () => Promise<void>,
    /** SQLite: the connection under `db`; absent on PostgreSQL. */
    private readonly sqlite: BetterSqlite3.Database | undefined,
    /** SQLite: the health check, told how each group's write went. */
    private readonly writeHealth?: { noteError(err: unknown): void; noteSuccess(): void },
  ) {}

  /**
   * Records many hand-off documents in one transaction (one log flush), returning for each document the
   * termination of each of its instances, new or already scheduled. The same instance in two documents of
   * one group: the first is new, the later ones are repeats.
   */
  async record(docs: HandOffRecord[], now: number): Promise<Scheduled[][]> {
    const sqlite = this.sqlite;
    if (!sqlite) return this.recordOnPostgres(docs, now);
    const write = (this.sqliteHandOffs ??= sqliteHandOffWriter(sqlite));
    // Holding Kysely's connection keeps the worker's and the operator's transactions out of ours.
    const scheduled = await this.db.connection().execute(async () => {
      // Inside someone's open transaction, better-sqlite3 would make ours a savepoint, and this group
      // would be acknowledged with no commit of its own.
      if (sqlite.inTransaction) throw new Error('a transaction was left open on the SQLite connection; hand-offs not recorded');
      try {
        return write(docs, now);
      } catch (err) {
        this.writeHealth?.noteError(err);
        throw err;
      }
    });
    await this.afterCommit();
    this.writeHealth?.noteSuccess();
    return scheduled;
  }

  private async recordOnPostgres(docs: HandOffRecord[], now: number): Promise<Scheduled[][]> {
    const rows: NewTerminationRow[] = [];
    for (const doc of docs) {
      for (const instanceId of doc.instanceIds) {
        rows.push({
          instance_id: instanceId,
          region: doc.region,
          state: 'pending',
          step: doc.firstStep,
          due_at: doc.dueAt,
          next_attempt_at: doc.firstAttemptAt,
          lease_owner: null,
          attempts: 0,
          reason: null,
          project: doc.project,
          component: doc.component,
          ip_address: doc.ipAddress,
          user_data: doc.userData,
          requested_by: doc.requestedBy,
          source_ip: doc.sourceIp,
          user_agent: doc.userAgent,
          step_data: doc.stepData ?? null,
          created_at: now,
          updated_at: now,
        });
      }
    }
    const found = await this.insertOrFind(rows);
    const reported = new Set<string>();
    return docs.map((doc) =>
      doc.instanceIds.map((id) => {
        const k = key(doc.region, id);
        const scheduled = found.get(k);
        if (!scheduled) throw new Error(`could not record ${doc.region}/${id}: no termination found for it`); // insertOrFind finds every row
        const repeat = reported.has(k);
        reported.add(k);
        return repeat ? { ...scheduled, duplicate: true } : scheduled;
      }),
    );
  }

  /** Inserts the rows that have no live termination yet, durably; finds the live one of the others. */
  private async insertOrFind(rows: NewTerminationRow[]): Promise<Map<string, Scheduled>> {
    const found = new Map<string, Scheduled>();
    return this.durably(async (trx) => {
      // One order for every writer: two replicas inserting overlapping instances in opposite orders would
      // each wait for the other's unique-index entry (a deadlock, on PostgreSQL).
      const sorted = [...rows].sort((a, b) => (a.region === b.region ? cmp(a.instance_id, b.instance_id) : cmp(a.region, b.region)));
      for (const chunk of chunks(sorted, ROWS_PER_INSERT)) {
        const inserted = await trx
          .insertInto('terminations')
          .values(chunk)
          .onConflict((oc) => oc.doNothing())
          .returning(['id', 'instance_id', 'region', 'state', 'due_at', 'next_attempt_at'])
          .execute();
        for (const r of inserted) found.set(key(r.region, r.instance_id), { ...r, duplicate: false });
      }
      const missing = sorted.filter((r) => !found.has(key(r.region, r.instance_id)));
      if (missing.length > 0) {
        for (const r of await this.liveRows(trx, missing)) found.set(key(r.region, r.instance_id), { ...r, duplicate: true });
      }
      for (const r of missing) {
        // Only possible if a live row turned final between our insert and select (read committed): fail
        // the whole group inside its transaction, so nothing of it is kept; the caller answers 503 and the
        // client retries.
        if (!found.has(key(r.region, r.instance_id))) throw new Error(`could not record ${r.region}/${r.instance_id}: its previous termination changed concurrently`);
      }
      return found;
    });
  }

  private async liveRows(trx: Transaction<Database>, wanted: NewTerminationRow[]) {
    const byRegion = new Map<string, string[]>();
    for (const r of wanted) {
      const ids = byRegion.get(r.region);
      if (ids) ids.push(r.instance_id);
      else byRegion.set(r.region, [r.instance_id]);
    }
    const out = [];
    for (const [region, ids] of byRegion) {
      for (const chunk of chunks([...new Set(ids)], IDS_PER_STATEMENT)) {
        out.push(
          ...(await trx
            .selectFrom('terminations')
            .select(['id', 'instance_id', 'region', 'state', 'due_at', 'next_attempt_at'])
            .where('region', '=', region)
            .where('instance_id', 'in', chunk)
            .where('next_attempt_at', 'is not', null)
            .execute()),
        );
      }
    }
    return out;
  }
}
