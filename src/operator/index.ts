/**
 * What operators do to a termination: the decisions (cancel.ts, expedite.ts) are pure functions of the
 * row and its history; the store reads, checks, applies and records them in one durable transaction.
 */
import type { ActionResult, OperatorActions } from '../store/ports.js';
import { cancelAndRestoreChange, cancelChange } from './cancel.js';
import { expediteChange } from './expedite.js';
import type { ActionRequest } from './request.js';

export type { ActionRequest } from './request.js';
export { EXPEDITE_STEP } from './expedite.js';

/** The states an operator may cancel or expedite from. */
export const ACTIONABLE_STATES = ['pending', 'draining'] as const;

/** Ends a pending or draining termination without terminating: the instance is kept. */
export function cancelTermination(actions: OperatorActions, req: ActionRequest): Promise<ActionResult> {
  return actions.act(req.id, req.now, ACTIONABLE_STATES, (row, history) => cancelChange(req, row, history));
}

/**
 * Ends a pending or draining termination without terminating and puts the instance back where its drain
 * took it from: the worker's restore steps do it (state `restoring`, then `restored` or `failed`).
 */
export function cancelAndRestore(actions: OperatorActions, req: ActionRequest): Promise<ActionResult> {
  return actions.act(req.id, req.now, ACTIONABLE_STATES, (row, history) => cancelAndRestoreChange(req, row, history));
}

/** Skips the rest of the delay and of the drain: the worker terminates it at once. */
export function expediteTermination(actions: OperatorActions, req: ActionRequest): Promise<ActionResult> {
  return actions.act(req.id, req.now, ACTIONABLE_STATES, (row) => expediteChange(req, row));
}
