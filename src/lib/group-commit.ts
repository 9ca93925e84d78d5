/**
 * Group commit: items that arrive while a write is under way (or within the same turn of the event loop)
 * are written together by one call, so durability costs one disk flush per group, not one per request
 * (server.ts uses it for hand-offs). Each caller's promise settles only after its group was written.
 */
export class GroupCommit<In, Out> {
  private queue: { item: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  private busy = false;
  /** Sizes of the groups written so far (for metrics and benchmarks). */
  groups = 0;
  items = 0;

  constructor(
    private readonly write: (items: In[]) => Promise<Out[]>,
    private readonly maxGroup = 2000,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far is written (used at shutdown). */
  async drain(): Promise<void> {
    while (this.busy || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  private schedule(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    // setImmediate: let every request already read in this turn join the group.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const group = this.queue.splice(0, this.maxGroup);
    try {
      const outs = await this.write(group.map((g) => g.item));
      group.forEach((g, i) => g.resolve(outs[i]!));
      this.groups += 1;
      this.items += group.length;
    } catch (err) {
      for (const g of group) g.reject(err);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }
}
