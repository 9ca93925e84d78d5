/**
 * A clock and timer that move only when a test says so: `after()` callbacks fire from `advance()`, in
 * time order, so a loop's sleeps and heartbeats are driven without real waiting.
 */
import type { Timer } from '../../src/lib/background-loop.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Timer {
  private pending: Pending[] = [];
  private seq = 0;
  private waiters: (() => void)[] = [];

  constructor(private current = 1_000_000) {}

  readonly now = (): number => this.current;

  after(ms: number, fn: () => void): () => void {
    const entry = { at: this.current + ms, seq: this.seq++, fn };
    this.pending.push(entry);
    for (const w of this.waiters.splice(0)) w();
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  /** The delays of the callbacks still waiting, from now, soonest first. */
  get waiting(): number[] {
    return this.pending.map((p) => p.at - this.current).sort((a, b) => a - b);
  }

  /** Moves time on by `ms`, firing each callback that falls due at its own moment. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }

  /** Resolves once at least `count` callbacks wait (e.g. the loop went to sleep). */
  async untilWaiting(count = 1): Promise<void> {
    while (this.pending.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** Lets pending promise callbacks and I/O callbacks run, until `done()` holds (at most `turns` turns). */
export async function settleUntil(done: () => boolean, turns = 1000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!done()) throw new Error(`condition not reached after ${turns} event-loop turns`);
}

/** Lets pending promise and I/O callbacks run for a few event-loop turns (to see that nothing more happens). */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
