/**
 * Cancel: the termination ends in `cancelled` and the instance is kept. The history entry says what a
 * cancel cannot undo, from the row's step progress and its history.
 */
import type { HistoryRow, RowChange, TerminationRow } from '../store/ports.js';
import { readStepData } from '../worker/step-data.js';
import { EXPEDITE_STEP } from './expedite.js';
import type { ActionRequest } from './request.js';

export function cancelChange(req: ActionRequest, row: TerminationRow, history: HistoryRow[]): RowChange {
  const reason = `cancelled by ${req.by ?? 'an operator'}${req.note ? `: ${req.note}` : ''}`;
  return {
    set: { state: 'cancelled', next_attempt_at: null, reason },
    history: { state: 'cancelled', step: row.step, event: 'cancelled', detail: `${reason}. The instance is kept. ${drainNote(row, history)}`.trim() },
  };
}

/** The drain steps already done: their events end in one of these, and name a drain action. */
const isDrainDone = (event: string) => /\.(ok|done|timeout|skipped)$/.test(event) && /deregist|detach|drain|hook/i.test(event);

/**
 * What a cancel cannot undo: the drain steps already done (the instance left its load balancers or its
 * Auto Scaling group and is not put back), or a step a worker was running at that very moment.
 */
function drainNote(row: TerminationRow, history: HistoryRow[]): string {
  const done = history.filter((h) => isDrainDone(h.event)).map((h) => h.event);
  const data = readStepData(row);
  const left: string[] = [];
  if (data.asg?.detached && data.asg.group) left.push(`it was detached from Auto Scaling group ${data.asg.group} (its desired capacity was decremented)`);
  const groups = (data.lb?.targets ?? []).map((t) => t.arn.split(':').pop()?.replace(/^targetgroup\//, '').split('/')[0] ?? t.arn);
  if (groups.length > 0) left.push(`it was deregistered from target group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`);
  if ((data.lb?.classic ?? []).length > 0) left.push(`it was deregistered from classic load balancer${data.lb!.classic.length > 1 ? 's' : ''} ${data.lb!.classic.join(', ')}`);
  if (data.hook && data.hook.attempts > 0) left.push(`its drain hook was called`);
  const notes: string[] = [];
  if (left.length > 0 || done.length > 0 || row.state === 'draining') {
    notes.push(
      `It had already started draining${done.length > 0 ? ` (${[...new Set(done)].join(', ')})` : ''}: ` +
        (left.length > 0 ? `${left.join('; ')}. ` : 'it may have left its load balancers or Auto Scaling group. ') +
        'That is NOT undone: re-register or re-attach it yourself if it should serve again.',
    );
  }
  // The terminate step changes nothing before it moves the row to `terminating` (which a cancel refuses).
  if (row.lease_owner !== null && row.step !== EXPEDITE_STEP) {
    notes.push(`A worker held it for its '${row.step}' step at that moment; whatever that step had already done is not undone.`);
  }
  return notes.join(' ');
}
