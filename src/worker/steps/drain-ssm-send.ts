/**
 * drain_ssm's sending: rows with the same region, document, timeout and resolved commands share one
 * SendCommand of at most 50 instances. Each call is marked in step_data (key, time) under the lease
 * before it is made and its CommandId saved after, so a restart in between finds the command by its key
 * instead of sending it again. SendCommand refuses the whole call when one instance is not a managed node
 * (InvalidInstanceId): the instances it names are settled, the rest sent again (one by one when it names
 * none).
 */
import { classifyAwsError, idsNamedIn } from '../../aws/errors.js';
import { commentFor, isInvalidInstance, MAX_INSTANCES_PER_COMMAND, newCommandKey, sendCommand } from '../../aws/ssm.js';
import { chunks } from '../../lib/chunks.js';
import { groupBy } from '../../lib/group-by.js';
import type { SsmPolicy } from '../../policy/resolve.js';
import type { TerminationRow } from '../../store/schema.js';
import { readStepData, type SsmProgress } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { StepContext } from './step.js';

/** Our wait ends a little after the command's own timeout, so that SSM's TimedOut (with output) comes first. */
export const DEADLINE_GRACE_MS = 30_000;

export interface Outgoing {
  row: TerminationRow;
  ssm: SsmPolicy;
  commands: string[];
}

export interface SendOutcome {
  /** Sent: the command to poll. */
  sent: Map<number, SsmProgress>;
  /** SSM refused these instances (not managed nodes): why. */
  refused: Map<number, string>;
  /** A whole-call error: retried later, under the shared policy (the mark stays: the next run looks first). */
  retry: Map<number, string>;
}

export async function sendAll(kit: StepKit, ctx: StepContext, name: string, outgoing: Outgoing[]): Promise<SendOutcome> {
  const outcome: SendOutcome = { sent: new Map(), refused: new Map(), retry: new Map() };
  const groups = groupBy(outgoing, (o) => JSON.stringify([o.row.region, o.ssm.document, o.ssm.timeoutMs, o.commands]));
  const count = kit.counter(name);
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const batch of chunks(group, MAX_INSTANCES_PER_COMMAND)) await send(batch);
    }),
  );
  return outcome;

  async function send(batch: Outgoing[]): Promise<void> {
    const { ssm, commands } = batch[0]!;
    const key = newCommandKey();
    const now = ctx.now();
    const marks = batch.map((o) => {
      const before = readStepData(o.row);
      const progress: SsmProgress = { key, markedAt: now, commandId: null, deadline: now + ssm.timeoutMs + DEADLINE_GRACE_MS, sends: (before.ssm?.sends ?? 0) + 1 };
      return { o, progress, data: { ...before, ssm: progress } };
    });
    const held = await kit.save(
      ctx,
      marks.map((m) => ({ row: m.o.row, data: m.data })),
      { state: 'draining', step: name, event: `${name}.sending`, detail: () => `SendCommand ${ssm.document} to ${batch.length} instance${batch.length === 1 ? '' : 's'} (key ${key}): ${commands.map((c) => JSON.stringify(c)).join(', ')}` },
    );
    const live = marks.filter((m) => held.has(m.o.row.id));
    if (live.length === 0) return;
    try {
      const commandId = await sendCommand(
        kit.clients.ssmFor(live[0]!.o.row.region),
        {
          instanceIds: live.map((m) => m.o.row.instance_id),
          document: ssm.document,
          commands,
          timeoutSeconds: ssm.timeoutMs / 1000,
          comment: commentFor(key, live.map((m) => m.o.row.id)),
        },
        count,
      );
      for (const m of live) outcome.sent.set(m.o.row.id, { ...m.progress, commandId });
    } catch (err) {
      const e = classifyAwsError(err);
      if (!isInvalidInstance(err)) {
        for (const m of live) outcome.retry.set(m.o.row.id, `SendCommand: ${e.code}: ${e.message}`);
        return;
      }
      // Not sent to anyone: settle the instances SSM names (or the only one), send the rest again.
      const named = live.length === 1 ? [live[0]!.o.row.instance_id] : idsNamedIn(e.message, live.map((m) => m.o.row.instance_id));
      const why = `SSM refused the instance (${e.code}: ${e.message}): its SSM agent is not running or not registered, or it is not running`;
      for (const m of live) if (named.includes(m.o.row.instance_id)) outcome.refused.set(m.o.row.id, why);
      const rest = live.filter((m) => !named.includes(m.o.row.instance_id)).map((m) => ({ ...m.o, row: { ...m.o.row, step_data: JSON.stringify(m.data) } }));
      if (named.length > 0) {
        if (rest.length > 0) await send(rest);
      } else {
        for (const one of rest) await send([one]);
      }
    }
  }
}
