/**
 * The operator views and the notification outbox.
 *
 * - Listing by project or component (with or without a state) must stay an index seek with a million
 *   rows: (project, state, id) and (component, state, id) serve `project = ? AND state = ? ORDER BY id
 *   DESC` directly, and a filter without a state is answered as one such seek per state (merged), so no
 *   query ever sorts or skips over the table. (state, id) and (instance_id, id) exist already.
 * - `notification_outbox`: a webhook notification is written in the same transaction as the transition
 *   it reports, and a delivery loop sends it later (see src/notify/). At most one per termination and
 *   state, so a step retried in the same state cannot notify twice.
 */
import { sql, type Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';

export async function up(db: Kysely<unknown>, { id: idColumn, identity: id, time }: SchemaTypes): Promise<void> {
  await db.schema.createIndex('terminations_project_state').on('terminations').columns(['project', 'state', 'id']).execute();
  await db.schema.createIndex('terminations_component_state').on('terminations').columns(['component', 'state', 'id']).execute();

  await db.schema
    .createTable('notification_outbox')
    .addColumn('id', idColumn, id)
    .addColumn('termination_id', idColumn, (c) => c.notNull().references('terminations.id'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    /** When the transition happened. */
    .addColumn('at', time, (c) => c.notNull())
    /** Next delivery try, and the lease expiry while a deliverer holds the row; NULL once done. */
    .addColumn('next_attempt_at', time)
    .addColumn('lease_owner', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    /** `delivered` or `failed` once done. */
    .addColumn('outcome', 'text')
    .addColumn('done_at', time)
    .execute();
  await db.schema
    .createIndex('notification_outbox_once')
    .on('notification_outbox')
    .columns(['termination_id', 'state'])
    .unique()
    .execute();
  await db.schema
    .createIndex('notification_outbox_due')
    .on('notification_outbox')
    .column('next_attempt_at')
    .where(sql.ref('next_attempt_at'), 'is not', null)
    .execute();
}
