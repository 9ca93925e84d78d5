/**
 * Restore step 2, `restore_lb`: the instance is registered again with every ELBv2 target group
 * lb_deregister recorded (on the recorded port; none recorded: the group's own port) and with every
 * Classic Load Balancer. One RegisterTargets per target group and one RegisterInstancesWithLoadBalancer
 * per classic load balancer, each with all of the batch's instances it takes back (200 per call).
 *
 * Registering twice is harmless, so a restart simply registers again. A load balancer that is gone, or
 * refuses an instance, is recorded as not put back; the others still take the instance back.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { isInvalidMember, isLoadBalancerGone, targetGroupName, type Target } from '../../aws/elb.js';
import { isolate, splitWhen } from '../../aws/isolate.js';
import { registerTargets, registerWithClassic } from '../../aws/restore-calls.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import type { LbTarget } from '../step-data.js';
import { drained, readRestoreData, RESTORING, type RestoreData, type RestoreKit, type RestoreStepDefinition } from './restore-kit.js';
import type { StepResult } from './step.js';

const NAME = 'restore_lb';

interface RowOutcome {
  row: TerminationRow;
  done: string[];
  problems: string[];
  registered: LbTarget[];
  retry: string | null;
}

export const restoreLbStep: RestoreStepDefinition = {
  name: NAME,
  phase: 'restore',
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  putsBack: (data) => drained(data).targets.length + drained(data).classic.length > 0,
  skipReason: (_policy, data) => (drained(data).targets.length + drained(data).classic.length === 0 ? 'deregistered from no load balancer' : null),
  create: (r: RestoreKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const todo = r.triage(NAME, rows, ctx.now(), results, (p) => (p.registered ? 'done before a restart' : null));
      const held = await r.begin(ctx, todo, NAME);
      const count = r.kit.counter(NAME);
      const outcomes = new Map<number, RowOutcome>(held.map((row) => [row.id, { row, done: [], problems: [], registered: [], retry: null }]));

      await Promise.all(
        [...r.kit.byRegion(held)].map(async ([region, regionRows]) => {
          const entries = regionRows.map((row) => ({ row, lb: drained(readRestoreData(row)) }));
          const byTargetGroup = groupBy(
            entries.flatMap(({ row, lb }) => lb.targets.map((t) => ({ arn: t.arn, rowId: row.id, target: { id: row.instance_id, port: t.port } as Target }))),
            (e) => e.arn,
          );
          const byClassic = groupBy(
            entries.flatMap(({ row, lb }) => lb.classic.map((name) => ({ name, rowId: row.id, id: row.instance_id }))),
            (e) => e.name,
          );

          const elbv2 = r.kit.clients.elbv2For(region);
          await mapWithLimit([...byTargetGroup], 8, async ([arn, list]) => {
            const name = targetGroupName(arn);
            const label = (t: Target) => `target group ${name}${t.port === null ? '' : ` (port ${t.port})`}`;
            const call = async (part: typeof list) => {
              if (!r.kit.dryRun) await registerTargets(elbv2, arn, part.map((e) => e.target), count);
              for (const e of part) {
                const o = outcomes.get(e.rowId)!;
                o.done.push(r.kit.dryRun ? `${label(e.target)} (dry run: not registered)` : label(e.target));
                o.registered.push({ arn, port: e.target.port });
              }
            };
            for (const [e, err] of await isolate(list, call, splitWhen(isInvalidMember))) {
              const o = outcomes.get(e.rowId)!;
              if (isLoadBalancerGone(err)) o.problems.push(`${label(e.target)}: it no longer exists`);
              else if (isInvalidMember(err)) o.problems.push(`${label(e.target)}: RegisterTargets refused it: ${describe(err)}`);
              else o.retry ??= `RegisterTargets with ${name}: ${describe(err)}`;
            }
          });

          const elb = r.kit.clients.elbFor(region);
          await mapWithLimit([...byClassic], 8, async ([lbName, list]) => {
            const call = async (part: typeof list) => {
              if (!r.kit.dryRun) await registerWithClassic(elb, lbName, part.map((e) => e.id), count);
              for (const e of part) outcomes.get(e.rowId)!.done.push(`classic load balancer ${lbName}${r.kit.dryRun ? ' (dry run: not registered)' : ''}`);
            };
            for (const [e, err] of await isolate(list, call, splitWhen(isInvalidMember))) {
              const o = outcomes.get(e.rowId)!;
              if (isLoadBalancerGone(err)) o.problems.push(`classic load balancer ${lbName}: it no longer exists`);
              else if (isInvalidMember(err)) o.problems.push(`classic load balancer ${lbName}: RegisterInstancesWithLoadBalancer refused it: ${describe(err)}`);
              else o.retry ??= `RegisterInstancesWithLoadBalancer with ${lbName}: ${describe(err)}`;
            }
          });
        }),
      );

      const saves: { row: TerminationRow; data: RestoreData }[] = [];
      for (const o of outcomes.values()) {
        // A whole-call failure (throttling, an outage): the row tries again later; registering twice is harmless.
        if (o.retry !== null) {
          results.set(o.row.id, { kind: 'retry', event: `${NAME}.retry`, reason: o.retry, state: RESTORING });
          continue;
        }
        const data = r.withProgress(o.row, (p) => ({ ...p, registered: o.registered, done: [...p.done, ...o.done], problems: [...p.problems, ...o.problems] }));
        saves.push({ row: o.row, data });
        const detail = [o.done.length > 0 ? `registered with ${o.done.join(', ')}` : null, o.problems.length > 0 ? `not registered: ${o.problems.join('; ')}` : null].filter(Boolean).join('; ');
        results.set(o.row.id, r.advance(NAME, o.row, data, ctx.now(), `${NAME}.ok`, detail));
      }
      // The region's load balancer index no longer says where these instances are.
      if (saves.length > 0) r.kit.lbCache.clear();
      await r.kit.save(ctx, saves);
      return results;
    },
};

function describe(err: unknown): string {
  const e = classifyAwsError(err);
  return `${e.code}: ${e.message}`;
}
