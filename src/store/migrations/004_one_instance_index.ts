/**
 * One index by instance instead of two. `terminations_live_instance` (region, instance_id, unique among
 * live rows) and `terminations_instance` (instance_id, id) both put every hand-off at a random place of a
 * B-tree, the most expensive part of SQLite's work for each hand-off (docs/performance.md). One unique
 * index on (instance_id, region, 1 while live) serves both jobs:
 * - at most one live termination per instance: a live row's third key is 1, so two live rows collide;
 *   a final row's is NULL, and NULLs never collide in a unique index (SQLite and PostgreSQL alike), so
 *   an instance may have any number of finished terminations;
 * - finding an instance's terminations, live or not (the operator's `instance_id` filter, the look-up of a
 *   live row), by its (instance_id, region) prefix; `next_attempt_at IS NOT NULL` is then checked on the
 *   few rows found. No query names the CASE expression; it exists only for the uniqueness.
 *
 * Re-runnable: SQLite commits each statement of a migration on its own (Kysely runs its migrations without
 * a transaction there), so a process killed half-way must be able to run it again.
 * On PostgreSQL it runs in the migrator's transaction: building the index holds a lock that blocks writes
 * to `terminations` (hand-offs and workers, on every replica) until it commits (0.66 s for a million rows
 * on the 2-core test machine); upgrade at a quiet moment.
 */
import { sql, type Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';

export async function up(db: Kysely<unknown>, _types: SchemaTypes): Promise<void> {
  await sql`CREATE UNIQUE INDEX IF NOT EXISTS terminations_instance_live ON terminations (instance_id, region, (CASE WHEN next_attempt_at IS NOT NULL THEN 1 END))`.execute(db);
  await db.schema.dropIndex('terminations_live_instance').ifExists().execute();
  await db.schema.dropIndex('terminations_instance').ifExists().execute();
}
