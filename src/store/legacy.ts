/**
 * TEMPORARY (issue 15): the store's pre-port interface, over the new Store, for the files that still use
 * it until the worker/notifier side (W) lands: src/worker/legacy-queues.ts and src/notify/deliver.ts (via
 * the re-exports left at store/store.ts, store/step-data.ts, notify/outbox.ts), test/worker/**,
 * test/notify/**, test/helpers/step-harness.ts, and the tests that reach into `Service.store`.
 * Delete it, with those three re-exports and `migrateToLatest`, once nothing imports them.
 */
import type { Kysely, Transaction } from 'kysely';
import { dialectOf, type Connection } from './connect.js';
import type { Engine } from './engine.js';
import { migrateSchema } from './migrate.js';
import { notificationQueue } from './outbox.js';
import type { ClaimedNotification, HandOffRecord, HistoryMark, NotificationQueue, Outcome, ProgressEntry, Scheduled, Store } from './ports.js';
import type { Database, HistoryRow, TerminationRow } from './schema.js';
import { SqlStore } from './sql-store.js';

export type { ClaimedNotification, HandOffRecord, HistoryMark, Outcome, Scheduled } from './ports.js';
export type StepDataEntry = ProgressEntry;

type HistoryHook = ((trx: Transaction<Database>, rows: Omit<HistoryRow, 'id'>[]) => Promise<void>) & { states?: ReadonlySet<string> };

/** The old `TerminationStore`: the Store's ports, plus the old method names and the raw `db` for tests. */
export class TerminationStore implements Store {
  private readonly store: SqlStore;
  private hook: HistoryHook | undefined;

  /** As before: `new TerminationStore(c.db, c.engine, c)` with `c` from connect(). */
  constructor(readonly db: Kysely<Database>, readonly engine: Engine, connection: Connection | SqlStore) {
    this.store = connection instanceof SqlStore ? connection : new SqlStore(connection);
  }

  static over(store: SqlStore): TerminationStore {
    return new TerminationStore(store.connection.db, store.connection.engine, store);
  }

  get handOffs() { return this.store.handOffs; }
  get work() { return this.store.work; }
  get reads() { return this.store.reads; }
  get actions() { return this.store.actions; }
  get notifications() { return this.store.notifications; }
  get health() { return this.store.health; }
  get description() { return this.store.description; }
  notifyOn(states: ReadonlySet<string>): void { this.store.notifyOn(states); }
  close(): Promise<void> { return this.store.close(); }

  durably<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> { return this.store.transitions.durably(work); }
  recordHandOffs(docs: HandOffRecord[], now: number): Promise<Scheduled[][]> { return this.store.handOffs.recordHandOffs(docs, now); }
  claimDue(owner: string, now: number, leaseMs: number, limit: number) { return this.store.work.claim(owner, now, leaseMs, limit); }
  extendLeases(owner: string, ids: number[], until: number) { return this.store.work.extend(owner, ids, until); }
  enterState(owner: string, ids: number[], state: string, event: string, now: number) { return this.store.work.enter(owner, ids, state, event, now); }
  applyOutcomes(owner: string, outcomes: Outcome[], now: number) { return this.store.work.settle(owner, outcomes, now); }
  releaseLeases(owner: string, now: number) { return this.store.work.release(owner, now); }
  releaseAllLeases(now: number) { return this.store.work.releaseAll(now); }
  nextWake() { return this.store.work.nextWake(); }
  countLive() { return this.store.reads.countLive(); }
  async get(id: number): Promise<TerminationRow | undefined> { return (await this.store.reads.get(id))?.row; }
  async history(id: number): Promise<HistoryRow[]> { return (await this.store.reads.get(id))?.history ?? []; }

  /** The old hook: set to outboxWriter(states) to notify on those states, undefined for none. */
  get onHistory(): HistoryHook | undefined { return this.hook; }
  set onHistory(hook: HistoryHook | undefined) {
    this.hook = hook;
    this.store.notifyOn(hook?.states ?? new Set());
  }
  insertHistory(trx: Transaction<Database>, rows: Omit<HistoryRow, 'id'>[]): Promise<void> { return this.store.transitions.record(trx, rows); }
}

export function saveStepData(store: TerminationStore, owner: string, entries: ProgressEntry[], now: number, mark?: HistoryMark): Promise<number[]> {
  return store.work.saveProgress(owner, entries, now, mark);
}

/** The old outbox hook: the Store writes the outbox itself; this only carries the states (see onHistory). */
export function outboxWriter(states: ReadonlySet<string>): HistoryHook {
  return Object.assign(async () => {}, { states });
}

/** The old Outbox class, over the NotificationQueue. Releasing everyone's claims is done at open now. */
export class Outbox {
  private readonly queue: NotificationQueue & { releaseAll(now: number): Promise<number> };
  constructor(db: Kysely<Database>, engine: Engine) {
    this.queue = notificationQueue(db, dialectOf(engine));
  }
  claimDue(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedNotification[]> { return this.queue.claim(owner, now, leaseMs, limit); }
  finish(owner: string, id: number, outcome: 'delivered' | 'failed', error: string | null, now: number) { return this.queue.finish(owner, id, outcome, error, now); }
  retryAt(owner: string, id: number, at: number, error: string) { return this.queue.retryAt(owner, id, at, error); }
  release(owner: string | null, now: number) { return owner === null ? this.queue.releaseAll(now) : this.queue.release(owner, now); }
  nextWake() { return this.queue.nextWake(); }
}

/** The old `migrateToLatest(c.db, c.engine)`. */
export function migrateToLatest(db: Kysely<any>, engine: Engine): Promise<string[]> {
  return migrateSchema(db, dialectOf(engine));
}
