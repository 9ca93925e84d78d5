/**
 * The last step: terminate (or, in dry-run mode, ask EC2 whether it would) in batches of up to 1,000
 * ids per region. Rows enter `terminating` under the lease before the call, so a concurrent cancel
 * either wins before it or is refused after it.
 */
import type { AwsClients } from '../../aws/clients.js';
import { describeInstanceStates, MAX_IDS_PER_CALL, terminateInstances, type CallCounter } from '../../aws/ec2.js';
import { runIsolated, type InstanceResult } from '../../aws/isolate.js';
import type { TerminationRow } from '../../store/schema.js';
import type { Step, StepContext, StepResult } from './step.js';

export interface TerminateOptions {
  clients: AwsClients;
  dryRun: boolean;
  countCall?: CallCounter;
}

export function terminateStep(options: TerminateOptions): Step {
  return {
    name: 'terminate',
    async run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const held = new Set(await ctx.store.enterState(ctx.owner, rows.map((r) => r.id), 'terminating', 'terminate.started', ctx.now()));
      const batches = batchByRegion(rows.filter((r) => held.has(r.id)));
      await Promise.all(
        batches.map(async ({ region, rows: batch }) => {
          const client = options.clients.ec2For(region);
          const byInstance = await runIsolated(
            batch.map((r) => r.instance_id),
            {
              actionName: options.dryRun ? 'TerminateInstances (dry run)' : 'TerminateInstances',
              call: (ids) => terminateInstances(client, ids, options.dryRun, options.countCall),
              describe: (ids) => describeInstanceStates(client, ids, options.countCall),
            },
          );
          for (const row of batch) results.set(row.id, toStepResult(byInstance.get(row.instance_id)!, options.dryRun));
        }),
      );
      return results;
    },
  };
}

function toStepResult(result: InstanceResult, dryRun: boolean): StepResult {
  switch (result.kind) {
    case 'done':
      return dryRun
        ? { kind: 'final', state: 'dry_run', event: 'terminate.dry_run', detail: result.detail }
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
