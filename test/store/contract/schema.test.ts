/**
 * The store contract, the schema: run against every engine (helpers/for-each-engine.ts) through the ports
 * (src/store/ports.ts). Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { SchemaTooNewError } from '../../../src/store/migrate.js';
import { connect } from '../../../src/store/connect.js';
import { migrateSchema } from '../../../src/store/migrate.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openSqlStore } from '../../../src/store/open.js';
import { forEachEngine } from '../../helpers/for-each-engine.js';
import { freshDatabase } from '../../helpers/fresh-database.js';

forEachEngine('store-schema', (ctx) => {
  /** A second migration run, as a freshly started replica would do (SQLite: its one connection). */
  async function migrateAgain(): Promise<string[]> {
    if (ctx.engine === 'sqlite') return migrateSchema(ctx.db, ctx.store.connection.dialect);
    const other = await connect(ctx.url);
    try {
      return await migrateSchema(other.db, other.dialect);
    } finally {
      await other.close();
    }
  }

  describe('schema', () => {
    test('a fresh database gets every migration', async () => {
      const database = await freshDatabase(ctx.engine, 'store-fresh');
      let applied: string[] = [];
      const store = await openSqlStore({ database: database.url, onOpened: (facts) => (applied = facts.applied) });
      await store.close();
      await database.drop();
      assert.deepEqual(applied, Object.keys(MIGRATIONS).sort());
    });

    test('migrating again changes nothing', async () => {
      assert.deepEqual(await migrateAgain(), []);
    });

    test('a database with migrations this version does not know is refused', async () => {
      await sql`insert into kysely_migration (name, timestamp) values ('999_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(ctx.db);
      try {
        await assert.rejects(migrateAgain(), (err: Error) => {
          assert.ok(err instanceof SchemaTooNewError, `${err.name}: ${err.message}`);
          assert.match(err.message, /newer than this ddsrv.*999_from_the_future/);
          return true;
        });
      } finally {
        await sql`delete from kysely_migration where name = '999_from_the_future'`.execute(ctx.db);
      }
    });
  });
});
