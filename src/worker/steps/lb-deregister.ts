/**
 * Step 2a, `lb_deregister`: the instance is deregistered from every ELBv2 target group and every Classic
 * Load Balancer that holds it (`drain.load_balancers: false` skips this step and the drain wait).
 *
 * There is no reverse lookup, so the region's index (every instance target group with its targets, every
 * classic load balancer with its instances) is built once per batch and reused for `lbCacheTtlMs` (see
 * lb-cache.ts). Then one DeregisterTargets per target group and one DeregisterInstancesFromLoadBalancer per
 * classic load balancer, each with all of the batch's instances it holds.
 *
 * What the instance must drain from is kept in step_data for the drain wait: the target groups it was
 * deregistered from, those where it was already draining (its group, when detached, deregisters it
 * itself), and the classic load balancers of its former group. The drain deadline is now + drain.timeout.
 */
import { classifyAwsError } from '../../aws/errors.js';
import {
  deregisterFromClassic,
  deregisterTargets,
  isInvalidMember,
  isLoadBalancerGone,
  targetGroupName,
  type Target,
} from '../../aws/elb.js';
import { isolate, splitWhen } from '../../aws/isolate.js';
import { formatDuration } from '../../domain/duration.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import { readStepData, type LbProgress, type LbTarget, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'lb_deregister';
/** Target states that mean "not (or no longer) receiving new traffic, still finishing". */
export const DRAINING_STATES = new Set(['draining', 'unhealthy.draining']);

interface RowPlan {
  row: TerminationRow;
  waitTargets: LbTarget[];
  waitClassic: Set<string>;
  deregistered: string[];
  alreadyDraining: string[];
  failure: string | null;
}

export const lbDeregisterStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Kept: a load balancer still sending traffic to a terminated instance gives its clients errors.
  keptByExpedite: true,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason: (policy) => (policy.drain.loadBalancers ? null : 'drain.load_balancers: false'),
  firstRunDelayMs: () => 0,
  create: (p: StepKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const saves: { row: TerminationRow; data: StepData }[] = [];
      const now = ctx.now();
      const todo = p.triage(NAME, rows, now, results, (data) => (data.lb ? `deregistered before a restart: ${describeLb(data.lb)}` : null));
      const held = await p.begin(ctx, todo, NAME);
      const count = p.counter(NAME);

      await Promise.all(
        [...p.byRegion(held)].map(async ([region, regionRows]) => {
          let index: Map<string, { id: string; port: number | null; state: string }[]>;
          let classics: { name: string; instances: string[] }[];
          try {
            [index, classics] = await Promise.all([p.lbCache.targetGroups(region, count), p.lbCache.classic(region, count)]);
          } catch (err) {
            const e = classifyAwsError(err);
            for (const r of regionRows) results.set(r.id, { kind: 'retry', event: `${NAME}.retry`, reason: `looking up load balancers: ${e.code}: ${e.message}`, state: 'draining' });
            return;
          }

          const plans = new Map<string, RowPlan>(); // by instance id
          for (const row of regionRows) plans.set(row.instance_id, { row, waitTargets: [], waitClassic: new Set(), deregistered: [], alreadyDraining: [], failure: null });
          const targetsToDeregister: { arn: string; target: Target }[] = [];
          for (const [arn, targets] of index) {
            for (const t of targets) {
              const plan = plans.get(t.id);
              if (!plan || t.state === 'unused') continue;
              plan.waitTargets.push({ arn, port: t.port });
              if (DRAINING_STATES.has(t.state)) plan.alreadyDraining.push(targetGroupName(arn));
              else targetsToDeregister.push({ arn, target: { id: t.id, port: t.port } });
            }
          }
          const toDeregister = new Map([...groupBy(targetsToDeregister, (d) => d.arn)].map(([arn, list]) => [arn, list.map((d) => d.target)]));
          const toDeregisterClassic = new Map<string, string[]>();
          for (const lb of classics) {
            const held = lb.instances.filter((id) => plans.has(id));
            for (const id of held) plans.get(id)!.waitClassic.add(lb.name);
            if (held.length > 0) toDeregisterClassic.set(lb.name, held);
          }
          // Detached from its group, the instance is drained by AWS from the group's load balancers, and no
          // longer shows in a classic load balancer's list: watch those too.
          for (const plan of plans.values()) {
            const asg = readStepData(plan.row).asg;
            if (!asg?.detached) continue;
            for (const name of asg.classic) plan.waitClassic.add(name);
            for (const arn of asg.targetGroups) if (!plan.waitTargets.some((t) => t.arn === arn)) plan.waitTargets.push({ arn, port: null });
          }

          if (p.dryRun) {
            for (const plan of plans.values()) {
              const would = [...new Set(plan.waitTargets.map((t) => targetGroupName(t.arn)))].map((n) => `target group ${n}`).concat([...plan.waitClassic].map((n) => `classic load balancer ${n}`));
              const data = { ...readStepData(plan.row), lb: { targets: [], classic: [], startedAt: now, deadline: now } };
              saves.push({ row: plan.row, data });
              results.set(plan.row.id, p.advance(NAME, plan.row, data, now, `${NAME}.dry_run`, would.length ? `dry run: would deregister from ${would.join(', ')}; left registered` : 'in no load balancer'));
            }
            return;
          }

          const elbv2 = p.clients.elbv2For(region);
          const elb = p.clients.elbFor(region);
          const forget = (id: string, match: (plan: RowPlan) => void) => {
            const plan = plans.get(id);
            if (plan) match(plan);
          };
          const fail = (id: string, reason: string) => forget(id, (plan) => (plan.failure ??= reason));

          await mapWithLimit([...toDeregister], 8, async ([arn, targets]) => {
            const name = targetGroupName(arn);
            const dropTarget = (t: Target) => forget(t.id, (plan) => (plan.waitTargets = plan.waitTargets.filter((w) => !(w.arn === arn && w.port === t.port))));
            const call = async (list: Target[]) => {
              await deregisterTargets(elbv2, arn, list, count);
              for (const t of list) forget(t.id, (plan) => plan.deregistered.push(`target group ${name}${t.port === null ? '' : ` (port ${t.port})`}`));
              await p.lbCache.noteDeregistered(region, arn, list);
            };
            // An unknown target (terminated meanwhile?) fails the whole call: the others one by one.
            for (const [t, err] of await isolate(targets, call, splitWhen(isInvalidMember))) {
              if (isInvalidMember(err) || isLoadBalancerGone(err)) dropTarget(t);
              else fail(t.id, `DeregisterTargets from ${name}: ${describe(err)}`);
            }
          });

          await mapWithLimit([...toDeregisterClassic], 8, async ([lbName, ids]) => {
            const drop = (id: string) => forget(id, (plan) => plan.waitClassic.delete(lbName));
            const call = async (list: string[]) => {
              await deregisterFromClassic(elb, lbName, list, count);
              for (const id of list) forget(id, (plan) => plan.deregistered.push(`classic load balancer ${lbName}`));
              await p.lbCache.noteClassicDeregistered(region, lbName, list);
            };
            for (const [id, err] of await isolate(ids, call, splitWhen(isInvalidMember))) {
              if (isInvalidMember(err) || isLoadBalancerGone(err)) drop(id);
              else fail(id, `DeregisterInstancesFromLoadBalancer ${lbName}: ${describe(err)}`);
            }
          });

          for (const plan of plans.values()) {
            if (plan.failure !== null) {
              results.set(plan.row.id, { kind: 'retry', event: `${NAME}.retry`, reason: plan.failure, state: 'draining' });
              continue;
            }
            const timeoutMs = p.policyFor(plan.row).drain.timeoutMs;
            const at = ctx.now();
            const lb: LbProgress = { targets: plan.waitTargets, classic: [...plan.waitClassic], startedAt: at, deadline: at + timeoutMs };
            const data = { ...readStepData(plan.row), lb };
            saves.push({ row: plan.row, data });
            const parts: string[] = [];
            if (plan.deregistered.length) parts.push(`deregistered from ${plan.deregistered.join(', ')}`);
            if (plan.alreadyDraining.length) parts.push(`already draining from target group ${plan.alreadyDraining.join(', ')}`);
            const waiting = lb.targets.length + lb.classic.length;
            if (waiting === 0) parts.push('in no load balancer');
            else parts.push(`draining until ${new Date(lb.deadline).toISOString()} at the latest (drain.timeout ${formatDuration(timeoutMs)})`);
            results.set(plan.row.id, p.advance(NAME, plan.row, data, at, `${NAME}.ok`, parts.join('; ')));
          }
        }),
      );
      await p.save(ctx, saves);
      return results;
    },
};

function describe(err: unknown): string {
  const e = classifyAwsError(err);
  return `${e.code}: ${e.message}`;
}

function describeLb(lb: LbProgress): string {
  const names = [...new Set(lb.targets.map((t) => targetGroupName(t.arn)))].map((n) => `target group ${n}`).concat(lb.classic.map((n) => `classic load balancer ${n}`));
  return names.length ? names.join(', ') : 'in no load balancer';
}
