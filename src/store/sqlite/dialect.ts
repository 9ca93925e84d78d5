/** SQLite's answers to the store's engine questions (../dialect.ts). */
import type { Dialect } from '../dialect.js';

export const sqliteDialect: Dialect = {
  engine: 'sqlite',
  schema: { id: 'integer', identity: (c) => c.primaryKey().autoIncrement(), time: 'integer' },
  migrating: (db, run) => run(db),
  // One writer at a time: the due rows cannot change between the select and the update.
  claim: (db, table, due, set) => db.updateTable(table).set(set).where('id', 'in', due).returningAll().execute(),
  // SQLite runs one transaction at a time (and has no FOR UPDATE).
  lockRow: (read) => read,
  openFailed: (err) => err,
  // The file is locked to one process (locking_mode=EXCLUSIVE): every lease in it is a dead process's.
  releaseAtOpen: true,
};
