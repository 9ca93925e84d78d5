/**
 * The hand-off insert on SQLite, without the query builder: the statement the service runs most. Two
 * statements are prepared once and run per instance inside one synchronous better-sqlite3 transaction, so
 * a whole group is one call on the event loop, answered with one fixed-shape object per instance (why, and
 * what it saved: docs/performance.md, "SQLite hand-off writes").
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { HandOffWriter } from '../ports.js';
import type { HandOffRecord, Scheduled } from '../record-handoffs.js';
import type { Database } from '../schema.js';

type LiveRow = Omit<Scheduled, 'duplicate'>;

/**
 * For each document, for each of its instances in order: the new termination (`duplicate: false`), or the
 * live one the instance already has (`duplicate: true`), including one written earlier in the same group
 * (the transaction sees its own rows). All of it in one transaction; the caller makes it durable.
 */
export type SqliteHandOffWriter = (docs: HandOffRecord[], now: number) => Scheduled[][];

export function sqliteHandOffWriter(sqlite: BetterSqlite3.Database): SqliteHandOffWriter {
  // Every new termination starts `pending`, unleased, with no attempts and no reason: constants in the SQL.
  // No RETURNING (SQLite gathers it in a temporary table): the id is the insert's rowid, the rest is known.
  const insert = sqlite.prepare(
    `INSERT INTO terminations (instance_id, region, state, step, due_at, next_attempt_at, attempts, project, component,
       ip_address, user_data, requested_by, source_ip, user_agent, step_data, created_at, updated_at)
     VALUES (?, ?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );
  // The unique index on live rows is what made the insert do nothing; this finds the row it kept.
  const live = sqlite.prepare<[string, string], LiveRow>(
    `SELECT id, instance_id, region, state, due_at, next_attempt_at FROM terminations
      WHERE region = ? AND instance_id = ? AND next_attempt_at IS NOT NULL`,
  );

  const recordOne = (d: HandOffRecord, instanceId: string, now: number): Scheduled => {
    const { changes, lastInsertRowid } = insert.run(
      instanceId,
      d.region,
      d.firstStep,
      d.dueAt,
      d.firstAttemptAt,
      d.project,
      d.component,
      d.ipAddress,
      d.userData,
      d.requestedBy,
      d.sourceIp,
      d.userAgent,
      d.stepData ?? null,
      now,
      now,
    );
    if (changes === 1) {
      return { id: Number(lastInsertRowid), instance_id: instanceId, region: d.region, state: 'pending', due_at: d.dueAt, next_attempt_at: d.firstAttemptAt, duplicate: false };
    }
    const existing = live.get(d.region, instanceId);
    // The insert conflicted with nothing but a live row, so one is there (SQLite has one writer).
    if (!existing) throw new Error(`could not record ${d.region}/${instanceId}: no live row after a conflicting insert`);
    return { id: existing.id, instance_id: existing.instance_id, region: existing.region, state: existing.state, due_at: existing.due_at, next_attempt_at: existing.next_attempt_at, duplicate: true };
  };

  return sqlite.transaction((docs: HandOffRecord[], now: number) => {
    const out: Scheduled[][] = [];
    for (const d of docs) {
      const scheduled: Scheduled[] = [];
      for (const instanceId of d.instanceIds) scheduled.push(recordOne(d, instanceId, now));
      out.push(scheduled);
    }
    return out;
  });
}

/**
 * Records a group in one transaction and reports it once durable. Prepared on first use (after the
 * migrations). Holding Kysely's connection keeps the worker's and the operator's transactions out of ours.
 */
export function sqliteHandOffRecorder(
  db: Kysely<Database>,
  sqlite: BetterSqlite3.Database,
  afterCommit: () => Promise<void>,
  health: { noteError(err: unknown): void; noteSuccess(): void },
): HandOffWriter {
  let write: SqliteHandOffWriter | undefined;
  return {
    async recordHandOffs(docs, now) {
      write ??= sqliteHandOffWriter(sqlite);
      const scheduled = await db.connection().execute(async () => {
        // Inside someone's open transaction, better-sqlite3 would make ours a savepoint, and this group
        // would be acknowledged with no commit of its own.
        if (sqlite.inTransaction) throw new Error('a transaction was left open on the SQLite connection; hand-offs not recorded');
        try {
          return write!(docs, now);
        } catch (err) {
          health.noteError(err);
          throw err;
        }
      });
      await afterCommit();
      health.noteSuccess();
      return scheduled;
    },
  };
}
