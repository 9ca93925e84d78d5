/**
 * drain_ssm's looks at sent commands: one ListCommands per command (up to 50 instances) says how many
 * invocations ended; only when that number grew, the command ended, or our deadline passed does it read
 * the waiting instances' invocations (GetCommandInvocation each), so a long drain costs one call per
 * command per look and each instance's result is read about once.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { commandEnded, commandProgress, describeInvocation, getInvocation, invocationEnded, type Invocation } from '../../aws/ssm.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import type { SsmProgress } from '../step-data.js';

export interface Waiting {
  row: TerminationRow;
  progress: SsmProgress;
}

export type PollOutcome =
  | { kind: 'success'; detail: string }
  | { kind: 'failed'; why: string }
  /** Still running: look again; `progress` is what to save when it changed (else null). */
  | { kind: 'running'; status: string; progress: SsmProgress | null }
  | { kind: 'retry'; reason: string };

/** Commands looked at at once, and invocations read at once per command. */
const COMMAND_CONCURRENCY = 4;
const GET_CONCURRENCY = 8;

export async function pollAll(
  ssmFor: (region: string) => Parameters<typeof commandProgress>[0],
  waiting: Waiting[],
  now: number,
  count?: Parameters<typeof commandProgress>[2],
): Promise<Map<number, PollOutcome>> {
  const out = new Map<number, PollOutcome>();
  const byCommand = groupBy(waiting, (w) => `${w.row.region} ${w.progress.commandId}`);
  await mapWithLimit([...byCommand.values()], COMMAND_CONCURRENCY, async (group) => {
    const client = ssmFor(group[0]!.row.region);
    const commandId = group[0]!.progress.commandId!;
    let progress;
    try {
      progress = await commandProgress(client, commandId, count);
    } catch (err) {
      const e = classifyAwsError(err);
      for (const w of group) out.set(w.row.id, { kind: 'retry', reason: `ListCommands ${commandId}: ${e.code}: ${e.message}` });
      return;
    }
    if (progress === null) {
      for (const w of group) out.set(w.row.id, { kind: 'failed', why: `SSM no longer knows command ${commandId}` });
      return;
    }
    const seen = Math.min(...group.map((w) => w.progress.completedSeen ?? 0));
    const late = group.some((w) => now >= w.progress.deadline);
    if (!commandEnded(progress) && progress.completed <= seen && !late) {
      for (const w of group) out.set(w.row.id, { kind: 'running', status: progress.status, progress: null });
      return;
    }
    await mapWithLimit(group, GET_CONCURRENCY, async (w) => {
      let invocation: Invocation | null;
      try {
        invocation = await getInvocation(client, commandId, w.row.instance_id, count);
      } catch (err) {
        const e = classifyAwsError(err);
        out.set(w.row.id, { kind: 'retry', reason: `GetCommandInvocation ${commandId} ${w.row.instance_id}: ${e.code}: ${e.message}` });
        return;
      }
      if (invocation !== null && invocationEnded(invocation)) {
        out.set(w.row.id, invocation.status === 'Success' ? { kind: 'success', detail: describeInvocation(invocation) } : { kind: 'failed', why: describeInvocation(invocation) });
        return;
      }
      const status = invocation ? describeInvocation(invocation) : `${progress.status} (no invocation for the instance yet)`;
      if (now >= w.progress.deadline) out.set(w.row.id, { kind: 'failed', why: `still ${status} when the wait ended` });
      else out.set(w.row.id, { kind: 'running', status, progress: { ...w.progress, completedSeen: progress.completed } });
    });
  });
  return out;
}
