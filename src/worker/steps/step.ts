/** What every pipeline step looks like to the worker loop. */
import type { Logger } from 'pino';
import type { TerminationRow } from '../../store/schema.js';
import type { WorkQueue } from '../../store/ports.js';
import type { FinalState } from '../../domain/states.js';

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

export interface Step {
  readonly name: string;
  /** Counted against the per-minute termination ceiling; rows beyond it wait for a free slot. */
  readonly rateLimited?: boolean;
  /** Where rows stay when run() throws after an irreversible call (absent: their state is kept). */
  readonly stateIfThrown?: string;
  /** Runs the step for rows it holds; one result for each row id. */
  run(rows: TerminationRow[], ctx: StepContext): Promise<Map<number, StepResult>>;
}
