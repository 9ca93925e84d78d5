/** PostgreSQL's answers to the store's engine questions (../dialect.ts). */
import { sql, type SqlBool } from 'kysely';
import type { Dialect } from '../dialect.js';
import { SchemaTooNewError } from '../failures.js';

export class StoreOpenError extends Error {}

export const postgresDialect: Dialect = {
  engine: 'postgres',
  schema: { id: 'bigint', identity: (c) => c.primaryKey().generatedAlwaysAsIdentity(), time: 'bigint' },
  // One connection for the lock, the check and the migrations, without the pool's statement_timeout:
  // waiting for another replica's migration, or a long one, must not be cancelled after 10 s.
  migrating: (db, run) =>
    db.connection().execute(async (conn) => {
      await sql`set statement_timeout = 0`.execute(conn);
      try {
        return await run(conn);
      } finally {
        await sql`reset statement_timeout`.execute(conn);
      }
    }),
  // A MATERIALIZED CTE runs the locking select exactly once, whatever plan the UPDATE gets; SKIP LOCKED lets
  // replicas claim side by side. A row another replica claimed meanwhile is re-checked and left out.
  claim: (db, table, due, set) =>
    db
      .with((w) => w('due').materialized(), () => due.forUpdate().skipLocked())
      .updateTable(table)
      .set(set)
      .where('id', 'in', (eb: any) => eb.selectFrom('due').select('due.id'))
      .returningAll()
      .execute(),
  // node-postgres sends a JavaScript array as an array literal; ANY(...) uses the primary key like IN.
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} = ANY(${ids}::bigint[])`,
  // One array parameter per column, unnested side by side into rows.
  rowsOf: (types, rows) =>
    sql`SELECT * FROM unnest(${sql.join(types.map((type, i) => sql`${rows.map((r) => r[i])}::${sql.raw(type === 'integer' ? 'bigint' : 'text')}[]`))})`,
  // Locked until our commit, so a worker on another replica cannot write between our read and our update.
  lockRow: (read) => read.forUpdate(),
  openFailed: (err, description) =>
    err instanceof SchemaTooNewError ? err : new StoreOpenError(`cannot prepare the database ${description}: ${(err as Error).message}`),
  // Shared by replicas: leases expire by themselves, and nobody releases another replica's.
  releaseAtOpen: false,
};
