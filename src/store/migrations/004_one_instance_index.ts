/**
 * One index by instance instead of two. `terminations_live_instance` (region, instance_id, unique among
 * live rows) and `terminations_instance` (instance_id, id) both put every hand-off at a random place of a
 * B-tree, and that was the largest single cost of accepting a hand-off (docs/performance.md). One unique
 * index on (instance_id, region, 1 while live) serves both jobs:
 * - at most one live termination per instance: a live row's third key is 1, so two live rows collide;
 *   a final row's is NULL, and NULLs never collide in a unique index (SQLite and PostgreSQL alike), so
 *   an instance may have any number of finished terminations;
 * - finding an instance's terminations, live or not (the operator's `instance_id` filter), by its prefix.
 * The expression is the same text in every query planner's eyes: `next_attempt_at IS NOT NULL` is what
 * "live" means everywhere in the store.
 */
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../engine.js';

export async function up(db: Kysely<unknown>, _engine: Engine): Promise<void> {
  await sql`CREATE UNIQUE INDEX terminations_instance_live ON terminations (instance_id, region, (CASE WHEN next_attempt_at IS NOT NULL THEN 1 END))`.execute(db);
  await db.schema.dropIndex('terminations_live_instance').execute();
  await db.schema.dropIndex('terminations_instance').execute();
}
