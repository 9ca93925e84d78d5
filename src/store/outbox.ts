/**
 * The notification outbox as its deliverer sees it (the NotificationQueue port): the same leased queue as
 * the terminations, so several replicas deliver each notification once and a dead one's claims come back.
 * Its rows are written with their transitions (transitions.ts).
 */
import type { Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import { LeasedQueue } from './leased-queue.js';
import type { ClaimedNotification, NotificationQueue } from './ports.js';
import type { Database, OutboxRow } from './schema.js';

export function notificationQueue(db: Kysely<Database>, dialect: Dialect): NotificationQueue & { releaseAll(now: number): Promise<number> } {
  const leased = new LeasedQueue<OutboxRow>(db, dialect, 'notification_outbox');
  return {
    async claim(owner, now, leaseMs, limit): Promise<ClaimedNotification[]> {
      const ids = (await leased.claim(owner, now, leaseMs, limit)).map((r) => r.id);
      if (ids.length === 0) return [];
      const rows = await db
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
    },

    async finish(owner, id, outcome, error, now) {
      await db
        .updateTable('notification_outbox')
        .set((eb) => ({ next_attempt_at: null, lease_owner: null, outcome, done_at: now, last_error: error, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    async retryAt(owner, id, at, error) {
      await db
        .updateTable('notification_outbox')
        .set((eb) => ({ next_attempt_at: at, lease_owner: null, last_error: error, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    release: (owner, now) => leased.release(owner, now),
    releaseAll: (now) => leased.release(null, now),
    nextWake: () => leased.nextWake(),
  };
}
