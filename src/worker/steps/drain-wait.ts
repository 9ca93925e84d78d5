/**
 * Step 2b, `drain_wait`: waits until the load balancers have let go of the instance: every target group
 * reports it `unused` (or not registered), every classic load balancer no longer `InService` (while
 * connection draining runs AWS reports "InService: Instance deregistration currently in progress").
 *
 * It never holds a lease while waiting: each look is one short step run (one DescribeTargetHealth per
 * target group and one DescribeInstanceHealth per classic load balancer, for the whole batch), and a drain
 * still in progress is looked at again later (`wait`: not a failure, no attempt counted, no history entry
 * per look). The pause grows with the time spent waiting, from `drainPollMinMs` to `drainPollMaxMs`
 * (5 s to 30 s by default). Past the deadline set by lb_deregister (drain.timeout, default 10m) it records
 * the timeout, with what was still draining, and goes on.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { describeClassicHealth, describeTargetHealth, isInvalidMember, isLoadBalancerGone, targetGroupName } from '../../aws/elb.js';
import { isolate, splitWhen } from '../../aws/isolate.js';
import { formatDuration } from '../../domain/duration.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import { readStepData, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import { DRAINING_STATES } from './lb-deregister.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'drain_wait';

/** Pause before the next look: half the time waited so far, within [min, max]. */
export function pollDelayMs(waitedMs: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(minMs, Math.round(waitedMs / 2)));
}

export const drainWaitStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Skipped by an expedite: waiting for the drain is what the operator asked to cut short.
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason(policy, data) {
    if (!policy.drain.loadBalancers) return 'drain.load_balancers: false';
    if (data.lb && data.lb.targets.length === 0 && data.lb.classic.length === 0) return 'no load balancer held the instance';
    return null;
  },
  // The load balancers have only just been told: the first look would find them still draining.
  firstRunDelayMs: (tuning) => tuning.drainPollMinMs,
  create: (p: StepKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const now = ctx.now();
      const dataOf = new Map<number, StepData>();
      const todo: TerminationRow[] = [];
      for (const row of rows) {
        const data = readStepData(row);
        const lb = data.lb;
        const skip = p.skipReason(NAME, row, data);
        if (skip !== null) {
          results.set(row.id, p.advance(NAME, row, data, now, `${NAME}.skipped`, skip));
        } else if (!lb) {
          results.set(row.id, p.advance(NAME, row, data, now, `${NAME}.ok`, 'no load balancer to wait for'));
        } else {
          dataOf.set(row.id, data);
          todo.push(row);
        }
      }
      // The first look records the start (once, not per look).
      const first = todo.filter((r) => !dataOf.get(r.id)!.drain);
      if (first.length > 0) {
        const entries = first.map((row) => {
          const data = { ...dataOf.get(row.id)!, drain: { startedAt: now } };
          dataOf.set(row.id, data);
          return { row, data };
        });
        const held = await p.save(ctx, entries, { state: 'draining', step: NAME, event: `${NAME}.started`, detail: () => null });
        for (const row of first) if (!held.has(row.id)) todo.splice(todo.indexOf(row), 1);
      }
      const count = p.counter(NAME);

      await Promise.all(
        [...p.byRegion(todo)].map(async ([region, regionRows]) => {
          const pending = new Map<number, string[]>(regionRows.map((r) => [r.id, []]));
          const failures = new Map<number, string>();
          const lbOf = (row: TerminationRow) => dataOf.get(row.id)!.lb!;
          const byTargetGroup = groupBy(
            regionRows.flatMap((row) => lbOf(row).targets.map((t) => ({ arn: t.arn, target: { id: row.instance_id, port: t.port }, rowId: row.id }))),
            (e) => e.arn,
          );
          const byClassic = groupBy(
            regionRows.flatMap((row) => lbOf(row).classic.map((name) => ({ name, id: row.instance_id, rowId: row.id }))),
            (e) => e.name,
          );

          await mapWithLimit([...byTargetGroup], 8, async ([arn, entries]) => {
            const elbv2 = p.clients.elbv2For(region);
            const name = targetGroupName(arn);
            const look = async (list: typeof entries): Promise<void> => {
              const states = await describeTargetHealth(elbv2, arn, list.map((e) => e.target), count);
              for (const e of list) {
                const s = states.find((x) => x.id === e.target.id && (e.target.port === null || x.port === e.target.port));
                if (!s || s.state === 'unused') continue;
                pending.get(e.rowId)!.push(`target group ${name} (${s.state}${DRAINING_STATES.has(s.state) ? '' : ': registered again?'})`);
              }
            };
            await lookIsolating(entries, look, `DescribeTargetHealth ${name}`, failures);
          });

          await mapWithLimit([...byClassic], 8, async ([lbName, entries]) => {
            const elb = p.clients.elbFor(region);
            const look = async (list: typeof entries): Promise<void> => {
              const health = await describeClassicHealth(elb, lbName, list.map((e) => e.id), count);
              for (const e of list) {
                const h = health.get(e.id);
                if (h?.state === 'InService') pending.get(e.rowId)!.push(`classic load balancer ${lbName} (${h.description ?? 'InService'})`);
              }
            };
            await lookIsolating(entries, look, `DescribeInstanceHealth ${lbName}`, failures);
          });

          const at = ctx.now();
          for (const row of regionRows) {
            const data = dataOf.get(row.id)!;
            const lb = data.lb!;
            const failure = failures.get(row.id);
            if (failure !== undefined) {
              results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: failure, state: 'draining' });
              continue;
            }
            const still = pending.get(row.id)!;
            const waited = at - lb.startedAt;
            if (still.length === 0) {
              data.drain = { ...data.drain!, result: 'drained' };
              results.set(row.id, p.advance(NAME, row, data, at, `${NAME}.ok`, `drained from ${describeLb(data)} (${formatDuration(Math.max(0, waited))} after deregistration)`));
            } else if (at >= lb.deadline) {
              data.drain = { ...data.drain!, result: 'timeout' };
              results.set(
                row.id,
                p.advance(NAME, row, data, at, `${NAME}.timeout`, `still draining after ${formatDuration(lb.deadline - lb.startedAt)} (drain.timeout): ${still.join(', ')}; going on without waiting longer`),
              );
            } else {
              const next = Math.min(lb.deadline, at + pollDelayMs(waited, p.tuning.drainPollMinMs, p.tuning.drainPollMaxMs));
              results.set(row.id, {
                kind: 'wait',
                at: next,
                event: `${NAME}.waiting`,
                detail: `waiting for the drain: ${still.join(', ')}; next look at ${new Date(next).toISOString()}, giving up at ${new Date(lb.deadline).toISOString()}`,
                state: 'draining',
                record: false,
              });
            }
          }
        }),
      );
      // Only finished drains change step_data (the result); a look that changed nothing writes nothing.
      const finished = todo.filter((r) => results.get(r.id)?.kind === 'advance').map((row) => ({ row, data: dataOf.get(row.id)! }));
      await p.save(ctx, finished);
      return results;
    },
};

/**
 * One look at a load balancer for all its entries. A deleted load balancer holds nothing; an unknown member
 * (the instance is gone) fails the whole call, so the entries are then looked at one by one. Any other
 * failure is recorded for each entry's row.
 */
async function lookIsolating<E extends { rowId: number }>(entries: E[], look: (list: E[]) => Promise<void>, label: string, failures: Map<number, string>): Promise<void> {
  const errors = await isolate(entries, look, splitWhen(isInvalidMember));
  for (const [e, err] of errors) {
    if (!isInvalidMember(err) && !isLoadBalancerGone(err)) failures.set(e.rowId, `${label}: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  const e = classifyAwsError(err);
  return `${e.code}: ${e.message}`;
}

function describeLb(data: StepData): string {
  const lb = data.lb!;
  return [...new Set(lb.targets.map((t) => targetGroupName(t.arn)))].map((n) => `target group ${n}`).concat(lb.classic.map((n) => `classic load balancer ${n}`)).join(', ');
}
