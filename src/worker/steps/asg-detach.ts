/**
 * Step 1, `asg_detach`: the instance leaves its Auto Scaling group with the group's desired capacity
 * decremented, so the group launches no replacement (`asg: leave` skips this step).
 *
 * Per region and claimed batch: one DescribeAutoScalingInstances per 50 ids, then, only for the ids no group
 * holds InService or in Standby, one DescribeInstances per 200 (an instance that no longer exists ends `gone`
 * here, early), and only for instances still in a group: one DescribeAutoScalingGroups (the group's load balancers, which AWS drains the instance from
 * itself) and one DetachInstances per group and 20 ids.
 *
 * Idempotent: an instance already `Detaching`/`Detached`, or in no group, is done; one that someone else
 * detached between our look and our call (ValidationError "is not part of Auto Scaling group") too. A
 * row whose detach is recorded in step_data is not looked at again after a restart.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { describeAsgMembership, describeGroupLoadBalancers, detachInstances, DETACH_MAX, type AsgMembership } from '../../aws/autoscaling.js';
import { errorName } from '../../aws/elb.js';
import { isolate, splitWhen } from '../../aws/isolate.js';
import { describeInstanceRecords, goneReason } from '../../aws/instances.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { readStepData, type AsgProgress, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'asg_detach';
const DETACHABLE = new Set(['InService', 'Standby']);
const ALREADY_LEAVING = new Set(['Detaching', 'Detached']);

export const asgDetachStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Kept: a group the instance is still in would launch a replacement for it.
  keptByExpedite: true,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason: (policy) => (policy.asg === 'leave' ? 'asg: leave' : null),
  firstRunDelayMs: () => 0,
  create: (p: StepKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const saves: { row: TerminationRow; data: StepData }[] = [];
      const now = ctx.now();
      // Done before a restart when step_data has it: the result just was not recorded.
      const todo = p.triage(NAME, rows, now, results, (data) => (data.asg ? describeDone(data.asg) : null));
      const held = await p.begin(ctx, todo, NAME);
      const count = p.counter(NAME);

      await Promise.all(
        [...p.byRegion(held)].map(async ([region, regionRows]) => {
          const retryAll = (list: TerminationRow[], reason: string) => {
            for (const r of list) results.set(r.id, { kind: 'retry', event: `${NAME}.retry`, reason, state: 'draining' });
          };
          const done = (row: TerminationRow, asg: AsgProgress, event: string, detail: string) => {
            const data = { ...readStepData(row), asg };
            saves.push({ row, data });
            results.set(row.id, p.advance(NAME, row, data, ctx.now(), event, detail));
          };

          let live: TerminationRow[];
          let members: Map<string, AsgMembership>;
          try {
            members = await describeAsgMembership(p.clients.autoScalingFor(region), regionRows.map((r) => r.instance_id), count);
            // An instance its group holds InService or in Standby exists: only the others can be gone
            // (DescribeInstances of 100 ids costs ~15 ms of CPU, most of it XML).
            const unsure = regionRows.filter((r) => !DETACHABLE.has(members.get(r.instance_id)?.lifecycle ?? ''));
            const records = unsure.length > 0 ? await describeInstanceRecords(p.clients.ec2For(region), unsure.map((r) => r.instance_id), count) : new Map();
            const unsureIds = new Set(unsure.map((r) => r.instance_id));
            live = [];
            for (const row of regionRows) {
              const gone = unsureIds.has(row.instance_id) ? goneReason(records.get(row.instance_id)) : null;
              if (gone) results.set(row.id, { kind: 'final', state: 'gone', event: `${NAME}.gone`, detail: gone });
              else live.push(row);
            }
          } catch (err) {
            const e = classifyAwsError(err);
            return retryAll(regionRows.filter((r) => !results.has(r.id)), `${e.code}: ${e.message}`);
          }

          const detachable: TerminationRow[] = [];
          for (const row of live) {
            const m = members.get(row.instance_id);
            if (!m) {
              done(row, none(), `${NAME}.ok`, 'in no Auto Scaling group: nothing to detach');
            } else if (ALREADY_LEAVING.has(m.lifecycle)) {
              done(row, { ...none(), group: m.group, lifecycle: m.lifecycle, detached: true }, `${NAME}.ok`, `already leaving group ${m.group} (${m.lifecycle})`);
            } else if (m.lifecycle.startsWith('Terminat')) {
              done(row, { ...none(), group: m.group, lifecycle: m.lifecycle }, `${NAME}.ok`, `group ${m.group} is already terminating it (${m.lifecycle}); not detached`);
            } else if (!DETACHABLE.has(m.lifecycle)) {
              results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: `in group ${m.group} in lifecycle state ${m.lifecycle}, which cannot be detached (only InService or Standby can)`, state: 'draining' });
            } else if (p.dryRun) {
              done(row, { ...none(), group: m.group, lifecycle: m.lifecycle }, `${NAME}.dry_run`, `dry run: would detach from group ${m.group} with its desired capacity decremented; left in the group`);
            } else {
              detachable.push(row);
            }
          }
          if (detachable.length === 0) return;
          const byGroup = groupBy(detachable, (r) => members.get(r.instance_id)!.group);

          const client = p.clients.autoScalingFor(region);
          let attached: Awaited<ReturnType<typeof describeGroupLoadBalancers>>;
          try {
            attached = await describeGroupLoadBalancers(client, [...byGroup.keys()], count);
          } catch (err) {
            const e = classifyAwsError(err);
            return retryAll(detachable, `DescribeAutoScalingGroups: ${e.code}: ${e.message}`);
          }

          for (const [group, groupRows] of byGroup) {
            const lbs = attached.get(group) ?? { classic: [], targetGroups: [] };
            const detached = (row: TerminationRow, detail: string) =>
              done(row, { group, lifecycle: members.get(row.instance_id)!.lifecycle, detached: true, classic: lbs.classic, targetGroups: lbs.targetGroups }, `${NAME}.ok`, detail);
            for (let i = 0; i < groupRows.length; i += DETACH_MAX) {
              const chunk = groupRows.slice(i, i + DETACH_MAX);
              const call = async (list: TerminationRow[]) => {
                await detachInstances(client, group, list.map((r) => r.instance_id), count);
                for (const row of list) detached(row, `detached from group ${group}; its desired capacity was decremented, so it launches no replacement`);
              };
              // A ValidationError from one instance spoils the call (it left meanwhile, or the group is at its minimum): one by one.
              const failed = await isolate(chunk, call, splitWhen((err) => errorName(err) === 'ValidationError'));
              for (const [row, err] of failed) settleFailure([row], err);
            }

            function settleFailure(list: TerminationRow[], err: unknown) {
              const e = classifyAwsError(err);
              for (const row of list) {
                if (e.code === 'ValidationError' && /not part of Auto Scaling group/i.test(e.message)) {
                  done(row, { ...none(), group, lifecycle: 'Detached' }, `${NAME}.ok`, `no longer in group ${group} (detached by someone else meanwhile)`);
                } else {
                  results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: `DetachInstances from ${group}: ${e.code}: ${e.message}`, state: 'draining' });
                }
              }
            }
          }
        }),
      );
      await p.save(ctx, saves);
      return results;
    },
};

function none(): AsgProgress {
  return { group: null, lifecycle: null, detached: false, classic: [], targetGroups: [] };
}

function describeDone(asg: AsgProgress): string {
  if (asg.group === null) return 'in no Auto Scaling group: nothing to detach';
  return asg.detached ? `detached from group ${asg.group} (recorded before a restart)` : `group ${asg.group}: ${asg.lifecycle ?? 'not detached'}`;
}
