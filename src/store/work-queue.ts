/**
 * The terminations as the worker works them (the WorkQueue port). Every write is filtered on the lease
 * owner, so a worker whose lease ran out (and whose rows another worker took) cannot overwrite them.
 */
import { sql, type Kysely } from 'kysely';
import { groupBy } from '../lib/group-by.js';
import type { Dialect } from './dialect.js';
import { LeasedQueue } from './leased-queue.js';
import type { Outcome, ProgressEntry, WorkQueue } from './ports.js';
import type { Database, TerminationRow } from './schema.js';
import type { Transitions } from './transitions.js';

export function terminationQueue(db: Kysely<Database>, dialect: Dialect, transitions: Transitions): WorkQueue & { releaseAll(now: number): Promise<number> } {
  const leased = new LeasedQueue<TerminationRow>(db, dialect, 'terminations', (now) => ({ updated_at: now }));
  const { durably } = transitions;
  return {
    claim: (owner, now, leaseMs, limit) => leased.claim(owner, now, leaseMs, limit),
    extend: (owner, ids, until) => leased.extend(owner, ids, until),
    release: (owner, now) => leased.release(owner, now),
    releaseAll: (now) => leased.release(null, now),
    nextWake: () => leased.nextWake(),
    soleWriter: dialect.releaseAtOpen,

    enter: (owner, ids, state, event, now) =>
      durably(async (trx) => {
        if (ids.length === 0) return [];
        const rows = await trx.updateTable('terminations').set({ state, updated_at: now }).where('lease_owner', '=', owner).where(dialect.idIn('id', ids)).returning('id').execute();
        const held = rows.map((r) => r.id);
        await transitions.record(trx, held.map((id) => ({ termination_id: id, at: now, state, step: null, event, detail: null })));
        return held;
      }),

    async saveProgress(owner, entries: ProgressEntry[], now, mark) {
      if (entries.length === 0) return [];
      // Rows with the same document (often a whole batch) share one UPDATE.
      const byJson = groupBy(entries, (e) => e.json);
      return durably(async (trx) => {
        const held: number[] = [];
        for (const [json, group] of byJson) {
          const rows = await trx
            .updateTable('terminations')
            .set({ updated_at: now, ...(json !== undefined ? { step_data: json } : {}), ...(mark ? { state: mark.state } : {}) })
            .where('lease_owner', '=', owner)
            .where(dialect.idIn('id', group.map((e) => e.id)))
            .returning('id')
            .execute();
          for (const r of rows) held.push(r.id);
        }
        if (mark && held.length > 0) {
          await transitions.record(trx, held.map((id) => ({ termination_id: id, at: now, state: mark.state, step: mark.step, event: mark.event, detail: mark.detail(id) })));
        }
        return held;
      });
    },

    async settle(owner, outcomes: Outcome[], now) {
      if (outcomes.length === 0) return [];
      // Rows with the same decision (typically a whole batch) share one UPDATE.
      const groups = groupBy(outcomes, (o) => JSON.stringify([o.state, o.step, o.nextAttemptAt, o.attempts, o.reason]));
      return durably(async (trx) => {
        const settled = new Set<number>();
        for (const group of groups.values()) {
          const first = group[0]!;
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
            .where(dialect.idIn('id', group.map((o) => o.id)))
            .returning('id')
            .execute();
          for (const r of rows) settled.add(r.id);
        }
        await transitions.record(
          trx,
          outcomes
            .filter((o) => settled.has(o.id) && o.record !== false)
            .map((o) => ({ termination_id: o.id, at: now, state: o.state, step: o.step, event: o.event, detail: o.detail })),
        );
        return [...settled];
      });
    },
  };
}
