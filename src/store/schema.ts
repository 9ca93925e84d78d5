/**
 * The tables as Kysely sees them. Times are integer milliseconds since the epoch in every engine, so the
 * same queries run on SQLite and PostgreSQL and comparisons stay cheap.
 */
import type { Generated, Insertable, Selectable } from 'kysely';

export interface TerminationsTable {
  id: Generated<number>;
  instance_id: string;
  region: string;
  state: string;
  /** The pipeline step the worker runs next (see domain/states.ts). */
  step: string;
  /** Earliest moment the instance may be terminated: hand-off + delay. */
  due_at: number;
  /**
   * When the worker should next look at this row; NULL once the termination is final. While a worker
   * holds the row it is the lease expiry: if the worker dies, the row becomes due again by itself
   * (the same idea as a queue's visibility timeout), so one indexed range scan finds all claimable work.
   */
  next_attempt_at: number | null;
  /** The worker holding the row, or NULL. Every worker update is filtered on it. */
  lease_owner: string | null;
  /** Failed tries of the current step, for backoff; reset when a step succeeds. */
  attempts: number;
  /** Why the row is in its state: the last error while retrying, the final reason otherwise. */
  reason: string | null;
  project: string | null;
  component: string | null;
  ip_address: string | null;
  /** The hand-off's opaque user_data as JSON text. */
  user_data: string | null;
  requested_by: string | null;
  source_ip: string | null;
  user_agent: string | null;
  created_at: number;
  updated_at: number;
  /** Per-step progress of the drain pipeline as JSON (worker/step-data.ts); NULL before the first step. */
  step_data: string | null;
}

export interface HistoryTable {
  id: Generated<number>;
  termination_id: number;
  at: number;
  /** The state after this event. */
  state: string;
  step: string | null;
  /** What happened, e.g. `claimed`, `terminate.ok`, `terminate.retry`, `cancelled`. */
  event: string;
  /** A human-readable explanation or error text. */
  detail: string | null;
}

export interface Database {
  terminations: TerminationsTable;
  termination_history: HistoryTable;
  notification_outbox: OutboxTable;
}

export type TerminationRow = Selectable<TerminationsTable>;
export type NewTerminationRow = Insertable<TerminationsTable>;
export type HistoryRow = Selectable<HistoryTable>;

/** A webhook notification waiting to be (or already) delivered; written with the transition it reports. */
export interface OutboxTable {
  id: Generated<number>;
  termination_id: number;
  state: string;
  event: string;
  detail: string | null;
  at: number;
  /** Next delivery try, and the lease expiry while a deliverer holds the row; NULL once done. */
  next_attempt_at: number | null;
  lease_owner: string | null;
  attempts: number;
  last_error: string | null;
  /** `delivered` or `failed` once done. */
  outcome: string | null;
  done_at: number | null;
}

export type OutboxRow = Selectable<OutboxTable>;
