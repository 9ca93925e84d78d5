/**
 * Opens the database named by `--database` and returns a Kysely instance for it.
 *
 * SQLite (the default) runs in WAL mode; every write that is acknowledged (a hand-off's 2xx, an operator
 * action, a step's outcome) waits for `afterCommit()`, which fsyncs the log off the event loop (wal-sync.ts),
 * so it survives a process crash and a power loss (on storage that honours fsync). `locking_mode=EXCLUSIVE` keeps a second process off the file: a SQLite database belongs to one
 * server, which is why that server may release every lease it finds at start-up.
 *
 * PostgreSQL (`postgres://...`, see postgres.ts) is shared by replicas: leases expire by themselves and
 * nobody releases another replica's leases.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Engine } from './engine.js';
import { openPostgres, PostgresUrlError } from './postgres.js';
import { sqliteRuntimeProblem, UnsupportedRuntimeError } from './sqlite-runtime.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';
import { WalSync } from './wal-sync.js';
import { CommitOutcomeUnknownError } from './failures.js';
import { SqliteWriteHealth, WAL_SIZE_LIMIT_BYTES } from './sqlite-health.js';

export interface Connection {
  db: Kysely<Database>;
  engine: Engine;
  /** Where it is, with any password removed, for logs. */
  description: string;
  /** Null when the database can take writes now; otherwise why not (the health check). Cheap; never throws. */
  unavailable(): Promise<string | null>;
  /** Resolves once everything committed so far is on stable storage (see wal-sync.ts). */
  afterCommit(): Promise<void>;
  close(): Promise<void>;
  /** SQLite: the connection itself, for the statements that skip the query builder (sqlite-handoffs.ts). */
  sqlite?: BetterSqlite3.Database;
  /** SQLite: tells the health check how a write that skipped the query builder went (sqlite-health.ts). */
  writeHealth?: Pick<SqliteWriteHealth, 'noteError' | 'noteSuccess'>;
}

export interface ConnectOptions {
  /** Connection errors that no query is waiting for (a server that closed an idle connection). */
  onError?: (err: Error) => void;
  /** SQLite: the store stopped being able to write (why), or can again (null). */
  onWriteHealth?: (failure: string | null) => void;
}

export class DatabaseUrlError extends Error {}

export function engineOf(url: string): Engine {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

/** `sqlite:///abs/path`, `sqlite:relative/path`, `file:path` or a plain path. */
export function sqlitePath(url: string): string {
  const path = url.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  if (path.length === 0) throw new DatabaseUrlError(`'${url}' names no database file`);
  return path;
}

export async function connect(url: string, options: ConnectOptions = {}): Promise<Connection> {
  const engine = engineOf(url);
  if (engine === 'postgres') {
    try {
      const pg = openPostgres(url, options.onError);
      // PostgreSQL's COMMIT returns once the server has made it durable.
      return { db: pg.db, engine, description: pg.description, unavailable: pg.unavailable, afterCommit: async () => {}, close: () => pg.db.destroy() };
    } catch (err) {
      if (err instanceof PostgresUrlError) throw new DatabaseUrlError(err.message);
      throw err;
    }
  }
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
    // Statement journals (an INSERT ... ON CONFLICT keeps one) in memory, not in a temporary file: writing
    // that file took 28-41% of a row's insert time (docs/performance.md). They only live until the statement
    // ends. Temporary sorts are kept in memory too; every query's sort is bounded (a LIMIT, or an instance's
    // few rows, operator.ts), so memory stays bounded.
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
  const health = new SqliteWriteHealth(sqlite, (work) => db.connection().execute(async () => work()), flush, options.onWriteHealth);
  return {
    db,
    engine,
    sqlite,
    writeHealth: health,
    description: path,
    unavailable: () => health.unavailable(),
    afterCommit: () =>
      flush().catch((err: unknown) => {
        health.noteError(err);
        throw new CommitOutcomeUnknownError(`the commit could not be flushed to disk: ${(err as Error).message}`, err);
      }),
    close: async () => {
      await db.destroy();
      await wal?.close();
    },
  };
}
