/**
 * Restore step 1, `restore_asg`: the instance goes back into the Auto Scaling group asg_detach took it
 * out of. AttachInstances raises the group's desired capacity by one per instance, so the group ends where
 * it was before the hand-off and launches nothing extra.
 *
 * Per region and claimed batch: one DescribeInstances per 200 ids (an instance gone ends `gone`; one not
 * running cannot be put back), one DescribeAutoScalingInstances per 50 ids (an instance already in a group
 * is not attached again: this is what makes a restart after the call safe), one DescribeAutoScalingGroups
 * per 100 groups (size limits), one AttachInstances per group and 20 ids. A group that is gone, or has no
 * room left under its maximum size, is recorded as not put back and the restore goes on.
 */
import { describeAsgMembership } from '../../aws/autoscaling.js';
import { errorName } from '../../aws/elb.js';
import { classifyAwsError } from '../../aws/errors.js';
import { describeInstanceRecords, goneReason } from '../../aws/instances.js';
import { isolate, splitWhen } from '../../aws/isolate.js';
import { attachInstances, ATTACH_MAX, describeGroupSizes } from '../../aws/restore-calls.js';
import { chunks } from '../../lib/chunks.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { drained, readRestoreData, RESTORING, type RestoreData, type RestoreKit, type RestoreStepDefinition } from './restore-kit.js';
import type { StepResult } from './step.js';

const NAME = 'restore_asg';

export const restoreAsgStep: RestoreStepDefinition = {
  name: NAME,
  phase: 'restore',
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  putsBack: (data) => drained(data).group !== null,
  skipReason: (_policy, data) => (drained(data).group === null ? 'not detached from an Auto Scaling group' : null),
  create: (r: RestoreKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const saves: { row: TerminationRow; data: RestoreData }[] = [];
      const todo = r.triage(NAME, rows, ctx.now(), results, (p) => (p.asg ? 'done before a restart' : null));
      const held = await r.begin(ctx, todo, NAME);
      const count = r.kit.counter(NAME);
      const finish = (row: TerminationRow, outcome: { done?: string; problem?: string }, detail: string) => {
        const data = r.withProgress(row, (p) => ({
          ...p,
          asg: true,
          done: outcome.done ? [...p.done, outcome.done] : p.done,
          problems: outcome.problem ? [...p.problems, outcome.problem] : p.problems,
        }));
        saves.push({ row, data });
        results.set(row.id, r.advance(NAME, row, data, ctx.now(), `${NAME}.ok`, detail));
      };
      const retry = (list: TerminationRow[], reason: string) => {
        for (const row of list) results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason, state: RESTORING });
      };

      await Promise.all(
        [...r.kit.byRegion(held)].map(async ([region, regionRows]) => {
          const client = r.kit.clients.autoScalingFor(region);
          const live: TerminationRow[] = [];
          let members;
          try {
            const records = await describeInstanceRecords(r.kit.clients.ec2For(region), regionRows.map((row) => row.instance_id), count);
            for (const row of regionRows) {
              const record = records.get(row.instance_id);
              const gone = goneReason(record);
              if (gone) results.set(row.id, { kind: 'final', state: 'gone', event: `${NAME}.gone`, detail: `${gone}: nothing to restore` });
              else if (record!.state !== 'running' && record!.state !== 'pending')
                finish(row, { problem: `Auto Scaling group ${groupOf(row)}: the instance is ${record!.state}` }, `not re-attached: the instance is ${record!.state}`);
              else live.push(row);
            }
            members = await describeAsgMembership(client, live.map((row) => row.instance_id), count);
          } catch (err) {
            const e = classifyAwsError(err);
            return retry(regionRows.filter((row) => !results.has(row.id)), `${e.code}: ${e.message}`);
          }

          const toAttach: TerminationRow[] = [];
          for (const row of live) {
            const group = groupOf(row);
            const m = members.get(row.instance_id);
            if (m?.group === group) finish(row, { done: `Auto Scaling group ${group} (it was back in it already: ${m.lifecycle})` }, `already in group ${group} (${m.lifecycle}): not attached again`);
            else if (m) finish(row, { problem: `Auto Scaling group ${group}: the instance is in group ${m.group} now` }, `not re-attached to ${group}: it is in group ${m.group} now`);
            else if (r.kit.dryRun) finish(row, { done: `Auto Scaling group ${group} (dry run: not attached)` }, `dry run: would attach to group ${group}`);
            else toAttach.push(row);
          }
          if (toAttach.length === 0) return;
          const byGroup = groupBy(toAttach, (row) => groupOf(row));

          let sizes;
          try {
            sizes = await describeGroupSizes(client, [...byGroup.keys()], count);
          } catch (err) {
            const e = classifyAwsError(err);
            return retry(toAttach, `DescribeAutoScalingGroups: ${e.code}: ${e.message}`);
          }

          for (const [group, groupRows] of byGroup) {
            const size = sizes.get(group);
            if (!size) {
              for (const row of groupRows) finish(row, { problem: `Auto Scaling group ${group} no longer exists` }, `not re-attached: group ${group} no longer exists`);
              continue;
            }
            // Room under the maximum: the rest is recorded, not attached (AttachInstances would refuse the whole call).
            const room = Math.max(0, size.max - Math.max(size.desired, size.members));
            const atMax = `Auto Scaling group ${group} is at its maximum size (${size.max}, desired capacity ${size.desired})`;
            for (const row of groupRows.slice(room)) finish(row, { problem: atMax }, `not re-attached: group ${group} is at its maximum size (${size.max})`);
            for (const chunk of chunks(groupRows.slice(0, room), ATTACH_MAX)) {
              const call = async (list: TerminationRow[]) => {
                await attachInstances(client, group, list.map((row) => row.instance_id), count);
                for (const row of list) finish(row, { done: `Auto Scaling group ${group}` }, `attached to group ${group}; its desired capacity was raised by one, so it launches nothing extra`);
              };
              // A ValidationError spoils the whole call (one instance not attachable): one by one, then it is that one's.
              const failed = await isolate(chunk, call, splitWhen((err) => errorName(err) === 'ValidationError'));
              for (const [row, err] of failed) {
                const e = classifyAwsError(err);
                if (e.code === 'ValidationError') finish(row, { problem: `Auto Scaling group ${group}: AttachInstances refused: ${e.message}` }, `not re-attached to ${group}: ${e.message}`);
                else retry([row], `AttachInstances to ${group}: ${e.code}: ${e.message}`);
              }
            }
          }
        }),
      );
      await r.kit.save(ctx, saves);
      return results;
    },
};

/** The group the row was detached from (the step runs only for rows that have one). */
function groupOf(row: TerminationRow): string {
  return drained(readRestoreData(row)).group!;
}
