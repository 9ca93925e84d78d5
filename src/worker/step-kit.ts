/**
 * What the steps share: options, tuning, the load balancer index, the row's policy, and the moves every
 * step makes (skip or resume, record the start, save progress, hand the row on to the next needed step).
 * The order of the steps is given to it (steps/registry.ts), so no step imports the list it is part of.
 */
import type { AwsClients } from '../aws/clients.js';
import type { CallCounter } from '../aws/ec2.js';
import { LbCache } from '../aws/lb-cache.js';
import { formatDuration } from '../domain/duration.js';
import { groupBy } from '../lib/group-by.js';
import type { EffectivePolicy, Policy } from '../policy/resolve.js';
import type { TerminationRow } from '../store/schema.js';
import type { HistoryMark } from '../store/ports.js';
import { readStepData, type StepData } from './step-data.js';
import type { FileRules, StepContext, StepResult, StepRules } from './steps/step.js';

/** Timings that are not policy (the policy file says what to do; these say how often to look). */
export interface PipelineTuning {
  /** First look at a drain after deregistering, and the shortest pause between looks. */
  drainPollMinMs: number;
  /** Longest pause between looks at a drain (the pause grows with the time spent waiting). */
  drainPollMaxMs: number;
  /** Pause before a drain hook's second call; doubled per failed call up to `hookRetryMaxMs`. */
  hookRetryBaseMs: number;
  hookRetryMaxMs: number;
  /** Drain hook calls in flight at once. */
  hookConcurrency: number;
  /** How long the region's load balancer index (which target groups hold which instances) is reused. */
  lbCacheTtlMs: number;
}

export const DEFAULT_TUNING: PipelineTuning = {
  drainPollMinMs: 5000,
  drainPollMaxMs: 30_000,
  hookRetryBaseMs: 2000,
  hookRetryMaxMs: 30_000,
  hookConcurrency: 16,
  lbCacheTtlMs: 10_000,
};

export interface PipelineOptions {
  clients: AwsClients;
  policy: Policy;
  /** Read-only: look everything up, record what would be done, change nothing (no detach, no deregistration, no hook). */
  dryRun: boolean;
  tuning?: Partial<PipelineTuning>;
  /** Every AWS call, with the step that made it (metrics; the per-step cost measurement). */
  countCall?: (operation: string, outcome: 'ok' | 'error', step: string) => void;
  /** The HTTP client of the drain hook (tests may pass their own). */
  fetch?: typeof fetch;
  /** Shared across services in tests; one per process otherwise. */
  lbCache?: LbCache;
}

/** Why a row does not need `step`: the step's own rule, after the expedite's (which skips what it does not keep). */
export function whySkipped(step: StepRules, policy: EffectivePolicy, data: StepData, file: FileRules): string | null {
  if (data.expedited && !step.keptByExpedite && step.phase !== 'action') return 'expedited by an operator';
  return step.skipReason(policy, data, file);
}

export class StepKit {
  readonly tuning: PipelineTuning;
  readonly lbCache: LbCache;
  private readonly position: Map<string, number>;

  constructor(
    readonly options: PipelineOptions,
    /** Every step, in order; the last one is never skipped. */
    readonly order: readonly StepRules[],
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.lbCache = options.lbCache ?? new LbCache(options.clients, { ttlMs: this.tuning.lbCacheTtlMs });
    this.position = new Map(order.map((s, i) => [s.name, i]));
  }

  get clients(): AwsClients {
    return this.options.clients;
  }

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  counter(step: string): CallCounter | undefined {
    const count = this.options.countCall;
    return count ? (operation, outcome) => count(operation, outcome, step) : undefined;
  }

  /** The row's effective policy today (the file may have changed since the hand-off: today's wins). */
  policyFor(row: TerminationRow): EffectivePolicy {
    let userData: unknown = null;
    try {
      userData = JSON.parse(row.user_data ?? 'null');
    } catch {
      // stored by this service, so always JSON; tolerate anything
    }
    return this.options.policy.resolve(row.project, row.component, userData);
  }

  /** Why the row does not need the step now, or null when it does. */
  skipReason(step: string, row: TerminationRow, data: StepData): string | null {
    return whySkipped(this.order[this.position.get(step)!]!, this.policyFor(row), data, this.options.policy);
  }

  /**
   * The result of a finished step: on to the next step the policy needs, at once or after that step's
   * first-run delay, and the action step not before hand-off + delay.
   */
  advance(from: string, row: TerminationRow, data: StepData, now: number, event: string, detail: string): StepResult {
    const policy = this.policyFor(row);
    const last = this.order.length - 1;
    const skipped: string[] = [];
    let i = Math.min(last, (this.position.get(from) ?? -1) + 1);
    for (;;) {
      const why = i === last ? null : whySkipped(this.order[i]!, policy, data, this.options.policy);
      if (why === null) break;
      skipped.push(`${this.order[i]!.name} (${why})`);
      i += 1;
    }
    const next = this.order[i]!;
    let at = now + next.firstRunDelayMs(this.tuning);
    if (next.phase === 'action') at = Math.max(at, row.due_at);
    const notes = [detail];
    if (skipped.length > 0) notes.push(`not needed: ${skipped.join(', ')}`);
    if (next.phase === 'action' && at > now) notes.push(`${policy.action} at ${new Date(at).toISOString()} (hand-off + delay; ${formatDuration(at - now)} from now)`);
    return { kind: 'advance', state: 'draining', step: next.name, at, event, detail: notes.join('; ') };
  }

  /**
   * The start every drain step shares: a row that does not need the step advances (`skip`, with why), one
   * whose step_data shows the step done before a restart advances too (`done`, with what was done); the
   * rest are returned for the step to work on.
   */
  triage(step: string, rows: TerminationRow[], now: number, results: Map<number, StepResult>, doneBefore: (data: StepData) => string | null): TerminationRow[] {
    const todo: TerminationRow[] = [];
    for (const row of rows) {
      const data = readStepData(row);
      const skip = this.skipReason(step, row, data);
      const done = skip === null ? doneBefore(data) : null;
      if (skip !== null) results.set(row.id, this.advance(step, row, data, now, `${step}.skipped`, skip));
      else if (done !== null) results.set(row.id, this.advance(step, row, data, now, `${step}.ok`, done));
      else todo.push(row);
    }
    return todo;
  }

  /** Rows grouped by region (each step's AWS calls are per region). */
  byRegion(rows: TerminationRow[]): Map<string, TerminationRow[]> {
    return groupBy(rows, (r) => r.region);
  }

  /** Records `<step>.started` (state `draining`) for the rows still held; returns those rows. */
  async begin(ctx: StepContext, rows: TerminationRow[], step: string): Promise<TerminationRow[]> {
    if (rows.length === 0) return [];
    const mark = { state: 'draining', step, event: `${step}.started`, detail: () => null };
    const held = new Set(await ctx.queue.saveProgress(ctx.owner, rows.map((r) => ({ id: r.id })), ctx.now(), mark));
    return rows.filter((r) => held.has(r.id));
  }

  /** Saves step_data for rows (merged into what they had), optionally with a history entry each. */
  async save(ctx: StepContext, entries: { row: TerminationRow; data: StepData }[], mark?: HistoryMark): Promise<Set<number>> {
    const held = await ctx.queue.saveProgress(
      ctx.owner,
      entries.map(({ row, data }) => ({ id: row.id, json: JSON.stringify(data) })),
      ctx.now(),
      mark,
    );
    return new Set(held);
  }
}
