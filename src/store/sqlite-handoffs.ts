/**
 * The hand-off insert on SQLite, without the query builder: the one statement the service runs thousands
 * of times a second. Kysely built and compiled a multi-row INSERT per group (and a new SQL text to prepare
 * for every group size). Here two statements are prepared once and run per instance inside one
 * transaction, which better-sqlite3 runs synchronously: the whole group is one call on the event loop.
 * PostgreSQL keeps the Kysely path (store.ts), where the round trips, not the building, are the cost.
 *
 * What a row still costs is SQLite's own work: the B-tree inserts and writing the pages to the WAL
 * (docs/performance.md, "The acceptance ladder").
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { NewTerminationRow } from './schema.js';
import type { Scheduled } from './record-handoffs.js';

/** What the insert returns for one row: what the HTTP answer and the metrics need. */
export type ScheduledRow = Omit<Scheduled, 'duplicate'>;

/**
 * A hand-off row as recordHandOffs builds it. Every new termination starts `pending`, unleased, with no
 * attempts and no reason: those are written as constants, not bound per row.
 */
export type HandOffRow = NewTerminationRow & { state: 'pending'; attempts: 0; lease_owner: null; reason: null };

const RETURNED = 'id, instance_id, region, state, due_at, next_attempt_at';

/**
 * For each row, in order: the new termination (`duplicate: false`), or the live one the instance already
 * has (`duplicate: true`). All rows are written in one transaction; the caller makes it durable.
 */
export type SqliteHandOffWriter = (rows: HandOffRow[]) => { row: ScheduledRow; duplicate: boolean }[];

export function sqliteHandOffWriter(sqlite: BetterSqlite3.Database): SqliteHandOffWriter {
  // Only the id comes back (pluck): the rest of a new row's answer is what was just written. With fewer
  // bound values and no row object per insert, the store's path went from 73 to 60 µs of CPU per hand-off
  // at saturation (docs/performance.md).
  const insert = sqlite
    .prepare<unknown[], number>(
      `INSERT INTO terminations (instance_id, region, state, step, due_at, next_attempt_at, attempts, project, component,
         ip_address, user_data, requested_by, source_ip, user_agent, step_data, created_at, updated_at)
       VALUES (?, ?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING id`,
    )
    .pluck();
  // The unique index on live rows is what made the insert do nothing; this finds the row it kept.
  const live = sqlite.prepare<[string, string], ScheduledRow>(
    `SELECT ${RETURNED} FROM terminations WHERE region = ? AND instance_id = ? AND next_attempt_at IS NOT NULL`,
  );
  return sqlite.transaction((rows: HandOffRow[]) =>
    rows.map((r) => {
      const id = insert.get(
        r.instance_id,
        r.region,
        r.step,
        r.due_at,
        r.next_attempt_at ?? null,
        r.project ?? null,
        r.component ?? null,
        r.ip_address ?? null,
        r.user_data ?? null,
        r.requested_by ?? null,
        r.source_ip ?? null,
        r.user_agent ?? null,
        r.step_data ?? null,
        r.created_at,
        r.updated_at,
      );
      if (id !== undefined) {
        return { row: { id, instance_id: r.instance_id, region: r.region, state: 'pending', due_at: r.due_at, next_attempt_at: r.next_attempt_at ?? null }, duplicate: false };
      }
      const existing = live.get(r.region, r.instance_id);
      // The insert conflicted with nothing but a live row, so one is there (SQLite has one writer).
      if (!existing) throw new Error(`could not record ${r.region}/${r.instance_id}: no live row after a conflicting insert`);
      return { row: existing, duplicate: true };
    }),
  );
}
