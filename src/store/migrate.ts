/**
 * Brings the schema up to date at start-up. Kysely's Migrator takes a lock (a table row, `FOR UPDATE` on
 * PostgreSQL), so replicas starting at the same moment migrate once. A database that has migrations this
 * code does not know was upgraded by a newer release: refuse to run rather than corrupt it.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect, SchemaTypes } from './dialect.js';
import { SchemaTooNewError } from './failures.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

export { SchemaTooNewError };

/** Applies the migrations the database lacks; their names. */
export function migrateSchema(db: Kysely<Database>, dialect: Pick<Dialect, 'migrating' | 'schema'>): Promise<string[]> {
  return dialect.migrating(db, (conn) => migrateOn(conn, dialect.schema));
}

async function migrateOn(db: Kysely<any>, types: SchemaTypes): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (d) => m.up(d, types) };
      return out;
    },
  };
  const migrator = new Migrator({ db, provider });
  const known = new Set(Object.keys(MIGRATIONS));
  const unknown = await appliedUnknown(db, known);
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the database schema is newer than this ddsrv (it has migrations ${unknown.join(', ')} that this version does not know); run the newer release or restore a matching backup`,
    );
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    // A newer replica may have migrated between the check above and the lock: say so plainly.
    const late = await appliedUnknown(db, known);
    if (late.length > 0) throw new SchemaTooNewError(`the database schema is newer than this ddsrv (it has migrations ${late.join(', ')} that this version does not know); run the newer release`);
    throw error;
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function appliedUnknown(db: Kysely<any>, known: Set<string>): Promise<string[]> {
  try {
    const rows = await db.selectFrom('kysely_migration').select('name').execute();
    return rows.map((r) => r.name as string).filter((name) => !known.has(name));
  } catch {
    return []; // a fresh database has no migration table yet
  }
}
