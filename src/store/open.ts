/**
 * The store's one entry point: connect, migrate, and on a database only this server opens (SQLite) give
 * back every lease a previous run left, for the terminations and the outbox alike.
 */
import { connect, type ConnectOptions } from './connect.js';
import { migrateSchema } from './migrate.js';
import type { Store } from './ports.js';
import { SqlStore } from './sql-store.js';

export { DatabaseUrlError } from './connect.js';
export { SchemaTooNewError } from './failures.js';
export { StoreOpenError } from './postgres/dialect.js';
export { UnsupportedRuntimeError } from './sqlite/runtime.js';

export interface StoreConfig extends ConnectOptions {
  /** `postgres://...`, or an SQLite path (`sqlite:`/`file:` prefixes allowed). */
  database: string;
  /** What opening did, for the log: migrations applied, leases of a previous run given back. */
  onOpened?(facts: { applied: string[]; releasedWork: number; releasedNotifications: number }): void;
  now?: () => number;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  return openSqlStore(config);
}

/** openStore, typed as the store's own class (for src/store/ and its tests). */
export async function openSqlStore(config: StoreConfig): Promise<SqlStore> {
  const connection = await connect(config.database, config);
  try {
    const applied = await migrateSchema(connection.db, connection.dialect);
    const store = new SqlStore(connection);
    let releasedWork = 0;
    let releasedNotifications = 0;
    if (connection.dialect.releaseAtOpen) {
      const now = (config.now ?? Date.now)();
      releasedWork = await store.work.releaseAll(now);
      releasedNotifications = await store.notifications.releaseAll(now);
    }
    config.onOpened?.({ applied, releasedWork, releasedNotifications });
    return store;
  } catch (err) {
    await connection.close();
    throw connection.dialect.openFailed(err, connection.description);
  }
}
