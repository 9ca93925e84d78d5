/**
 * Temporary (issue 15): today's TerminationStore and Outbox seen through the WorkQueue and
 * NotificationQueue ports, until the store implements the ports itself. Deleted when server.ts passes
 * `store.work` and `store.notifications`.
 */
import { Outbox, outboxWriter } from '../notify/outbox.js';
import { saveStepData } from '../store/step-data.js';
import type { NotificationQueue, WorkQueue } from '../store/ports.js';
import type { TerminationStore } from '../store/store.js';

export function workQueueOf(store: TerminationStore): WorkQueue {
  return {
    claim: (owner, now, leaseMs, limit) => store.claimDue(owner, now, leaseMs, limit),
    extend: (owner, ids, until) => store.extendLeases(owner, ids, until),
    enter: (owner, ids, state, event, now) => store.enterState(owner, ids, state, event, now),
    saveProgress: (owner, entries, now, mark) => saveStepData(store, owner, entries, now, mark),
    settle: (owner, outcomes, now) => store.applyOutcomes(owner, outcomes, now),
    release: (owner, now) => store.releaseLeases(owner, now),
    nextWake: () => store.nextWake(),
  };
}

export function notificationQueueOf(store: TerminationStore): NotificationQueue {
  const outbox = new Outbox(store.db, store.engine);
  return {
    claim: (owner, now, leaseMs, limit) => outbox.claimDue(owner, now, leaseMs, limit),
    finish: (owner, id, outcome, error, now) => outbox.finish(owner, id, outcome, error, now),
    retryAt: (owner, id, at, error) => outbox.retryAt(owner, id, at, error),
    release: (owner, now) => outbox.release(owner, now),
    nextWake: () => outbox.nextWake(),
  };
}

/** Each transition to one of `states` writes its outbox row in its own transaction (`store.notifyOn`). */
export function notifyOn(store: TerminationStore, states: ReadonlySet<string>): void {
  store.onHistory = outboxWriter(states);
}

/** Every notification claim given back: on SQLite at start, where they all belong to a dead process. */
export function releaseEveryNotificationClaim(store: TerminationStore, now: number): Promise<number> {
  return new Outbox(store.db, store.engine).release(null, now);
}
