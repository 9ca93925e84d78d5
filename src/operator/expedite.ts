/**
 * Expedite: the rest of the delay and of the drain is skipped and the worker terminates at once. The steps
 * that declare `keptByExpedite` (they make terminating allowed and safe) still run if they have not run
 * yet; the registry says which those are from the row's step on.
 */
import type { RowChange, TerminationRow } from '../store/ports.js';
import { readStepData } from '../worker/step-data.js';
import { STEPS, stepNamed } from '../worker/steps/registry.js';
import type { ActionRequest } from './request.js';

/** The step an expedited termination jumps to: the action step (the termination itself). */
export const EXPEDITE_STEP = STEPS.find((s) => s.phase === 'action')!.name;

/** The drain steps an expedite keeps from `step` on (empty when `step` is not one of them). */
function keptFrom(step: string): string[] {
  const from = STEPS.findIndex((s) => s.name === step);
  if (from < 0 || stepNamed(step)?.phase !== 'drain' || !stepNamed(step)?.keptByExpedite) return [];
  return STEPS.slice(from).filter((s) => s.phase === 'drain' && s.keptByExpedite).map((s) => s.name);
}

export function expediteChange(req: ActionRequest, row: TerminationRow): RowChange {
  const kept = keptFrom(row.step);
  const step = kept.length > 0 ? row.step : EXPEDITE_STEP;
  const what =
    step !== EXPEDITE_STEP
      ? `due now; the steps that make terminating allowed and safe still run first (from step '${step}': ${kept.join(', ')}), then it is terminated without the drain wait, the drain hook or the rest of its delay`
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
