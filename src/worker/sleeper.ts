/** A sleep that `wake()` ends early: loops sleep until their next due work, and a stop or a poke ends it. */
export class Sleeper {
  private wakeCurrent: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeCurrent = done;
    });
  }

  /** Ends the current sleep, if any (a no-op when awake). */
  wake(): void {
    this.wakeCurrent?.();
  }
}
