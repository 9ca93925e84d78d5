/**
 * Upgrading a database that already holds terminations to migration 004 (one unique index on
 * (instance_id, region, live) instead of the live-instance and instance indexes), on every engine: the
 * rows written under the old indexes keep their meaning. An instance with finished terminations and a live
 * one still dedupes to the live one; finished rows never block a new hand-off; the instance filter finds
 * them all. Engines and PostgreSQL availability as in store.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { connect, dialectOf } from '../../src/store/connect.js';
import type { Engine } from '../../src/store/engine.js';
import { migrateSchema } from '../../src/store/migrate.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import type { Database, NewTerminationRow } from '../../src/store/schema.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { engineSkip } from '../helpers/for-each-engine.js';
import { freshDatabase } from '../helpers/fresh-database.js';
import { handOffRecord } from '../helpers/handoff-record.js';

const T0 = 1_750_000_000_000;

/** Applies the migrations before 004 only, as an older release left the database. */
async function migrateTo003(db: Kysely<Database>, engine: Engine): Promise<void> {
  const types = dialectOf(engine).schema;
  const before = Object.entries(MIGRATIONS).filter(([name]) => name < '004');
  const migrations: Record<string, Migration> = {};
  for (const [name, m] of before) migrations[name] = { up: (d) => m.up(d, types) };
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  if (error) throw error;
}

const row = (instanceId: string, region: string, live: boolean): NewTerminationRow => ({
  instance_id: instanceId,
  region,
  state: live ? 'pending' : 'terminated',
  step: 'terminate',
  due_at: T0,
  next_attempt_at: live ? T0 : null,
  lease_owner: null,
  attempts: 0,
  reason: null,
  project: 'shop',
  component: 'web',
  ip_address: null,
  user_data: null,
  requested_by: null,
  source_ip: null,
  user_agent: null,
  step_data: null,
  created_at: T0,
  updated_at: T0,
});

const handOff = (instanceIds: string[], region = 'us-east-1') => handOffRecord(instanceIds, T0 + 1000, { region, project: 'shop', component: 'web' });

/** The secondary indexes of the terminations table, by name. */
async function indexesOn(db: Kysely<Database>, engine: Engine): Promise<string[]> {
  const { rows } =
    engine === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'terminations' AND sql IS NOT NULL`.execute(db)
      : await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'terminations' AND indexname <> 'terminations_pkey'`.execute(db);
  return rows.map((r) => r.name).sort();
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = await engineSkip(engine);

  describe(`migration 004 on ${engine}`, { skip }, () => {
    test('rows written under the old indexes keep their meaning after the upgrade', async () => {
      const database = await freshDatabase(engine, 'm004');
      const c = await connect(database.url);
      try {
        await migrateTo003(c.db, c.engine);
        const A = 'i-0aaaaaaaaaaaaaaaa';
        const B = 'i-0bbbbbbbbbbbbbbbb';
        // A: two finished terminations and a live one; B: live in us-east-1.
        await c.db.insertInto('terminations').values([row(A, 'us-east-1', false), row(A, 'us-east-1', false), row(A, 'us-east-1', true), row(B, 'us-east-1', true)]).execute();
        const liveA = await c.db.selectFrom('terminations').select('id').where('instance_id', '=', A).where('next_attempt_at', 'is not', null).executeTakeFirstOrThrow();
        // As if an earlier start was killed half-way through 004 (SQLite commits each of its statements on
        // its own): the new index exists, the migration is not recorded. It must run again cleanly.
        await sql`CREATE UNIQUE INDEX terminations_instance_live ON terminations (instance_id, region, (CASE WHEN next_attempt_at IS NOT NULL THEN 1 END))`.execute(c.db);

        // 005 (the list orders' indexes) comes with it now.
        assert.deepEqual(await migrateSchema(c.db, c.dialect), ['004_one_instance_index', '005_list_orders']);
        assert.deepEqual(await indexesOn(c.db, c.engine), [
          'terminations_component_state', 'terminations_ended', 'terminations_instance_live', 'terminations_next_attempt', 'terminations_project_state', 'terminations_state', 'terminations_state_due',
        ]);
        const store = new SqlStore(c);

        const [a, b, bWest] = (await store.handOffs.recordHandOffs([handOff([A]), handOff([B]), handOff([B], 'us-west-2')], T0 + 1)).map((doc) => doc[0]);
        assert.equal(a!.duplicate, true, 'A is already live: the hand-off finds that row');
        assert.equal(a!.id, liveA.id);
        assert.equal(b!.duplicate, true);
        assert.equal(bWest!.duplicate, false, 'the same id in another region is another instance');

        // Finishing A's live termination lets a new hand-off of A schedule again, beside three finished rows.
        await c.db.updateTable('terminations').set({ state: 'terminated', next_attempt_at: null }).where('id', '=', liveA.id).execute();
        const again = (await store.handOffs.recordHandOffs([handOff([A])], T0 + 2))[0]![0];
        assert.equal(again!.duplicate, false);
        assert.ok(again!.id > liveA.id);
        assert.equal((await store.reads.list({ instanceId: A, limit: 10 })).rows.length, 4, 'the instance filter finds every termination of A');

        // Two live rows for one instance are still impossible at the database level.
        await assert.rejects(c.db.insertInto('terminations').values(row(A, 'us-east-1', true)).execute(), /unique|UNIQUE/);
      } finally {
        await c.close();
        await database.drop();
      }
    });
  });
}
