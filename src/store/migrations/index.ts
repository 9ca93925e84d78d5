/**
 * Every migration, in order. Imported statically (not read from a folder at run time) so the compiled
 * package carries them and a newcomer sees the list in one place. Never edit a released migration: add
 * the next number.
 */
import type { Kysely } from 'kysely';
import type { SchemaTypes } from '../dialect.js';
import * as m001 from './001_initial.js';
import * as m002 from './002_operator_notify.js';
import * as m003 from './003_step_data.js';
import * as m004 from './004_one_instance_index.js';
import * as m005 from './005_list_orders.js';

export interface EngineMigration {
  up(db: Kysely<unknown>, types: SchemaTypes): Promise<void>;
}

export const MIGRATIONS: Record<string, EngineMigration> = {
  '001_initial': m001,
  '002_operator_notify': m002,
  '003_step_data': m003,
  '004_one_instance_index': m004,
  '005_list_orders': m005,
};
