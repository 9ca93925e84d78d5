/**
 * The store as its users see it, one port per user: the hand-off route writes, the worker works the queue,
 * operators read and act, the notifier delivers the outbox. Types only: every engine difference lives
 * behind these, in store/sqlite/ and store/postgres/, and nothing outside src/store/ touches SQL.
 */
import type { HandOffRecord, Scheduled } from './record-handoffs.js';
import type { HistoryRow, TerminationRow } from './schema.js';

export type { HandOffRecord, Scheduled } from './record-handoffs.js';
export type { HistoryRow, TerminationRow } from './schema.js';

export interface HandOffWriter {
  /** Many documents in one durable transaction; for each document the termination of each instance. */
  recordHandOffs(docs: HandOffRecord[], now: number): Promise<Scheduled[][]>;
}

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

export interface ProgressEntry {
  id: number;
  /** The whole step_data document as JSON text; absent: left as it is (only the history mark). */
  json?: string;
}

export interface HistoryMark {
  state: string;
  step: string;
  event: string;
  detail: (id: number) => string | null;
}

/** The leased queue of terminations, as the worker sees it. Every write is filtered on the lease owner. */
export interface WorkQueue {
  /** Claims up to `limit` due rows for `owner` until `now + leaseMs`. */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<TerminationRow[]>;
  /** Keeps rows a long step is still working on from being taken over. */
  extend(owner: string, ids: number[], until: number): Promise<void>;
  /** Moves held rows to `state` with a history entry, before an irreversible call; the ids still held. */
  enter(owner: string, ids: number[], state: string, event: string, now: number): Promise<number[]>;
  /** Saves step_data under the lease, optionally with a history entry each; the ids written. */
  saveProgress(owner: string, entries: ProgressEntry[], now: number, mark?: HistoryMark): Promise<number[]>;
  /** Settles outcomes and releases the lease on those rows; the ids settled. */
  settle(owner: string, outcomes: Outcome[], now: number): Promise<number[]>;
  /** Gives back every row `owner` holds (graceful stop): due again at once. */
  release(owner: string, now: number): Promise<number>;
  /** The earliest moment any live row wants the worker. */
  nextWake(): Promise<number | null>;
  /**
   * True when this process is the database's only writer (SQLite): every row that falls due was written here,
   * so the worker is poked or `nextWake` knows, and no poll is needed to see other writers' rows.
   */
  readonly soleWriter: boolean;
}

/** `id`: newest first; `due`: soonest due first (ties: lower id); `ended`: final rows, latest ended first. */
export type ListOrder = 'id' | 'due' | 'ended';

export interface ListQuery {
  /** Any of these states (all when absent; `ended`: the final ones among them). */
  states?: string[];
  instanceId?: string;
  project?: string;
  component?: string;
  /** Default `id`. */
  order?: ListOrder;
  /** The previous page's last row (from the cursor): its id, and for `due`/`ended` its due_at/updated_at. */
  after?: { id: number; at?: number };
  limit: number;
}

/** What a listing returns per row: everything but user_data and step_data, which may be large. */
export type ListedRow = Omit<TerminationRow, 'user_data' | 'step_data'>;

export interface ListPage {
  rows: ListedRow[];
  /** Whether rows after the last one (in the query's order) match too. */
  more: boolean;
}

export interface Detailed {
  row: TerminationRow;
  history: HistoryRow[];
}

export interface OperatorReads {
  list(q: ListQuery): Promise<ListPage>;
  get(id: number): Promise<Detailed | undefined>;
  /** Live (not final) terminations. */
  countLive(): Promise<number>;
  /** Live terminations by active state. */
  countActive(): Promise<Record<string, number>>;
  /** When each termination first entered `draining`. */
  drainStarts(ids: number[]): Promise<Map<number, number>>;
}

/** The change an operator action makes to one row, decided by the caller from the row and its history. */
export interface RowChange {
  /** Columns to set; the lease is always cleared. */
  set: Partial<Pick<TerminationRow, 'state' | 'step' | 'step_data' | 'next_attempt_at' | 'due_at' | 'attempts' | 'reason'>>;
  history: { state: string; step: string; event: string; detail: string };
}

export type ActionResult =
  | { kind: 'done'; row: TerminationRow; history: HistoryRow[] }
  | { kind: 'not_found' }
  | { kind: 'conflict'; state: string };

export interface OperatorActions {
  /**
   * Reads the row under a lock (so no worker writes between the read and the change), checks it is
   * still actionable (its state in `fromStates`, not final), asks `decide` what to change, applies it
   * only if the row is unchanged, records the history entry and commits durably.
   */
  act(id: number, now: number, fromStates: readonly string[], decide: (row: TerminationRow, history: HistoryRow[]) => RowChange): Promise<ActionResult>;
}

/** One outbox row with the termination it reports on (what a notification's body is made from). */
export interface Notification {
  /** The outbox row id: the same on every retry, so a receiver can drop duplicates. */
  id: number;
  state: string;
  event: string;
  detail: string | null;
  at: number;
  termination: {
    id: number;
    instance_id: string;
    region: string;
    project: string | null;
    component: string | null;
    reason: string | null;
    created_at: number;
    due_at: number;
  };
}

export interface ClaimedNotification extends Notification {
  attempts: number;
}

/** The notification outbox as its deliverer sees it (a second instance of the leased queue). */
export interface NotificationQueue {
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedNotification[]>;
  /** Done (delivered, or given up): never tried again. */
  finish(owner: string, id: number, outcome: 'delivered' | 'failed', error: string | null, now: number): Promise<void>;
  retryAt(owner: string, id: number, at: number, error: string): Promise<void>;
  release(owner: string, now: number): Promise<number>;
  nextWake(): Promise<number | null>;
}

export interface StoreHealth {
  /** Null while the store can take writes; otherwise why not (the health check's 503 message). */
  unavailable(): Promise<string | null>;
}

/** Everything a running service needs from its database. */
export interface Store {
  handOffs: HandOffWriter;
  work: WorkQueue;
  reads: OperatorReads;
  actions: OperatorActions;
  notifications: NotificationQueue;
  health: StoreHealth;
  /** The states whose transitions write an outbox row in the same transaction (set once, before start). */
  notifyOn(states: ReadonlySet<string>): void;
  /** Where it is, without any password, for logs. */
  description: string;
  close(): Promise<void>;
}
