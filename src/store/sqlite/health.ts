/**
 * Whether the SQLite store can write, for the health check. A local file that opened is not enough: on a
 * full disk every hand-off got 503 while the health check said 200. Any write that fails for the disk's
 * sake (SQLITE_FULL, SQLITE_IOERR*, read-only, a failed fsync) marks the store unable to write; the next
 * durable write, or a probe the health check makes (a one-page write, at most once a second), clears it.
 *
 * A full disk could also keep itself full: the write-ahead log grew until it filled the file system, and
 * was never checkpointed again. So right after such a failure, and before every probe, the log is
 * checkpointed and truncated: once space is freed, that alone brings the store back, without a restart.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { isDiskFailure, storeFailureReason } from '../failures.js';

/** The WAL is truncated back to this after a checkpoint (`journal_size_limit`): it never keeps more. */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;
const PROBE_INTERVAL_MS = 1000;

/**
 * Must run while nobody else uses the connection (Kysely's connection lock). Rolls back a transaction a
 * failed COMMIT left open (SQLite may keep it after SQLITE_FULL), checkpoints and truncates the log, and
 * writes one page (the header's user_version, rewritten with its own value: no schema needed).
 */
export function checkpointAndProbe(sqlite: BetterSqlite3.Database): void {
  if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const version = Number(sqlite.pragma('user_version', { simple: true }));
  sqlite.pragma(`user_version = ${version}`);
}

export class SqliteWriteHealth {
  private failure: string | null = null;
  private probing: Promise<void> | undefined;
  private lastProbeAt = 0;

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    /** Runs `work` holding the connection (no transaction of anyone else's is open meanwhile). */
    private readonly exclusively: (work: () => void) => Promise<void>,
    /** Flushes the log to disk (wal-sync.ts). */
    private readonly flush: () => Promise<void>,
    private readonly onChange: (failure: string | null) => void = () => {},
  ) {}

  /** Any error a write raised: a disk failure marks the store unable to write, and frees the log at once. */
  readonly noteError = (err: unknown): void => {
    if (!isDiskFailure(err)) return;
    const first = this.failure === null;
    this.set(storeFailureReason(err));
    if (first) void this.probe();
  };

  /** A write made durable: the store writes again. */
  noteSuccess(): void {
    if (this.failure !== null) this.set(null);
  }

  /** Null when the store can write; otherwise why not, after probing whether it can again. */
  async unavailable(): Promise<string | null> {
    if (this.failure === null) return null;
    if (this.probing === undefined && Date.now() - this.lastProbeAt >= PROBE_INTERVAL_MS) void this.probe();
    await this.probing;
    return this.failure === null ? null : `${this.failure}; hand-offs are refused until a write succeeds (free disk space: no restart is needed)`;
  }

  private probe(): Promise<void> {
    this.probing ??= (async () => {
      this.lastProbeAt = Date.now();
      try {
        await this.exclusively(() => checkpointAndProbe(this.sqlite));
        await this.flush();
        this.set(null);
      } catch (err) {
        if (isDiskFailure(err)) this.set(storeFailureReason(err));
      } finally {
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  private set(failure: string | null): void {
    if (failure === this.failure) return;
    this.failure = failure;
    this.onChange(failure);
  }
}
