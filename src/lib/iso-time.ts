/**
 * ISO-8601 text of a time in milliseconds, remembering the last one converted. Under load the same
 * millisecond is formatted again and again (every log line's timestamp, and the due time shared by every
 * hand-off of a group commit), a new Date and its formatting each time, a few times per hand-off.
 */
export class IsoClock {
  private lastMs = Number.NaN;
  private lastText = '';

  iso(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastText = new Date(ms).toISOString();
      this.lastMs = ms;
    }
    return this.lastText;
  }
}
