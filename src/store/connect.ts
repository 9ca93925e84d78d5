/**
 * Opens the database a URL names: `postgres://...` is PostgreSQL (shared by replicas, postgres/), anything
 * else an SQLite file (one server's, sqlite/). The one place the engine is chosen.
 */
import type { Connection, Dialect } from './dialect.js';
import type { Engine } from './engine.js';
import { connectPostgres, PostgresUrlError } from './postgres/connect.js';
import { postgresDialect } from './postgres/dialect.js';
import { sqliteDialect } from './sqlite/dialect.js';
import { connectSqlite, DatabaseUrlError } from './sqlite/connect.js';

export type { Connection } from './dialect.js';
export { DatabaseUrlError, sqlitePath } from './sqlite/connect.js';

export interface ConnectOptions {
  /** Connection errors that no query is waiting for (a server that closed an idle connection). */
  onError?: (err: Error) => void;
  /** SQLite: the store stopped being able to write (why), or can again (null). */
  onWriteHealth?: (failure: string | null) => void;
}

export function engineOf(url: string): Engine {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export async function connect(url: string, options: ConnectOptions = {}): Promise<Connection> {
  if (engineOf(url) === 'sqlite') return connectSqlite(url, options.onWriteHealth);
  try {
    return connectPostgres(url, options.onError);
  } catch (err) {
    if (err instanceof PostgresUrlError) throw new DatabaseUrlError(err.message);
    throw err;
  }
}

/** An engine's dialect by name (the migration tests build a schema with it). */
export function dialectOf(engine: Engine): Dialect {
  return engine === 'postgres' ? postgresDialect : sqliteDialect;
}
