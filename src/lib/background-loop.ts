/**
 * The loop both background services run (the worker over terminations, the notifier over the outbox):
 * run a round; when it found nothing, sleep until the next due work, unless poked or stopped first.
 * What a round does, how long to sleep and what to do at stop are the caller's; this file owns the
 * lifecycle (created -> running -> stopping -> stopped) and the sleep.
 */

export type LoopState = 'created' | 'running' | 'stopping' | 'stopped';

/** Schedules `fn` after `ms`; returns its cancel. Injected so tests move time themselves. */
export interface Timer {
  after(ms: number, fn: () => void): () => void;
}

export const realTimer: Timer = {
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

/** Calls `fn` every `ms` until the returned cancel is called. */
export function repeat(timer: Timer, ms: number, fn: () => void): () => void {
  let cancel = timer.after(ms, tick);
  let stopped = false;
  function tick() {
    if (stopped) return;
    cancel = timer.after(ms, tick);
    fn();
  }
  return () => {
    stopped = true;
    cancel();
  };
}

export interface BackgroundLoopOptions {
  /** For messages: 'worker', 'notifier'. */
  name: string;
  /** One round of work; how many items it handled (0: nothing was due, so the loop sleeps). */
  round: () => Promise<number>;
  /** How long to sleep after a round that found nothing (until the next due item, at most a poll). */
  sleepMs: () => Promise<number>;
  /** The sleep when `sleepMs` throws (the database may be briefly unreachable). */
  pollMs: number;
  /** Runs after the last round, before `stopped` (give back what is still leased). */
  onStop?: () => Promise<void>;
  /** A round threw; the loop goes on after its sleep (leases keep the work safe meanwhile). */
  onRoundError?: (err: unknown) => void;
  now?: () => number;
  timer?: Timer;
}

export interface LoopSnapshot {
  state: LoopState;
  /** When the last round started (ms epoch). */
  lastRoundAt: number | null;
  /** The last round's error; null once a round succeeds. */
  lastError: string | null;
}

export class BackgroundLoop {
  private current: LoopState = 'created';
  private lastRoundAt: number | null = null;
  private lastError: string | null = null;
  private running: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  /** The last round started, so rounds never overlap and a stop waits for the one in progress. */
  private rounds: Promise<unknown> = Promise.resolve();
  private wakeSleep: (() => void) | undefined;
  private pokes = 0;
  private readonly now: () => number;
  private readonly timer: Timer;

  constructor(private readonly options: BackgroundLoopOptions) {
    this.now = options.now ?? Date.now;
    this.timer = options.timer ?? realTimer;
  }

  get state(): LoopState {
    return this.current;
  }

  start(): void {
    if (this.current !== 'created') throw new Error(`${this.options.name} already ${this.current}`);
    this.current = 'running';
    this.running = this.run();
  }

  /** Ends the sleep at once (work is due sooner than the loop planned); nothing while a round runs. */
  poke(): void {
    this.pokes++;
    this.wakeSleep?.();
  }

  /** Wakes the sleep, lets the round in progress finish, then runs `onStop`. The same promise every call. */
  stop(): Promise<void> {
    if (this.current === 'created') {
      this.current = 'stopped';
      return Promise.resolve();
    }
    if (!this.stopped) {
      this.current = 'stopping';
      this.poke();
      this.stopped = (async () => {
        try {
          await this.running;
          await this.rounds;
          await this.options.onStop?.();
        } finally {
          this.current = 'stopped';
        }
      })();
    }
    return this.stopped;
  }

  /** One round now, after any round in progress (tests drive rounds with it); throws what it throws. */
  runOnce(): Promise<number> {
    if (this.current === 'stopping' || this.current === 'stopped') return Promise.reject(new Error(`${this.options.name} is ${this.current}`));
    return this.round();
  }

  snapshot(): LoopSnapshot {
    return { state: this.current, lastRoundAt: this.lastRoundAt, lastError: this.lastError };
  }

  private async run(): Promise<void> {
    while (this.current === 'running') {
      let handled = 0;
      try {
        handled = await this.round();
      } catch (err) {
        this.options.onRoundError?.(err);
      }
      if (this.current !== 'running' || handled > 0) continue;
      const pokesBefore = this.pokes;
      const ms = await this.options.sleepMs().catch(() => this.options.pollMs);
      // A poke (or a stop) while the sleep was being planned may be for work the plan did not see: no sleep.
      if (this.pokes === pokesBefore) await this.sleep(ms);
    }
  }

  private round(): Promise<number> {
    const round = this.rounds.then(async () => {
      this.lastRoundAt = this.now();
      try {
        const handled = await this.options.round();
        this.lastError = null;
        return handled;
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        throw err;
      }
    });
    this.rounds = round.catch(() => undefined);
    return round;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let cancel = () => {};
      const done = () => {
        cancel();
        this.wakeSleep = undefined;
        resolve();
      };
      this.wakeSleep = done;
      cancel = this.timer.after(ms, done);
    });
  }
}
