/**
 * The last step: terminate, or stop (policy `action: stop`), or in dry-run mode ask EC2 whether it would,
 * in batches of up to 1,000 ids per region and action. Rows enter `terminating` under the lease before the call, so a concurrent cancel
 * either wins before it or is refused after it.
 */
import type { AwsClients } from '../../aws/clients.js';
import { MAX_IDS_PER_CALL, stopInstances, terminateInstances, type CallCounter } from '../../aws/ec2.js';
import { describeInstanceRecords } from '../../aws/instances.js';
import type { GuardPolicy } from '../../policy/resolve.js';
import { checkGuards } from '../guard-check.js';
import { classifyAwsError } from '../../aws/errors.js';
import { runIsolated, type InstanceResult } from '../../aws/isolate.js';
import type { TerminationRow } from '../../store/schema.js';
import type { Step, StepContext, StepResult } from './step.js';

export interface TerminateOptions {
  clients: AwsClients;
  dryRun: boolean;
  countCall?: CallCounter;
  /** What to do with a row's instance (its policy's `action`); `terminate` when absent. */
  actionFor?: (row: TerminationRow) => 'terminate' | 'stop';
  /** When set, EC2's record of each instance is checked against the guards just before acting. */
  guard?: GuardPolicy;
}

export function terminateStep(options: TerminateOptions): Step {
  return {
    name: 'terminate',
    rateLimited: true,
    stateIfThrown: 'terminating',
    async run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const held = new Set(await ctx.queue.enter(ctx.owner, rows.map((r) => r.id), 'terminating', 'terminate.started', ctx.now()));
      const heldRows = rows.filter((r) => held.has(r.id));
      const actionOf = (r: TerminationRow) => options.actionFor?.(r) ?? 'terminate';
      // Rows of one claim may want different actions: one batch per region and action.
      const batches = (['terminate', 'stop'] as const).flatMap((action) => batchByRegion(heldRows.filter((r) => actionOf(r) === action)).map((b) => ({ ...b, action })));
      await Promise.all(
        batches.map(async ({ region, rows: claimed, action }) => {
          let batch = claimed;
          const client = options.clients.ec2For(region);
          if (options.guard) batch = await guardBatch(batch, region, action, client, options.guard, options.countCall, results);
          if (batch.length === 0) return;
          const stop = action === 'stop';
          const apiName = stop ? 'StopInstances' : 'TerminateInstances';
          let byInstance;
          try {
            byInstance = await runIsolated(
              batch.map((r) => r.instance_id),
              {
                actionName: options.dryRun ? `${apiName} (dry run)` : apiName,
                call: (ids) => (stop ? stopInstances : terminateInstances)(client, ids, options.dryRun, options.countCall),
                describe: async (ids) => new Map([...(await describeInstanceRecords(client, ids, options.countCall))].map(([id, r]) => [id, r.state])),
              },
            );
          } catch (err) {
            // E.g. the DescribeInstances that confirms a "not found" failed. Some of the batch may be
            // terminated already: it stays `terminating` (never cancellable) and retries; terminating twice
            // is harmless. Caught here, per batch, so no sibling batch is still calling EC2 when the
            // results are settled.
            const e = classifyAwsError(err);
            for (const row of batch) results.set(row.id, { kind: 'retry', event: 'terminate.retry', reason: `${apiName}: ${e.code}: ${e.message}`, state: 'terminating' });
            return;
          }
          for (const row of batch) results.set(row.id, toStepResult(byInstance.get(row.instance_id)!, options.dryRun, action));
        }),
      );
      return results;
    },
  };
}

/**
 * The guards, just before acting: settles refused and vanished instances in `results`, returns the rows
 * that may go ahead. A failed look-up retries the batch (acting unguarded is not an option).
 */
async function guardBatch(
  batch: TerminationRow[],
  region: string,
  action: 'terminate' | 'stop',
  client: ReturnType<AwsClients['ec2For']>,
  guard: GuardPolicy,
  count: CallCounter | undefined,
  results: Map<number, StepResult>,
): Promise<TerminationRow[]> {
  try {
    const verdicts = await checkGuards(batch, region, client, guard, count);
    for (const { row, state, detail, ec2State } of verdicts.ended) {
      // Already `terminating` when claimed: an earlier attempt of ours got through before a restart.
      if (state === 'gone' && row.state === 'terminating' && action === 'terminate' && (ec2State === 'shutting-down' || ec2State === 'terminated')) {
        results.set(row.id, { kind: 'final', state: 'terminated', event: 'terminate.ok', detail: `already ${ec2State}: an earlier attempt got through before its result was recorded` });
      } else {
        results.set(row.id, { kind: 'final', state, event: `terminate.${state}`, detail });
      }
    }
    return verdicts.allowed;
  } catch (err) {
    const e = classifyAwsError(err);
    for (const r of batch) results.set(r.id, { kind: 'retry', event: 'terminate.retry', reason: `guard check: ${e.code}: ${e.message}`, state: 'terminating' });
    return [];
  }
}

function toStepResult(result: InstanceResult, dryRun: boolean, action: 'terminate' | 'stop' = 'terminate'): StepResult {
  switch (result.kind) {
    case 'done':
      if (dryRun) return { kind: 'final', state: 'dry_run', event: 'terminate.dry_run', detail: result.detail };
      return action === 'stop'
        ? { kind: 'final', state: 'stopped', event: 'terminate.stopped', detail: `${result.detail} (policy action: stop)` }
        : { kind: 'final', state: 'terminated', event: 'terminate.ok', detail: result.detail };
    case 'gone':
      return { kind: 'final', state: 'gone', event: 'terminate.gone', detail: result.detail };
    case 'failed':
      return { kind: 'final', state: 'failed', event: 'terminate.failed', detail: result.reason };
    case 'retry':
      return { kind: 'retry', event: 'terminate.retry', reason: result.reason, state: 'terminating' };
  }
}

/** Rows grouped by region, each group cut to EC2's per-call maximum. */
export function batchByRegion(rows: TerminationRow[]): { region: string; rows: TerminationRow[] }[] {
  const byRegion = new Map<string, TerminationRow[]>();
  for (const r of rows) {
    const list = byRegion.get(r.region);
    if (list) list.push(r);
    else byRegion.set(r.region, [r]);
  }
  const out: { region: string; rows: TerminationRow[] }[] = [];
  for (const [region, list] of byRegion) {
    for (let i = 0; i < list.length; i += MAX_IDS_PER_CALL) out.push({ region, rows: list.slice(i, i + MAX_IDS_PER_CALL) });
  }
  return out;
}
