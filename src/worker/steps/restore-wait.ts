/**
 * Restore step 3, `restore_wait` (policy `restore.wait_healthy: true`; off by default): waits until every
 * target group the instance was registered with again reports it `healthy`, looking as the drain wait
 * does (first look after drainPollMinMs, the pause growing with the time waited) and giving up at
 * `restore.timeout`: then the restore ends `failed`, naming the target groups that did not report it
 * healthy. One DescribeTargetHealth per target group and look, with all of the batch's instances in it.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { describeTargetHealth, isLoadBalancerGone, targetGroupName, type Target } from '../../aws/elb.js';
import { formatDuration } from '../../domain/duration.js';
import { groupBy } from '../../lib/group-by.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import { pollDelayMs } from './drain-wait.js';
import { progressOf, readRestoreData, RESTORING, type RestoreData, type RestoreKit, type RestoreStepDefinition } from './restore-kit.js';
import type { StepResult } from './step.js';

const NAME = 'restore_wait';

export const restoreWaitStep: RestoreStepDefinition = {
  name: NAME,
  phase: 'restore',
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  // It puts nothing back itself: a cancel never starts here.
  putsBack: () => false,
  skipReason: (policy, data) => {
    if (!policy.waitHealthy) return 'restore.wait_healthy: false';
    return (progressOf(data).registered ?? []).length === 0 ? 'registered with no target group' : null;
  },
  create: (r: RestoreKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const now = ctx.now();
      const count = r.kit.counter(NAME);
      const dataOf = new Map<number, RestoreData>();
      const starting: { row: TerminationRow; data: RestoreData }[] = [];
      for (const row of rows) {
        let data = readRestoreData(row);
        if (!progressOf(data).wait) {
          data = r.withProgress(row, (p) => ({ ...p, wait: { startedAt: now, deadline: now + r.policy.timeoutMs } }));
          starting.push({ row, data });
        }
        dataOf.set(row.id, data);
      }
      // The deadline is kept before the first look, so a restart does not wait longer.
      const held = new Set((await r.kit.save(ctx, starting, { state: RESTORING, step: NAME, event: `${NAME}.started`, detail: () => `waiting up to ${formatDuration(r.policy.timeoutMs)} (restore.timeout) for the target groups to report it healthy` })));
      const todo = rows.filter((row) => held.has(row.id) || !starting.some((s) => s.row.id === row.id));
      const pending = new Map<number, string[]>(todo.map((row) => [row.id, []]));
      const failures = new Map<number, string>();

      await Promise.all(
        [...r.kit.byRegion(todo)].map(async ([region, regionRows]) => {
          const elbv2 = r.kit.clients.elbv2For(region);
          const byGroup = groupBy(
            regionRows.flatMap((row) => (progressOf(dataOf.get(row.id)!).registered ?? []).map((t) => ({ arn: t.arn, rowId: row.id, target: { id: row.instance_id, port: t.port } as Target }))),
            (e) => e.arn,
          );
          await mapWithLimit([...byGroup], 8, async ([arn, list]) => {
            const name = targetGroupName(arn);
            try {
              const states = await describeTargetHealth(elbv2, arn, list.map((e) => e.target), count);
              for (const e of list) {
                const s = states.find((x) => x.id === e.target.id && (e.target.port === null || x.port === e.target.port));
                if (s?.state !== 'healthy') pending.get(e.rowId)!.push(`target group ${name} (${s?.state ?? 'not registered'})`);
              }
            } catch (err) {
              const e = classifyAwsError(err);
              if (isLoadBalancerGone(err)) for (const x of list) pending.get(x.rowId)!.push(`target group ${name} (it no longer exists)`);
              else for (const x of list) failures.set(x.rowId, `DescribeTargetHealth ${name}: ${e.code}: ${e.message}`);
            }
          });
        }),
      );

      const at = ctx.now();
      const finished: { row: TerminationRow; data: RestoreData }[] = [];
      for (const row of todo) {
        const data = dataOf.get(row.id)!;
        const wait = progressOf(data).wait!;
        const failure = failures.get(row.id);
        const still = pending.get(row.id)!;
        if (failure !== undefined) {
          results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: failure, state: RESTORING });
        } else if (still.length === 0 || at >= wait.deadline) {
          const healthy = still.length === 0;
          const done = r.withProgress({ ...row, step_data: JSON.stringify(data) }, (p) => ({
            ...p,
            wait: { ...wait, result: healthy ? 'healthy' : 'timeout' },
            problems: healthy ? p.problems : [...p.problems, `not healthy after ${formatDuration(wait.deadline - wait.startedAt)} (restore.timeout): ${still.join(', ')}`],
          }));
          finished.push({ row, data: done });
          const detail = healthy ? `healthy in every target group (${formatDuration(Math.max(0, at - wait.startedAt))} after registering)` : `still not healthy at the deadline: ${still.join(', ')}`;
          results.set(row.id, r.advance(NAME, row, done, at, healthy ? `${NAME}.ok` : `${NAME}.timeout`, detail));
        } else {
          const next = Math.min(wait.deadline, at + pollDelayMs(at - wait.startedAt, r.kit.tuning.drainPollMinMs, r.kit.tuning.drainPollMaxMs));
          results.set(row.id, { kind: 'wait', at: next, event: `${NAME}.waiting`, detail: `waiting until healthy: ${still.join(', ')}; next look at ${new Date(next).toISOString()}`, state: RESTORING, record: false });
        }
      }
      await r.kit.save(ctx, finished);
      return results;
    },
};
