import { sql, type Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';

// Ids are never reused (AUTOINCREMENT / identity), so cursors and history stay unambiguous.
export async function up(db: Kysely<unknown>, { id: idColumn, identity: id, time }: SchemaTypes): Promise<void> {
  await db.schema
    .createTable('terminations')
    .addColumn('id', idColumn, id)
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('due_at', time, (c) => c.notNull())
    .addColumn('next_attempt_at', time)
    .addColumn('lease_owner', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .addColumn('project', 'text')
    .addColumn('component', 'text')
    .addColumn('ip_address', 'text')
    .addColumn('user_data', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('source_ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();

  // At most one live termination per instance: a repeated hand-off finds the existing one.
  await db.schema
    .createIndex('terminations_live_instance')
    .on('terminations')
    .columns(['region', 'instance_id'])
    .unique()
    .where(sql.ref('next_attempt_at'), 'is not', null)
    .execute();
  // The worker's claim: a range scan over live rows by next_attempt_at.
  await db.schema
    .createIndex('terminations_next_attempt')
    .on('terminations')
    .column('next_attempt_at')
    .where(sql.ref('next_attempt_at'), 'is not', null)
    .execute();
  await db.schema.createIndex('terminations_instance').on('terminations').columns(['instance_id', 'id']).execute();
  await db.schema.createIndex('terminations_state').on('terminations').columns(['state', 'id']).execute();

  await db.schema
    .createTable('termination_history')
    .addColumn('id', idColumn, id)
    .addColumn('termination_id', idColumn, (c) => c.notNull().references('terminations.id'))
    .addColumn('at', time, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('step', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('termination_history_by_termination').on('termination_history').columns(['termination_id', 'id']).execute();
}
