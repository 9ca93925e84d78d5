/**
 * The drain pipeline: each handed-off instance, in order,
 *
 *   guard -> asg_detach -> lb_deregister -> drain_wait -> drain_hook -> terminate
 *
 * passes the guards (when any is configured), leaves its Auto Scaling group (desired capacity decremented), is deregistered from every ELBv2 target
 * group and Classic Load Balancer holding it, waits for the drain (bounded by the policy's timeout), has its
 * drain hook called, waits out the rest of its delay, and is terminated or stopped. Each step reads the
 * effective policy of the row (policy file + component + user_data) and skips itself, without any AWS
 * call, when the policy does not need it; a step that finishes jumps over the steps after it that are not
 * needed. State is `draining` from the first step until the termination starts (`terminating`).
 *
 * Every step records its start and its outcome in the history, keeps what it did in `step_data`, and
 * groups its AWS calls per region for the whole claimed batch (see docs/aws-calls.md).
 */
import type { AwsClients } from '../aws/clients.js';
import type { CallCounter } from '../aws/ec2.js';
import { LbCache } from '../aws/lb-cache.js';
import { formatDuration } from '../domain/duration.js';
import type { EffectivePolicy, Policy } from '../policy/resolve.js';
import type { TerminationRow } from '../store/schema.js';
import type { HistoryMark } from '../store/ports.js';
import { readStepData, type StepData } from './step-data.js';
import { asgDetachStep } from './steps/asg-detach.js';
import { guardStep } from './steps/guard.js';
import { drainHookStep } from './steps/drain-hook.js';
import { drainWaitStep } from './steps/drain-wait.js';
import { lbDeregisterStep } from './steps/lb-deregister.js';
import type { Step, StepContext, StepResult } from './steps/step.js';
import { terminateStep } from './steps/terminate.js';

export const PIPELINE = ['guard', 'asg_detach', 'lb_deregister', 'drain_wait', 'drain_hook', 'terminate'] as const;
export type PipelineStep = (typeof PIPELINE)[number];

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
  countCall?: (operation: string, outcome: 'ok' | 'error', step: PipelineStep) => void;
  /** The HTTP client of the drain hook (tests may pass their own). */
  fetch?: typeof fetch;
  /** Shared across services in tests; one per process otherwise. */
  lbCache?: LbCache;
}

/** What the steps share: options, tuning, the load balancer index and small helpers. */
export class Pipeline {
  readonly tuning: PipelineTuning;
  readonly lbCache: LbCache;

  constructor(readonly options: PipelineOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.lbCache = options.lbCache ?? new LbCache(options.clients, { ttlMs: this.tuning.lbCacheTtlMs });
  }

  get clients(): AwsClients {
    return this.options.clients;
  }

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  counter(step: PipelineStep): CallCounter | undefined {
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

  /**
   * The result of a finished step: on to the next step the policy needs, at once, except the drain wait
   * (first look after `drainPollMinMs`) and the termination (not before hand-off + delay).
   */
  advance(from: PipelineStep, row: TerminationRow, data: StepData, now: number, event: string, detail: string): StepResult {
    const policy = this.policyFor(row);
    const skipped: string[] = [];
    let next = PIPELINE[PIPELINE.indexOf(from) + 1] ?? 'terminate';
    for (;;) {
      const why = skipReason(next, policy, data);
      if (why === null) break;
      skipped.push(`${next} (${why})`);
      next = PIPELINE[PIPELINE.indexOf(next) + 1]!;
    }
    let at = now;
    if (next === 'drain_wait') at = now + this.tuning.drainPollMinMs;
    if (next === 'terminate') at = Math.max(now, row.due_at);
    const notes = [detail];
    if (skipped.length > 0) notes.push(`not needed: ${skipped.join(', ')}`);
    if (next === 'terminate' && at > now) notes.push(`${policy.action} at ${new Date(at).toISOString()} (hand-off + delay; ${formatDuration(at - now)} from now)`);
    return { kind: 'advance', state: 'draining', step: next, at, event, detail: notes.join('; ') };
  }

  /**
   * The start every drain step shares: a row whose policy does not need the step advances (`skip`, with
   * why), one whose step_data shows the step done before a restart advances too (`done`, with what was
   * done); the rest are returned for the step to work on.
   */
  triage(
    step: PipelineStep,
    rows: TerminationRow[],
    now: number,
    results: Map<number, StepResult>,
    classify: (row: TerminationRow, data: StepData) => { skip: string } | { done: string } | null,
  ): TerminationRow[] {
    const todo: TerminationRow[] = [];
    for (const row of rows) {
      const data = readStepData(row);
      const verdict = classify(row, data);
      if (verdict === null) todo.push(row);
      else if ('skip' in verdict) results.set(row.id, this.advance(step, row, data, now, `${step}.skipped`, verdict.skip));
      else results.set(row.id, this.advance(step, row, data, now, `${step}.ok`, verdict.done));
    }
    return todo;
  }

  /** Rows grouped by region (each step's AWS calls are per region). */
  byRegion(rows: TerminationRow[]): Map<string, TerminationRow[]> {
    const out = new Map<string, TerminationRow[]>();
    for (const r of rows) {
      const list = out.get(r.region);
      if (list) list.push(r);
      else out.set(r.region, [r]);
    }
    return out;
  }

  /** Records `<step>.started` (state `draining`) for the rows still held; returns those rows. */
  async begin(ctx: StepContext, rows: TerminationRow[], step: PipelineStep): Promise<TerminationRow[]> {
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

/** Why a step is not needed for a row under its policy, or null when it is. */
export function skipReason(step: PipelineStep, policy: EffectivePolicy, data: StepData): string | null {
  switch (step) {
    case 'guard':
      return 'no guard configured';
    case 'asg_detach':
      return policy.asg === 'leave' ? 'asg: leave' : null;
    case 'lb_deregister':
      return policy.drain.loadBalancers ? null : 'drain.load_balancers: false';
    case 'drain_wait':
      if (data.expedited) return 'expedited by an operator';
      if (!policy.drain.loadBalancers) return 'drain.load_balancers: false';
      if (data.lb && data.lb.targets.length === 0 && data.lb.classic.length === 0) return 'no load balancer held the instance';
      return null;
    case 'drain_hook':
      if (data.expedited) return 'expedited by an operator';
      return policy.drain.hook === null ? 'no drain hook' : null;
    case 'terminate':
      return null;
  }
}

export interface HandOffPlan {
  /** Earliest termination: hand-off + the effective delay. */
  dueAt: number;
  firstStep: PipelineStep;
  firstAttemptAt: number;
  /** The row's initial step_data (the dry-run mark), or null. */
  stepData: string | null;
}

/**
 * Where a new hand-off's pipeline starts. The drain (guard, leave the group and the load balancers, hook)
 * starts at once; a hand-off whose policy needs none of it goes straight to the termination at its due
 * time, as the original server did, and costs the worker nothing until then.
 */
export function planHandOff(
  policy: Policy,
  doc: { project: string | null; component: string | null; userDataValue?: unknown },
  now: number,
  dryRun = false,
): HandOffPlan {
  const effective = policy.resolve(doc.project, doc.component, doc.userDataValue);
  const dueAt = now + effective.delayMs;
  const stepData = dryRun ? JSON.stringify({ dryRun: true } satisfies StepData) : null;
  if (policy.guarded) return { dueAt, firstStep: 'guard', firstAttemptAt: now, stepData };
  const first = PIPELINE.slice(1).find((step) => skipReason(step, effective, {}) === null)!;
  return { dueAt, firstStep: first, firstAttemptAt: first === 'terminate' ? dueAt : now, stepData };
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

/** The steps, in order, for the worker. */
export function pipelineSteps(options: PipelineOptions): Step[] {
  const p = new Pipeline(options);
  const terminate = terminateStep({
    clients: options.clients,
    dryRun: options.dryRun,
    countCall: p.counter('terminate'),
    actionFor: (row) => p.policyFor(row).action,
    ...(options.policy.guarded ? { guard: options.policy.guard } : {}),
  });
  const steps = [guardStep(p), asgDetachStep(p), lbDeregisterStep(p), drainWaitStep(p), drainHookStep(p), terminate];
  return options.dryRun ? steps : steps.map(honourDryRunMarks);
}
