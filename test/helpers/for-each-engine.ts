// The one engine loop of the store tests: `forEachEngine(name, (ctx) => { test(...) })` declares the suite
// once per engine, on a fresh database each (helpers/fresh-database.ts), opened through openSqlStore.
//
// - Engines: DDSRV_TEST_STORE_ENGINES=sqlite,postgres (the default; CI runs both).
// - PostgreSQL unreachable: its half skips with a message locally and fails under CI=true (postgresSkip).
// - "Replica" means a second store (its own pool) on the same database on PostgreSQL; on SQLite, which a
//   single process holds, the same store (used under another lease owner).
// - Rows are cleared before each test; replicas opened by a test are closed after it.
import { after, afterEach, before, beforeEach, describe } from 'node:test';
import type { Kysely } from 'kysely';
import type { Engine } from '../../src/store/engine.js';
import { openSqlStore } from '../../src/store/open.js';
import type { Database } from '../../src/store/schema.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { freshDatabase } from './fresh-database.js';
import { postgresSkip } from './postgres.js';

const ENGINES = (process.env.DDSRV_TEST_STORE_ENGINES ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
for (const e of ENGINES) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`DDSRV_TEST_STORE_ENGINES: unknown engine '${e}' (use sqlite, postgres)`);

export interface EngineContext {
  engine: Engine;
  /** The first store, for setup and assertions (valid inside tests and hooks). */
  readonly store: SqlStore;
  /** The raw database under it, for setting up rows the ports cannot write (backdating, odd states). */
  readonly db: Kysely<Database>;
  /** The database's URL (to open it again, as another process would). */
  readonly url: string;
  /** Another replica on the same database (see above); closed after the test. */
  replica(): Promise<SqlStore>;
}

/** Why `engine` is skipped here, or false. */
export async function engineSkip(engine: Engine): Promise<string | false> {
  if (!ENGINES.includes(engine)) return `not in DDSRV_TEST_STORE_ENGINES (${ENGINES.join(',')})`;
  return engine === 'postgres' ? postgresSkip() : false;
}

const skips = { sqlite: await engineSkip('sqlite'), postgres: await engineSkip('postgres') };

export function forEachEngine(name: string, body: (ctx: EngineContext) => void, options: { clear?: boolean } = {}): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    let store: SqlStore | undefined;
    let url = '';
    let drop: (() => Promise<void>) | undefined;
    let replicas: SqlStore[] = [];
    const ctx: EngineContext = {
      engine,
      get store() {
        if (!store) throw new Error('the store opens in before()');
        return store;
      },
      get db() {
        return ctx.store.connection.db;
      },
      get url() {
        return url;
      },
      async replica() {
        if (engine === 'sqlite') return ctx.store;
        const other = await openSqlStore({ database: url });
        replicas.push(other);
        return other;
      },
    };
    describe(`${name} on ${engine}`, { skip: skips[engine] }, () => {
      before(async () => {
        const database = await freshDatabase(engine, name);
        url = database.url;
        drop = database.drop;
        store = await openSqlStore({ database: url });
      });
      after(async () => {
        await store?.close();
        await drop?.();
      });
      if (options.clear !== false) {
        beforeEach(async () => {
          await ctx.db.deleteFrom('notification_outbox').execute();
          await ctx.db.deleteFrom('termination_history').execute();
          await ctx.db.deleteFrom('terminations').execute();
        });
      }
      afterEach(async () => {
        for (const r of replicas) await r.close();
        replicas = [];
      });
      body(ctx);
    });
  }
}
