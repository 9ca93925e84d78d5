/**
 * better-sqlite3 behind Kysely prepares every statement anew; the hand-off path runs the same few
 * statements thousands of times a second. This keeps the most recent prepared statements by SQL text.
 * Statements are reusable (better-sqlite3 binds parameters per call) and belong to one connection.
 *
 * Every error a statement raises (COMMIT included) is also handed to `onError`: that is how the health
 * check learns of a full disk from any write, the worker's as well as the hand-offs' (sqlite-health.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

function reporting(statement: BetterSqlite3.Statement, onError: (err: unknown) => void): SqliteStatement {
  const guard = <T>(run: () => T): T => {
    try {
      return run();
    } catch (err) {
      onError(err);
      throw err;
    }
  };
  return {
    reader: statement.reader,
    all: (parameters) => guard(() => statement.all(parameters)),
    run: (parameters) => guard(() => statement.run(parameters)),
    iterate: (parameters) => guard(() => statement.iterate(parameters)),
  };
}

export function withStatementCache(db: BetterSqlite3.Database, onError: (err: unknown) => void = () => {}, size = 200): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql);
      if (statement) {
        // Most recently used last, so the first key is the one to evict.
        cache.delete(sql);
      } else {
        statement = reporting(db.prepare(sql), onError);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
