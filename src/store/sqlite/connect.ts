/**
 * An SQLite file in WAL mode. Every acknowledged write waits for `afterCommit()`, which fsyncs the log off
 * the event loop (wal-sync.ts), so it survives a process crash and a power loss (on storage that honours
 * fsync). `locking_mode=EXCLUSIVE` keeps a second process off the file: it belongs to one server.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Connection } from '../dialect.js';
import { CommitOutcomeUnknownError } from '../failures.js';
import type { Database } from '../schema.js';
import { sqliteDialect } from './dialect.js';
import { sqliteHandOffRecorder } from './handoffs.js';
import { SqliteWriteHealth, WAL_SIZE_LIMIT_BYTES } from './health.js';
import { sqliteRuntimeProblem, UnsupportedRuntimeError } from './runtime.js';
import { withStatementCache } from './statement-cache.js';
import { WalSync } from './wal-sync.js';

export class DatabaseUrlError extends Error {}

/** `sqlite:///abs/path`, `sqlite:relative/path`, `file:path` or a plain path. */
export function sqlitePath(url: string): string {
  const path = url.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  if (path.length === 0) throw new DatabaseUrlError(`'${url}' names no database file`);
  return path;
}

export function connectSqlite(url: string, onWriteHealth?: (failure: string | null) => void): Connection {
  const path = sqlitePath(url);
  const runtimeProblem = sqliteRuntimeProblem();
  if (runtimeProblem) throw new UnsupportedRuntimeError(runtimeProblem);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path, { timeout: 2000 });
  } catch (err) {
    throw new DatabaseUrlError(`cannot open SQLite database ${path}: ${(err as Error).message}`);
  }
  try {
    sqlite.pragma('locking_mode = EXCLUSIVE');
    sqlite.pragma('journal_mode = WAL');
    // NORMAL: COMMIT does not fsync on the event loop; WalSync flushes the log before any acknowledgement.
    sqlite.pragma('synchronous = NORMAL');
    // Statement journals and temporary sorts in memory, not in files (docs/performance.md); every sort is
    // bounded (a LIMIT, or an instance's few rows), so memory stays bounded.
    sqlite.pragma('temp_store = MEMORY');
    sqlite.pragma('foreign_keys = ON');
    // After a checkpoint the log is cut back to this size, so it cannot keep a full disk full.
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    // Take the exclusive lock now, so a second server on the same file fails at start, not later.
    sqlite.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (err) {
    sqlite.close();
    throw new DatabaseUrlError(`cannot lock ${path}: another process (a second ddsrv?) is using it (${(err as Error).message})`);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, (err) => health.noteError(err)) }) });
  const inMemory = path === ':memory:' || path.startsWith('file::memory:');
  const wal = inMemory ? null : new WalSync(`${path}-wal`);
  const flush = () => wal?.sync() ?? Promise.resolve();
  const health = new SqliteWriteHealth(sqlite, (work) => db.connection().execute(async () => work()), flush, onWriteHealth);
  const afterCommit = () =>
    flush().catch((err: unknown) => {
      health.noteError(err);
      throw new CommitOutcomeUnknownError(`the commit could not be flushed to disk: ${(err as Error).message}`, err);
    });
  return {
    db,
    engine: 'sqlite',
    dialect: sqliteDialect,
    description: path,
    unavailable: () => health.unavailable(),
    afterCommit,
    handOffs: (_durably, durable) => sqliteHandOffRecorder(db, sqlite, durable, health),
    close: async () => {
      await db.destroy();
      await wal?.close();
    },
  };
}
