/**
 * Temporary (issue 15): today's TerminationStore seen through the WorkQueue port, until the store
 * implements the ports itself. Deleted when server.ts passes `store.work`.
 */
import { saveStepData } from '../store/step-data.js';
import type { WorkQueue } from '../store/ports.js';
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
