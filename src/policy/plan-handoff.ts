/**
 * Where a new hand-off's pipeline starts. The drain (guard, leave the group and the load balancers, hook)
 * starts at once; a hand-off whose policy needs none of it goes straight to the action step at its due
 * time, as the original server did, and costs the worker nothing until then.
 */
import type { EffectivePolicy, Policy } from './resolve.js';

/** The part of a step the plan reads (worker/steps/step.ts declares the whole). */
export interface PlannedStep {
  readonly name: string;
  readonly phase: 'drain' | 'action';
  skipReason(policy: EffectivePolicy, data: Record<string, never>, file: { readonly guarded: boolean }): string | null;
}

export interface HandOffPlan {
  /** Earliest termination: hand-off + the effective delay. */
  dueAt: number;
  firstStep: string;
  firstAttemptAt: number;
  /** The row's initial step_data (the dry-run mark), or null. */
  stepData: string | null;
}

/** `steps` in order (worker/steps/registry.ts), given rather than imported: policy/ does not depend on the worker. */
export function planHandOff(
  steps: readonly PlannedStep[],
  policy: Policy,
  doc: { project: string | null; component: string | null; userDataValue?: unknown },
  now: number,
  dryRun = false,
): HandOffPlan {
  const effective = policy.resolve(doc.project, doc.component, doc.userDataValue);
  const dueAt = now + effective.delayMs;
  // The mark worker/step-data.ts reads as `dryRun`: a rehearsed hand-off is never acted on for real.
  const stepData = dryRun ? JSON.stringify({ dryRun: true }) : null;
  const first = steps.find((step) => step.phase === 'action' || step.skipReason(effective, {}, policy) === null)!;
  return { dueAt, firstStep: first.name, firstAttemptAt: first.phase === 'action' ? dueAt : now, stepData };
}
