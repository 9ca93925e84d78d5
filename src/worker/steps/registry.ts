/**
 * The steps, in the order a termination goes through them: the only list of steps. A new step is its
 * own file (a StepDefinition) and one line here; the planning, the worker loop, the metrics and the
 * operator actions read its declarations instead of its name.
 */
import { asgDetachStep } from './asg-detach.js';
import { drainHookStep } from './drain-hook.js';
import { drainSsmStep } from './drain-ssm.js';
import { drainWaitStep } from './drain-wait.js';
import { guardStep } from './guard.js';
import { lbDeregisterStep } from './lb-deregister.js';
import { restoreAsgStep } from './restore-asg.js';
import type { RestoreStepDefinition } from './restore-kit.js';
import { restoreLbStep } from './restore-lb.js';
import { restoreWaitStep } from './restore-wait.js';
import type { StepDefinition } from './step.js';
import { terminateStep } from './terminate.js';

export const STEPS: readonly StepDefinition[] = [guardStep, asgDetachStep, lbDeregisterStep, drainWaitStep, drainHookStep, drainSsmStep, terminateStep];

/** A cancel with restore: the steps that put back what the drain steps took away, in order. */
export const RESTORE_STEPS: readonly RestoreStepDefinition[] = [restoreAsgStep, restoreLbStep, restoreWaitStep];

const BY_NAME = new Map(STEPS.map((s) => [s.name, s]));

/** The step of that name, or undefined for a name this version does not know (a row from a newer one). */
export function stepNamed(name: string): StepDefinition | undefined {
  return BY_NAME.get(name);
}

/** The first restore step with something to put back, from what the drain recorded; undefined: nothing to. */
export function firstRestoreStep(data: Parameters<RestoreStepDefinition['putsBack']>[0]): RestoreStepDefinition | undefined {
  return RESTORE_STEPS.find((s) => s.putsBack(data));
}
