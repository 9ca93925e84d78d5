/**
 * The step model. Each step is one file exporting a `StepDefinition`: its rules (when it is needed, what an
 * expedite does to it, whether the termination rate limits it) and `create`, which makes its `run` from
 * the shared toolkit. steps/registry.ts lists them in order; nothing else names a step.
 */
import type { Logger } from 'pino';
import type { TerminationRow } from '../../store/schema.js';
import type { WorkQueue } from '../../store/ports.js';
import type { FinalState } from '../../domain/states.js';
import type { EffectivePolicy } from '../../policy/resolve.js';
import type { StepData } from '../step-data.js';
import type { PipelineTuning, StepKit } from '../step-kit.js';

export type StepResult =
  /** The step is done; continue with `step` in `state` from `at` (ms epoch). */
  | { kind: 'advance'; state: string; step: string; at: number; event: string; detail: string | null }
  /** The termination is over. */
  | { kind: 'final'; state: FinalState; event: string; detail: string }
  /** Try the same step again later, under the shared retry policy, in `state` (default: unchanged). */
  | { kind: 'retry'; event: string; reason: string; state?: string }
  /**
   * Not a failure: look again at `at` (a drain still in progress, a hook's next try). Keeps the attempt
   * count, releases the lease; `detail` becomes the row's reason. `record: false` adds no history entry.
   */
  | { kind: 'wait'; at: number; event: string; detail: string; state?: string; record?: boolean };

export interface StepContext {
  owner: string;
  queue: WorkQueue;
  log: Logger;
  now(): number;
}

/** A step as the worker loop runs it. */
export interface Step {
  readonly name: string;
  /** Counted against the terminations-per-minute ceiling before it runs (the termination itself). */
  readonly rateLimited: boolean;
  /** An operator's expedite still runs it when it has not run yet (it makes terminating allowed and safe). */
  readonly keptByExpedite: boolean;
  /** The state rows stay in when run() throws: it may have made an irreversible call already. */
  readonly stateIfThrown?: string;
  /** Runs the step for rows it holds; one result for each row id. */
  run(rows: TerminationRow[], ctx: StepContext): Promise<Map<number, StepResult>>;
}

/** What the policy file says for every row (not per component). */
export interface FileRules {
  readonly guarded: boolean;
}

/** A step's declarations, which the planning reads without running it. */
export interface StepRules {
  readonly name: string;
  /**
   * `drain` steps run as soon as the one before is done; the `action` step (the last) waits for the due
   * time (hand-off + delay), and the drain ends (ddsrv_drain_seconds) when a row reaches it.
   */
  readonly phase: 'drain' | 'action';
  readonly keptByExpedite: boolean;
  readonly rateLimited: boolean;
  readonly stateIfThrown: string | undefined;
  /** Why the row does not need the step under its policy and progress, or null when it does. */
  skipReason(policy: EffectivePolicy, data: StepData, file: FileRules): string | null;
  /** How long after the step before a row first runs this one (a drain needs time before the first look). */
  firstRunDelayMs(tuning: PipelineTuning): number;
}

export interface StepDefinition extends StepRules {
  create(kit: StepKit): Step['run'];
}
