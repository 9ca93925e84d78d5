/** SQLite's answers to the store's engine questions (../dialect.ts). */
import { sql, type SqlBool } from 'kysely';
import type { Dialect } from '../dialect.js';

export const sqliteDialect: Dialect = {
  engine: 'sqlite',
  schema: { id: 'integer', identity: (c) => c.primaryKey().autoIncrement(), time: 'integer' },
  migrating: (db, run) => run(db),
  // One writer at a time: the due rows cannot change between the select and the update.
  claim: (db, table, due, set) => db.updateTable(table).set(set).where('id', 'in', due).returningAll().execute(),
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
  // Each row a JSON array; `->> i` is its i-th value as an SQL integer, text or NULL. `WHERE true` keeps
  // an ON CONFLICT after the SELECT from being read as a join's ON (an ambiguity SQLite's docs name).
  rowsOf: (types, rows) => sql`SELECT ${sql.join(types.map((_, i) => sql.raw(`value ->> ${i}`)))} FROM json_each(${JSON.stringify(rows)}) WHERE true`,
  // SQLite runs one transaction at a time (and has no FOR UPDATE).
  lockRow: (read) => read,
  openFailed: (err) => err,
  // The file is locked to one process (locking_mode=EXCLUSIVE): every lease in it is a dead process's.
  releaseAtOpen: true,
};
