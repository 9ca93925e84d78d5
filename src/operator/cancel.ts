/**
 * Cancel: the termination ends in `cancelled` and the instance is kept; the history entry says what a
 * cancel cannot undo, from the row's step progress and its history. Cancel with restore: the row goes to
 * `restoring` at the first restore step with something to put back (the registry says which), or ends
 * `restored` at once when the drain had taken it out of nothing.
 */
import type { HistoryRow, RowChange, TerminationRow } from '../store/ports.js';
import { readStepData, type StepData } from '../worker/step-data.js';
import { firstRestoreStep, STEPS, stepNamed } from '../worker/steps/registry.js';
import { targetGroupName } from '../aws/elb.js';
import { EXPEDITE_STEP } from './expedite.js';
import type { ActionRequest } from './request.js';

export function cancelChange(req: ActionRequest, row: TerminationRow, history: HistoryRow[]): RowChange {
  const reason = `cancelled by ${req.by ?? 'an operator'}${req.note ? `: ${req.note}` : ''}`;
  return {
    set: { state: 'cancelled', next_attempt_at: null, reason },
    history: { state: 'cancelled', step: row.step, event: 'cancelled', detail: `${reason}. The instance is kept. ${drainNote(row, history)}`.trim() },
  };
}

export function cancelAndRestoreChange(req: ActionRequest, row: TerminationRow, history: HistoryRow[]): RowChange {
  const reason = `cancelled with restore by ${req.by ?? 'an operator'}${req.note ? `: ${req.note}` : ''}`;
  const data = readStepData(row);
  const left = whatItLeft(data);
  const notes = [hookNote(data), heldNote(row)].filter(Boolean).join(' ');
  const first = firstRestoreStep(data);
  if (!first) {
    const detail = `${reason}. The instance is kept; nothing to put back: it had left no Auto Scaling group or load balancer${done(row, history).length > 0 ? ' (by what was recorded)' : ''}. ${notes}`;
    return { set: { state: 'restored', next_attempt_at: null, reason }, history: { state: 'restored', step: row.step, event: 'restored', detail: detail.trim() } };
  }
  const detail = `${reason}. The instance is kept and put back where its drain took it from: ${left.join('; ')}. ${notes}`;
  return {
    set: { state: 'restoring', step: first.name, next_attempt_at: req.now, attempts: 0, reason },
    history: { state: 'restoring', step: first.name, event: 'cancelled.restore', detail: detail.trim() },
  };
}

/** What the recorded drain took the instance out of. */
function whatItLeft(data: StepData): string[] {
  const left: string[] = [];
  if (data.asg?.detached && data.asg.group) left.push(`it was detached from Auto Scaling group ${data.asg.group} (its desired capacity was decremented)`);
  const groups = [...new Set((data.lb?.targets ?? []).map((t) => targetGroupName(t.arn)))];
  if (groups.length > 0) left.push(`it was deregistered from target group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`);
  if ((data.lb?.classic ?? []).length > 0) left.push(`it was deregistered from classic load balancer${data.lb!.classic.length > 1 ? 's' : ''} ${data.lb!.classic.join(', ')}`);
  return left;
}

/**
 * The drain steps the row has been through (the registry's drain steps before its current one) with
 * the history entries that ended them: "<step>.<outcome>" other than their start or a retry.
 */
function done(row: TerminationRow, history: HistoryRow[]): string[] {
  const at = STEPS.findIndex((s) => s.name === row.step);
  const passed = STEPS.slice(0, at < 0 ? STEPS.length : at).filter((s) => s.phase === 'drain');
  const ends = passed.flatMap((s) => history.filter((h) => h.event.startsWith(`${s.name}.`) && h.event !== `${s.name}.started` && h.event !== `${s.name}.retry`).map((h) => h.event));
  return [...new Set(ends)];
}

/**
 * What a cancel cannot undo: the drain steps already done (the instance left its load balancers or its
 * Auto Scaling group and is not put back), or a step a worker was running at that very moment.
 */
function drainNote(row: TerminationRow, history: HistoryRow[]): string {
  const ended = done(row, history);
  const data = readStepData(row);
  const left = whatItLeft(data);
  if (data.hook && data.hook.attempts > 0) left.push(`its drain hook was called`);
  const notes: string[] = [];
  if (left.length > 0 || ended.length > 0 || row.state === 'draining') {
    notes.push(
      `It had already started draining${ended.length > 0 ? ` (${ended.join(', ')})` : ''}: ` +
        (left.length > 0 ? `${left.join('; ')}. ` : 'it may have left its load balancers or Auto Scaling group. ') +
        'That is NOT undone: re-register or re-attach it yourself if it should serve again.',
    );
  }
  const held = heldNote(row);
  if (held) notes.push(held);
  return notes.join(' ');
}

function hookNote(data: StepData): string {
  return data.hook && data.hook.attempts > 0 ? 'Its drain hook was already called: that is not undone (a restore does not call it back).' : '';
}

/** The terminate step changes nothing before it moves the row to `terminating` (which a cancel refuses). */
function heldNote(row: TerminationRow): string {
  if (row.lease_owner === null || row.step === EXPEDITE_STEP || stepNamed(row.step) === undefined) return '';
  return `A worker held it for its '${row.step}' step at that moment; whatever that step had already done is not undone.`;
}
