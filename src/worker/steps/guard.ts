/**
 * Step 0, `guard`: before the first change to an instance (leaving its group, its load balancers), check
 * the policy's guards against EC2's own record of it: `require_tags`, `protect_tag`, `regions`. A refused
 * instance ends `refused` with the reason and is never touched; one that no longer exists ends `gone`.
 * The terminate step checks again just before acting (tags can change during a long drain).
 *
 * Only scheduled when a guard is configured. One DescribeInstances per 200 ids per region and batch.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { describeInstanceRecords, goneReason } from '../../aws/instances.js';
import { guardRefusal } from '../guard.js';
import type { Pipeline } from '../pipeline.js';
import { readStepData } from '../step-data.js';
import type { Step, StepResult } from './step.js';

const NAME = 'guard';

export function guardStep(p: Pipeline): Step {
  return {
    name: NAME,
    async run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const count = p.counter(NAME);
      await Promise.all(
        [...p.byRegion(rows)].map(async ([region, regionRows]) => {
          let records;
          try {
            records = await describeInstanceRecords(p.clients.ec2For(region), regionRows.map((r) => r.instance_id), count);
          } catch (err) {
            const e = classifyAwsError(err);
            for (const r of regionRows) results.set(r.id, { kind: 'retry', event: `${NAME}.retry`, reason: `DescribeInstances: ${e.code}: ${e.message}` });
            return;
          }
          for (const row of regionRows) {
            const record = records.get(row.instance_id);
            const gone = goneReason(record);
            const refusal = record ? guardRefusal(p.options.policy.guard, { region, tags: record.tags }, row) : null;
            if (gone) results.set(row.id, { kind: 'final', state: 'gone', event: `${NAME}.gone`, detail: gone });
            else if (refusal) results.set(row.id, { kind: 'final', state: 'refused', event: `${NAME}.refused`, detail: refusal });
            else results.set(row.id, p.advance(NAME, row, readStepData(row), ctx.now(), `${NAME}.ok`, 'the guards allow it'));
          }
        }),
      );
      return results;
    },
  };
}
