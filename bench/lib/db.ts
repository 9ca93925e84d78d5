// Reads a service's SQLite file after the service has stopped (while it runs the file is locked
// exclusively). Opening it replays the WAL, as the next server start would, so what we read is exactly
// what survived, whether the server stopped cleanly or was killed.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';

export interface DbSummary {
  rows: number;
  byState: Record<string, number>;
  /** Distinct created_at values (ms): every group commit stamps its rows with one `now`, so this is a lower bound on commits. */
  commitStamps: number;
  /** Database file plus WAL, bytes. */
  bytes: number;
}

export function withDb<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export function summarize(path: string): DbSummary {
  const summary = withDb(path, (db) => {
    const byState: Record<string, number> = {};
    for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM terminations GROUP BY state').all() as { state: string; n: number }[]) {
      byState[r.state] = r.n;
    }
    const { n } = db.prepare('SELECT COUNT(*) AS n FROM terminations').get() as { n: number };
    const { c } = db.prepare('SELECT COUNT(DISTINCT created_at) AS c FROM terminations').get() as { c: number };
    return { rows: n, byState, commitStamps: c };
  });
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  return { ...summary, bytes: size(path) + size(`${path}-wal`) };
}

export function instanceIdsIn(path: string): Set<string> {
  return withDb(path, (db) => new Set((db.prepare('SELECT instance_id FROM terminations').pluck().all() as string[])));
}
