/**
 * The operator list's orders (`order=due`, `order=ended`) as index seeks, one per state, merged:
 * - (state, due_at, id): soonest due first within a state, keyset over (due_at, id);
 * - (state, updated_at, id) over final rows only: latest ended first. Partial, so the worker's updates of
 *   live rows (every claim and settle sets updated_at) never touch it; a row enters it once, when it ends.
 * Re-runnable (IF NOT EXISTS): SQLite commits each statement of a migration on its own.
 */
import { sql, type Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';

export async function up(db: Kysely<unknown>, _types: SchemaTypes): Promise<void> {
  await db.schema.createIndex('terminations_state_due').ifNotExists().on('terminations').columns(['state', 'due_at', 'id']).execute();
  await db.schema
    .createIndex('terminations_ended')
    .ifNotExists()
    .on('terminations')
    .columns(['state', 'updated_at', 'id'])
    .where(sql.ref('next_attempt_at'), 'is', null)
    .execute();
}
