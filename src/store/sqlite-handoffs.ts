/**
 * The hand-off insert on SQLite, without the query builder: the one statement the service runs thousands
 * of times a second. Kysely built and compiled a multi-row INSERT per group (and a new SQL text to prepare
 * for every group size). Here two statements are prepared once and run per instance inside one
 * transaction, which better-sqlite3 runs synchronously: the whole group is one call on the event loop.
 * PostgreSQL keeps the Kysely path (record-handoffs.ts), where the round trips, not the building, are the
 * cost.
 *
 * It reads the documents directly and answers with one fixed-shape object per instance: no row objects,
 * maps or spreads in between (they were ~10% of the server's CPU per hand-off, docs/performance.md). What
 * a row still costs is SQLite's own work: the B-tree inserts and writing the pages to the WAL.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { HandOffRecord, Scheduled } from './record-handoffs.js';

type LiveRow = Omit<Scheduled, 'duplicate'>;

/**
 * For each document, for each of its instances in order: the new termination (`duplicate: false`), or the
 * live one the instance already has (`duplicate: true`), including one written earlier in the same group
 * (the transaction sees its own rows). All of it in one transaction; the caller makes it durable.
 */
export type SqliteHandOffWriter = (docs: HandOffRecord[], now: number) => Scheduled[][];

export function sqliteHandOffWriter(sqlite: BetterSqlite3.Database): SqliteHandOffWriter {
  // Every new termination starts `pending`, unleased, with no attempts and no reason: constants in the SQL.
  // No RETURNING: the new row's id is the insert's rowid, and the rest of the answer is what was just
  // written. SQLite gathers RETURNING rows in a temporary table; without it the insert costs ~15 instead of
  // ~20 µs of CPU per row (scratch micro-benchmark, the real schema, 25 rows per transaction).
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
