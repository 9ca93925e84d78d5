/**
 * Step 0, `guard`: before the first change to an instance (leaving its group, its load balancers), check
 * the policy's guards against EC2's own record of it: `require_tags`, `protect_tag`, `regions`, and
 * optionally EC2 termination protection. A refused
 * instance ends `refused` with the reason and is never touched; one that no longer exists ends `gone`.
 * The terminate step checks again just before acting (tags can change during a long drain).
 *
 * Only scheduled when a guard is configured. One DescribeInstances per 200 ids per region and batch (and
 * one DescribeInstanceAttribute per instance with `check_termination_protection`).
 */
import { classifyAwsError } from '../../aws/errors.js';
import { checkGuards } from '../guard-check.js';
import { readStepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'guard';

export const guardStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Never bypassed: it decides whether the instance may be touched at all.
  keptByExpedite: true,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason: (_policy, _data, file) => (file.guarded ? null : 'no guard configured'),
  firstRunDelayMs: () => 0,
  create: (p: StepKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const count = p.counter(NAME);
      await Promise.all(
        [...p.byRegion(rows)].map(async ([region, regionRows]) => {
          let verdicts;
          try {
            verdicts = await checkGuards(regionRows, region, p.clients.ec2For(region), p.options.policy.guard, count);
          } catch (err) {
            const e = classifyAwsError(err);
            for (const r of regionRows) results.set(r.id, { kind: 'retry', event: `${NAME}.retry`, reason: `guard check: ${e.code}: ${e.message}` });
            return;
          }
          for (const { row, state, detail } of verdicts.ended) results.set(row.id, { kind: 'final', state, event: `${NAME}.${state}`, detail });
          for (const row of verdicts.allowed) results.set(row.id, p.advance(NAME, row, readStepData(row), ctx.now(), `${NAME}.ok`, 'the guards allow it'));
        }),
      );
      return results;
    },
};
