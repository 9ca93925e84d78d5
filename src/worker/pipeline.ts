/**
 * The worker's steps, built from the registry (steps/registry.ts, the only list and its order) over one
 * shared toolkit (step-kit.ts). Each step reads the effective policy of the row (policy file + component + user_data) and skips itself,
 * without any AWS call, when the policy does not need it; a step that finishes jumps over the steps after
 * it that are not needed. State is `draining` from the first step until the termination starts
 * (`terminating`). Every step records its start and its outcome in the history, keeps what it did in
 * `step_data`, and groups its AWS calls per region for the whole claimed batch (see docs/aws-calls.md).
 */
import type { EffectivePolicy } from '../policy/resolve.js';
import { readStepData, type StepData } from './step-data.js';
import { StepKit, whySkipped, type PipelineOptions } from './step-kit.js';
import { RestoreKit } from './steps/restore-kit.js';
import { RESTORE_STEPS, STEPS, stepNamed } from './steps/registry.js';
import type { Step, StepDefinition, StepResult } from './steps/step.js';

/** The steps, in order, for the worker (`definitions`: the registry's, unless a test brings its own). */
export function pipelineSteps(options: PipelineOptions, definitions: readonly StepDefinition[] = STEPS): Step[] {
  const kit = new StepKit(options, definitions);
  const restore = new RestoreKit(kit, RESTORE_STEPS);
  const steps = [...definitions.map((d) => stepOf(d, kit)), ...RESTORE_STEPS.map((d): Step => ({ name: d.name, keptByExpedite: false, rateLimited: false, run: d.create(restore) }))];
  return options.dryRun ? steps : steps.map(honourDryRunMarks);
}

/** One step as the worker runs it, over the toolkit. */
export function stepOf(definition: StepDefinition, kit: StepKit): Step {
  const { name, keptByExpedite, rateLimited, stateIfThrown } = definition;
  return { name, keptByExpedite, rateLimited, stateIfThrown, run: definition.create(kit) };
}

/** Why the named step is not needed for a row with this policy and progress (no guard configured). */
export function skipReason(step: string, policy: EffectivePolicy, data: StepData): string | null {
  return whySkipped(stepNamed(step)!, policy, data, { guarded: false });
}

/**
 * A termination handed off under --dry-run is never acted on for real: if the server now runs without
 * it, the row ends `dry_run` at its next step instead of being drained halfway or terminated undrained.
 */
function honourDryRunMarks(step: Step): Step {
  return {
    ...step,
    async run(rows, ctx) {
      const rehearsed = rows.filter((r) => readStepData(r).dryRun === true);
      if (rehearsed.length === 0) return step.run(rows, ctx);
      const real = rows.filter((r) => readStepData(r).dryRun !== true);
      const results = real.length > 0 ? await step.run(real, ctx) : new Map<number, StepResult>();
      const detail = 'handed off while the server ran with --dry-run; it is not acted on for real now that dry run is off (hand it off again to drain and terminate it)';
      for (const r of rehearsed) results.set(r.id, { kind: 'final', state: 'dry_run', event: `${step.name}.dry_run`, detail });
      return results;
    },
  };
}
