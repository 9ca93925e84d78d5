/**
 * What differs between the engines, as the engine-neutral store code asks for it. Each engine answers
 * once, in store/sqlite/dialect.ts and store/postgres/dialect.ts; nothing else in src/store/ branches on it.
 */
import type { ColumnDataType, ColumnDefinitionBuilder, Kysely, RawBuilder, SelectQueryBuilder, SqlBool, Transaction } from 'kysely';
import type { Engine } from './engine.js';
import type { HandOffWriter } from './ports.js';
import type { Database } from './schema.js';

/** Column types the migrations write, per engine. */
export interface SchemaTypes {
  /** Primary and foreign keys. */
  id: ColumnDataType;
  /** A primary key that is never reused (AUTOINCREMENT / identity). */
  identity(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** Milliseconds since the epoch. */
  time: ColumnDataType;
}

export type LeasedTable = 'terminations' | 'notification_outbox';

/** The column types rowsOf passes: ids and times are integers. */
export type RowColumnType = 'integer' | 'text';

export interface Dialect {
  engine: Engine;
  schema: SchemaTypes;
  /** Runs the migrator the way the engine needs (PostgreSQL: one connection without statement_timeout). */
  migrating<T>(db: Kysely<Database>, run: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Claims the rows `due` selects: sets `set` on them and returns them whole; one statement for either leased table. */
  claim(db: Kysely<any>, table: LeasedTable, due: SelectQueryBuilder<any, any, { id: number }>, set: Record<string, unknown>): Promise<any[]>;
  /**
   * `column IN (ids)` with all the ids in one parameter. The SQL text is the same for any number of ids, so
   * the statement is built cheaply and prepared once, and no id list reaches the bound-parameter limit.
   */
  idIn(column: string, ids: readonly number[]): RawBuilder<SqlBool>;
  /**
   * `rows` as a SELECT with one column per `types` entry, for an INSERT ... SELECT. The rows travel in one
   * parameter (SQLite) or one per column (PostgreSQL): like idIn, the same SQL text for any number of rows.
   */
  rowsOf(types: readonly RowColumnType[], rows: readonly (readonly unknown[])[]): RawBuilder<unknown>;
  /** The operator's read of the row it will change: locked until the commit where the engine can. */
  lockRow<O>(read: SelectQueryBuilder<Database, 'terminations', O>): SelectQueryBuilder<Database, 'terminations', O>;
  /** Turns a failure while opening (connecting, migrating) into what the caller should see. */
  openFailed(err: unknown, description: string): unknown;
  /** Whether every lease found at open belongs to a process that is gone (a database only one server opens). */
  releaseAtOpen: boolean;
}

/** An open database: its Kysely handle, its dialect and what its writes need to be durable. */
export interface Connection {
  db: Kysely<Database>;
  engine: Engine;
  dialect: Dialect;
  /** Where it is, with any password removed, for logs. */
  description: string;
  /** Null when the database can take writes now; otherwise why not (the health check). Cheap; never throws. */
  unavailable(): Promise<string | null>;
  /** Resolves once everything committed so far is on stable storage. */
  afterCommit(): Promise<void>;
  /** The hand-off writer, given how to run a durable transaction and to wait for durability. */
  handOffs(durably: <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>, afterCommit: () => Promise<void>): HandOffWriter;
  close(): Promise<void>;
}
