/**
 * Expedite: the rest of the delay and of the drain is skipped and the worker terminates at once. The quick
 * steps that make terminating allowed and safe are kept if they have not run yet (KEPT_BY_EXPEDITE); from
 * the drain wait on, everything left is skipped.
 */
import { STEPS } from '../domain/states.js';
import type { RowChange, TerminationRow } from '../store/ports.js';
import { readStepData } from '../worker/step-data.js';
import type { ActionRequest } from './request.js';

/** The step an expedited termination jumps to (the last one, the termination itself). */
export const EXPEDITE_STEP = 'terminate';
/**
 * Every step before the drain wait: the guard check, leaving the Auto Scaling group, leaving the load
 * balancers. A guard must never be bypassed, a group would launch a replacement, and clients would get
 * errors from a load balancer still sending traffic.
 */
const KEPT_BY_EXPEDITE: readonly string[] = STEPS.includes('drain_wait') ? STEPS.slice(0, STEPS.indexOf('drain_wait')) : [];

export function expediteChange(req: ActionRequest, row: TerminationRow): RowChange {
  const step = KEPT_BY_EXPEDITE.includes(row.step) ? row.step : EXPEDITE_STEP;
  const what =
    step !== EXPEDITE_STEP
      ? `due now; the steps that make terminating allowed and safe still run first (from step '${step}': ${KEPT_BY_EXPEDITE.slice(KEPT_BY_EXPEDITE.indexOf(step)).join(', ')}), then it is terminated without the drain wait, the drain hook or the rest of its delay`
      : row.step !== EXPEDITE_STEP
        ? `the rest of the drain (from step '${row.step}') and of the delay skipped; terminating now`
        : 'the rest of the delay skipped; terminating now';
  return {
    set: {
      step,
      // Remembered so the pipeline skips the drain wait and hook after the steps it still runs.
      step_data: JSON.stringify({ ...readStepData(row), expedited: true }),
      next_attempt_at: req.now,
      due_at: Math.min(row.due_at, req.now),
      attempts: 0,
    },
    history: { state: row.state, step, event: 'expedited', detail: `expedited by ${req.by ?? 'an operator'}${req.note ? ` (${req.note})` : ''}: ${what}` },
  };
}
