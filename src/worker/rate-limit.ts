/**
 * The blast-radius ceiling: at most N terminations per rolling minute. What exceeds it waits for the next
 * window; nothing is dropped. Per process: with several replicas, each gets its own budget (divide N by
 * the number of replicas). Pure apart from the clock it is given.
 */
export class RateWindow {
  private readonly spent: number[] = [];

  constructor(
    private readonly perMinute: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Takes up to `wanted` slots at `now`; returns how many were granted. */
  take(wanted: number, now: number): number {
    while (this.spent.length > 0 && this.spent[0]! <= now - this.windowMs) this.spent.shift();
    const granted = Math.max(0, Math.min(wanted, this.perMinute - this.spent.length));
    for (let i = 0; i < granted; i += 1) this.spent.push(now);
    return granted;
  }

  /** When the next slot frees up. */
  nextSlotAt(now: number): number {
    return this.spent.length < this.perMinute ? now : this.spent[0]! + this.windowMs;
  }
}
