/**
 * The log line of one settled transition: at the level an operator would page, look or ignore at, with
 * the step the event belongs to (the step that ran), where the row goes next, and, on every failure or
 * retry, its reason. The history in the database has the same facts; the log is for people and alerts.
 */
import type { Level } from 'pino';
import type { TerminationRow } from '../store/schema.js';
import type { Outcome } from '../store/ports.js';

/** Retries of a step logged at info; from the next one on, at warn (something is persistently wrong). */
export const RETRIES_AT_INFO = 3;

/** Events that are a failure of their step even when the termination goes on (a hook that failed, a drain cut short). */
const FAILURE_EVENT = /\.(failed|gave_up|error|retry|timeout)$|^unknown_step$/;

export interface TransitionLogEntry {
  level: Level;
  fields: Record<string, unknown>;
}

export function transitionLogEntry(row: TerminationRow, outcome: Outcome): TransitionLogEntry {
  const retry = outcome.attempts === 'increment' && outcome.state !== 'failed';
  const failure = outcome.state === 'failed' || outcome.state === 'refused' || FAILURE_EVENT.test(outcome.event);
  const fields: Record<string, unknown> = {
    id: outcome.id,
    instance_id: row.instance_id,
    region: row.region,
    state: outcome.state,
    step: row.step,
    event: outcome.event,
  };
  if (outcome.step !== row.step && outcome.nextAttemptAt !== null) fields.next_step = outcome.step;
  if (retry) {
    fields.attempt = row.attempts + 1;
    fields.next_attempt_at = new Date(outcome.nextAttemptAt!).toISOString();
  }
  // A failure line says why; other lines say what was done.
  const text = failure ? (outcome.reason ?? outcome.detail) : outcome.detail;
  if (text !== null) fields[failure ? 'reason' : 'detail'] = text;
  return { level: levelOf(outcome, failure, retry, row.attempts + 1), fields };
}

function levelOf(outcome: Outcome, failure: boolean, retry: boolean, failures: number): Level {
  if (outcome.state === 'failed') return 'error';
  if (outcome.state === 'refused') return 'warn';
  if (retry) return failures > RETRIES_AT_INFO ? 'warn' : 'info';
  // A drain hook's next call: bounded by its own few `attempts`; the hook's failure itself is a warning.
  if (outcome.event.endsWith('.retry')) return 'info';
  if (failure) return 'warn';
  // A look at a drain that changed nothing (not recorded in the history either).
  if (outcome.record === false) return 'debug';
  return 'info';
}
