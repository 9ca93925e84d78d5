/**
 * Durability without blocking the event loop. SQLite runs with `synchronous=NORMAL` in WAL mode: a COMMIT
 * appends its frames to the write-ahead log but does not fsync (with `FULL` it would, on the main thread,
 * stalling every request for the length of the flush). Before anything is acknowledged, the store calls
 * `sync()`, which fdatasyncs the log on libuv's thread pool. Once the log holds a transaction's commit
 * frame on disk, SQLite's recovery replays it after a crash or power loss: the guarantee of `FULL`, while
 * the main thread goes on parsing the next requests. (Checkpoints under `NORMAL` fsync the log and the
 * database themselves, so the log restarting after a checkpoint loses nothing.)
 *
 * Syncs coalesce: one flush covers every commit made before it started, so concurrent callers share it.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class WalSync {
  private handle: FileHandle | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** Flushes done so far (benchmarks report commits per flush). */
  flushes = 0;

  constructor(private readonly walPath: string) {}

  /** Resolves once every transaction committed before the call is on stable storage. */
  sync(): Promise<void> {
    if (!this.running) return this.start();
    // A flush in progress may have started before our commit: one more after it covers us (and everyone
    // else who arrives meanwhile).
    this.queued ??= this.running.then(
      () => this.next(),
      () => this.next(),
    );
    return this.queued;
  }

  private next(): Promise<void> {
    this.queued = undefined;
    return this.running ?? this.start();
  }

  private start(): Promise<void> {
    const run = this.flush().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async flush(): Promise<void> {
    // The log exists once the first transaction wrote to it; the connection keeps it (same inode) while open.
    this.handle ??= await open(this.walPath, 'r+');
    await this.handle.datasync();
    this.flushes += 1;
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {});
    await this.handle?.close();
    this.handle = undefined;
  }
}
