/**
 * Per-step progress of the drain pipeline (asg_detach -> lb_deregister -> drain_wait -> drain_hook ->
 * terminate), as JSON text: which group the instance left, which target groups and classic load balancers
 * it was deregistered from, the drain deadline, whether the drain hook was started and what it answered.
 * A restarted worker reads it to resume a step without repeating what is done. NULL for rows that have
 * not started a step yet (and for every row written before this migration).
 */
import type { Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';

export async function up(db: Kysely<unknown>, _types: SchemaTypes): Promise<void> {
  await db.schema.alterTable('terminations').addColumn('step_data', 'text').execute();
}
