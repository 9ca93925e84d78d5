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
import type { StepDefinition } from './step.js';
import { terminateStep } from './terminate.js';

export const STEPS: readonly StepDefinition[] = [guardStep, asgDetachStep, lbDeregisterStep, drainWaitStep, drainHookStep, drainSsmStep, terminateStep];

const BY_NAME = new Map(STEPS.map((s) => [s.name, s]));

/** The step of that name, or undefined for a name this version does not know (a row from a newer one). */
export function stepNamed(name: string): StepDefinition | undefined {
  return BY_NAME.get(name);
}
