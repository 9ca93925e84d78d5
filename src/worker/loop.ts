/**
 * The worker: claims due terminations under a lease, runs each row's current step, and settles the
 * results with one retry policy. It has no SQL of its own (the store does that) and no AWS calls (the
 * steps do that). Its lifecycle is a BackgroundLoop's: `stop()` wakes the sleep at once, lets the current
 * batch finish its AWS calls, then gives back every lease it still holds.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TerminationRow } from '../store/schema.js';
import type { Outcome, WorkQueue } from '../store/ports.js';
import { backoffMs, exhausted, type RetryPolicy } from '../lib/backoff.js';
import type { RateWindow } from './rate-limit.js';
import type { Step, StepResult } from './steps/step.js';
import { BackgroundLoop, realTimer, repeat, type LoopState, type Timer } from '../lib/background-loop.js';
import { groupBy } from '../lib/group-by.js';
import { transitionLogEntry } from './transition-log.js';

export interface WorkerOptions {
  leaseMs: number;
  /** Longest sleep between looks at the schedule. */
  pollMs: number;
  /** Rows claimed per round. */
  claimLimit: number;
  retry: RetryPolicy;
  now?: () => number;
  random?: () => number;
  /** The blast-radius ceiling on terminations started per minute (absent: none). */
  terminationRate?: RateWindow;
  /** The sleeps and the lease heartbeat (tests pass a fake). */
  timer?: Timer;
  /** Called for every settled outcome (metrics, notifications). */
  onOutcome?: (row: TerminationRow, outcome: Outcome) => void;
}

/**
 * How long after the first due row the worker claims, to gather rows due at almost the same time: hand-offs
 * fall due over as long as they took to arrive (0.5 – 3.5 s for a wave), and each batch costs ~7.5 ms of CPU.
 */
const COALESCE_MS = 500;

/** The longest sleep on a store this process alone writes (a safety net only: it is poked or knows the time). */
const SOLE_WRITER_CEILING_MS = 60_000;

export type WorkerState = LoopState;

export class Worker {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly steps = new Map<string, Step>();
  private readonly loop: BackgroundLoop;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timer: Timer;

  constructor(
    private readonly queue: WorkQueue,
    steps: Step[],
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    for (const s of steps) this.steps.set(s.name, s);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.timer = options.timer ?? realTimer;
    this.loop = new BackgroundLoop({
      name: 'worker',
      round: () => this.round(),
      sleepMs: () => this.sleepMs(),
      pollMs: options.pollMs,
      onStop: async () => {
        const released = await this.queue.release(this.owner, this.now());
        if (released > 0) this.log.info({ released }, 'released leases');
      },
      // The database may be briefly unreachable: log, wait, go on. Leases keep the work safe.
      onRoundError: (err) => this.log.error({ err }, 'worker round failed'),
      now: this.now,
      timer: this.timer,
    });
  }

  get state(): WorkerState {
    return this.loop.state;
  }

  get lastRoundAt(): number | null {
    return this.loop.snapshot().lastRoundAt;
  }

  start(): void {
    this.loop.start();
  }

  /** Wakes the worker early (an expedite, work due at once). */
  poke(): void {
    this.loop.poke();
  }

  /**
   * Wakes the worker if `at` comes before the end of its sleep: a new hand-off due sooner than the row
   * it sleeps for (on a sole-writer store that sleep may last SOLE_WRITER_CEILING_MS, not pollMs).
   */
  wakeBy(at: number): void {
    if (this.sleepEndsAt === null || at < this.sleepEndsAt) this.poke();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One claim-run-settle round now (tests drive the worker with it); how many rows it handled. */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  snapshot() {
    return { owner: this.owner, ...this.loop.snapshot() };
  }

  /** When the sleep being planned or slept ends; null while a round runs. */
  private sleepEndsAt: number | null = null;

  private async sleepMs(): Promise<number> {
    const ms = await this.plannedSleepMs();
    this.sleepEndsAt = this.now() + ms;
    return ms;
  }

  private async plannedSleepMs(): Promise<number> {
    const next = await this.queue.nextWake();
    // A shared store (PostgreSQL) polls for other replicas' hand-offs; a sole writer's empty round would find nothing.
    const ceiling = this.queue.soleWriter ? SOLE_WRITER_CEILING_MS : this.options.pollMs;
    if (next === null) return ceiling;
    // Rows that advanced together were rescheduled a few milliseconds apart; waking a little after
    // the first is due lets one claim take them all, so they stay one batch (one AWS call).
    const wait = next - this.now();
    // Never longer than the poll interval itself (tests poll every 20 ms).
    return wait > ceiling ? ceiling : Math.max(0, wait) + Math.min(COALESCE_MS, this.options.pollMs);
  }

  /** One claim-run-settle round; returns how many rows it handled. */
  private async round(): Promise<number> {
    this.sleepEndsAt = null;
    const now = this.now();
    const rows = await this.queue.claim(this.owner, now, this.options.leaseMs, this.options.claimLimit);
    if (rows.length === 0) return 0;
    const stopHeartbeat = repeat(this.timer, Math.max(100, Math.floor(this.options.leaseMs / 3)), () => {
      this.queue.extend(this.owner, rows.map((r) => r.id), this.now() + this.options.leaseMs).catch((err) => {
        this.log.warn({ err }, 'could not extend leases');
      });
    });
    try {
      const byStep = groupBy(rows, (r) => r.step);
      // allSettled: the heartbeat must outlive every step still running, even when another one failed.
      const settled = await Promise.allSettled([...byStep].map(([name, stepRows]) => this.runStep(name, this.steps.get(name), stepRows)));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      stopHeartbeat();
    }
    return rows.length;
  }

  private async runStep(name: string, step: Step | undefined, allRows: TerminationRow[]): Promise<void> {
    const rows = step?.rateLimited ? await this.withinRate(name, allRows) : allRows;
    if (rows.length === 0) return;
    let results: Map<number, StepResult>;
    if (!step) {
      results = new Map(rows.map((r) => [r.id, { kind: 'final', state: 'failed', event: 'unknown_step', detail: `no step named '${name}' in this version` }]));
    } else {
      try {
        results = await step.run(rows, { owner: this.owner, queue: this.queue, log: this.log, now: this.now });
      } catch (err) {
        // A step that throws is a bug or an outage: every row retries under the same policy.
        this.log.error({ err, step: name }, 'step failed');
        const reason = `${name}: ${(err as Error).message}`;
        // The step may have moved its rows on before an irreversible call (terminate): they stay there.
        const state = step.stateIfThrown;
        results = new Map(rows.map((r) => [r.id, { kind: 'retry', event: `${name}.error`, reason, ...(state ? { state } : {}) }]));
      }
    }
    // One random number per step and round, so rows that failed together retry together (one batch).
    const jitter = this.random();
    const now = this.now();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const outcomes: Outcome[] = [];
    for (const [id, result] of results) {
      const row = byId.get(id);
      if (row) outcomes.push(this.toOutcome(row, result, now, jitter));
    }
    const settled = new Set(await this.queue.settle(this.owner, outcomes, now));
    for (const o of outcomes) {
      const row = byId.get(o.id)!;
      if (!settled.has(o.id)) {
        this.log.warn({ id: o.id, instance_id: row.instance_id }, 'lease lost before the result was recorded; another worker has the row');
        continue;
      }
      const entry = transitionLogEntry(row, o);
      this.log[entry.level](entry.fields, 'transition');
      this.options.onOutcome?.(row, o);
    }
  }

  /**
   * Terminations beyond the per-minute ceiling wait for the next free slot: rescheduled, not failed, and
   * not counted as an attempt. Returns the rows that may go ahead now.
   */
  private async withinRate(name: string, rows: TerminationRow[]): Promise<TerminationRow[]> {
    const limiter = this.options.terminationRate;
    if (!limiter) return rows;
    const now = this.now();
    const granted = limiter.take(rows.length, now);
    const deferred = rows.slice(granted);
    if (deferred.length > 0) {
      const at = Math.max(now + 1000, limiter.nextSlotAt(now));
      const detail = `the --max-terminations-per-minute ceiling is reached; waiting until ${new Date(at).toISOString()}`;
      await this.queue.settle(
        this.owner,
        deferred.map((r) => ({ id: r.id, state: r.state, step: r.step, nextAttemptAt: at, attempts: 'keep', reason: detail, event: `${name}.deferred`, detail })),
        now,
      );
      this.log.info({ deferred: deferred.length, until: new Date(at).toISOString() }, 'termination rate ceiling reached');
    }
    return rows.slice(0, granted);
  }

  private toOutcome(row: TerminationRow, result: StepResult, now: number, jitter: number): Outcome {
    const base = { id: row.id };
    switch (result.kind) {
      case 'advance':
        return { ...base, state: result.state, step: result.step, nextAttemptAt: result.at, attempts: 'reset', reason: null, event: result.event, detail: result.detail };
      case 'final':
        return { ...base, state: result.state, step: row.step, nextAttemptAt: null, attempts: 'keep', reason: result.detail, event: result.event, detail: result.detail };
      case 'wait':
        return { ...base, state: result.state ?? row.state, step: row.step, nextAttemptAt: result.at, attempts: 'keep', reason: result.detail, event: result.event, detail: result.detail, record: result.record ?? true };
      case 'retry': {
        const failures = row.attempts + 1;
        if (exhausted(this.options.retry, failures)) {
          const reason = `gave up after ${failures} attempts: ${result.reason}`;
          return { ...base, state: 'failed', step: row.step, nextAttemptAt: null, attempts: 'increment', reason, event: `${row.step}.gave_up`, detail: reason };
        }
        const at = now + backoffMs(this.options.retry, failures, jitter);
        return { ...base, state: result.state ?? row.state, step: row.step, nextAttemptAt: at, attempts: 'increment', reason: result.reason, event: result.event, detail: `${result.reason}; attempt ${failures + 1} at ${new Date(at).toISOString()}` };
      }
    }
  }
}
