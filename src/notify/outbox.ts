/**
 * The notification outbox: rows written in the same transaction as the transition they report (the
 * store's `onHistory` hook), so a notification exists exactly when its transition was committed, and a
 * restart or a crash cannot drop one. Delivery claims due rows under a lease, the same way the worker
 * claims terminations (`next_attempt_at` is the next try and the lease expiry; NULL once done), so
 * several replicas on PostgreSQL deliver each notification once, and a dead one's claims come back.
 */
import type { Kysely, Transaction } from 'kysely';
import { chunks } from '../domain/chunks.js';
import { ROWS_PER_INSERT } from '../store/batch-sizes.js';
import type { Engine } from '../store/engine.js';
import type { Database, HistoryRow } from '../store/schema.js';
import type { Notification } from './format.js';

/** The store's `onHistory` hook: one outbox row per history row in a notified state (once per state). */
export function outboxWriter(states: ReadonlySet<string>) {
  return async (trx: Transaction<Database>, rows: Omit<HistoryRow, 'id'>[]): Promise<void> => {
    const wanted = rows.filter((r) => states.has(r.state));
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
  };
}

export interface ClaimedNotification extends Notification {
  attempts: number;
}

export class Outbox {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  async claimDue(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedNotification[]> {
    const due = this.db.selectFrom('notification_outbox').select('id').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
    // As the termination claim (store.ts): on PostgreSQL a MATERIALIZED CTE runs the locking select once,
    // and SKIP LOCKED lets replicas claim side by side.
    const claimed =
      this.engine === 'postgres'
        ? await this.db
            .with((w) => w('due').materialized(), () => due.forUpdate().skipLocked())
            .updateTable('notification_outbox')
            .set({ lease_owner: owner, next_attempt_at: now + leaseMs })
            .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
            .returning('id')
            .execute()
        : await this.db.updateTable('notification_outbox').set({ lease_owner: owner, next_attempt_at: now + leaseMs }).where('id', 'in', due).returning('id').execute();
    const ids = claimed.map((r) => r.id);
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('notification_outbox as o')
      .innerJoin('terminations as t', 't.id', 'o.termination_id')
      .select([
        'o.id', 'o.state', 'o.event', 'o.detail', 'o.at', 'o.attempts',
        't.id as t_id', 't.instance_id', 't.region', 't.project', 't.component', 't.reason', 't.created_at', 't.due_at',
      ])
      .where('o.id', 'in', ids)
      .where('o.lease_owner', '=', owner)
      .orderBy('o.id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      state: r.state,
      event: r.event,
      detail: r.detail,
      at: r.at,
      attempts: r.attempts,
      termination: { id: r.t_id, instance_id: r.instance_id, region: r.region, project: r.project, component: r.component, reason: r.reason, created_at: r.created_at, due_at: r.due_at },
    }));
  }

  /** Done (delivered, or given up): never tried again. */
  async finish(owner: string, id: number, outcome: 'delivered' | 'failed', error: string | null, now: number): Promise<void> {
    await this.db
      .updateTable('notification_outbox')
      .set((eb) => ({ next_attempt_at: null, lease_owner: null, outcome, done_at: now, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  async retryAt(owner: string, id: number, at: number, error: string): Promise<void> {
    await this.db
      .updateTable('notification_outbox')
      .set((eb) => ({ next_attempt_at: at, lease_owner: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** Gives back what `owner` holds (graceful stop), or every claim (SQLite start: they are all dead). */
  async release(owner: string | null, now: number): Promise<number> {
    let q = this.db.updateTable('notification_outbox').set({ lease_owner: null, next_attempt_at: now }).where('next_attempt_at', 'is not', null);
    q = owner === null ? q.where('lease_owner', 'is not', null) : q.where('lease_owner', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  async nextWake(): Promise<number | null> {
    const row = await this.db
      .selectFrom('notification_outbox')
      .select('next_attempt_at')
      .where('next_attempt_at', 'is not', null)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    return row?.next_attempt_at ?? null;
  }
}
