/**
 * How many terminations are live (not final), cheaply: counted in the database every few seconds, and
 * bumped in between by the hand-offs this process accepts. Used for the `--max-pending` ceiling, where
 * being a few seconds stale is fine; counting a million rows on every request is not.
 */
export class LiveCount {
  private value = 0;
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly count: () => Promise<number>,
    private readonly maxAgeMs = 2000,
  ) {}

  async current(now: number): Promise<number> {
    if (now - this.refreshedAt > this.maxAgeMs) {
      this.refreshing ??= this.count()
        .then(
          (n) => {
            this.value = n;
            this.refreshedAt = Date.now();
          },
          () => {
            // The database is unreachable: keep the last figure; the insert itself will fail and say so.
          },
        )
        .finally(() => {
          this.refreshing = undefined;
        });
      // The first time, wait for a real figure; afterwards answer at once and refresh in the background.
      if (this.refreshedAt === 0) await this.refreshing;
    }
    return this.value;
  }

  added(n: number): void {
    this.value += n;
  }
}
