/**
 * The SQLite hand-off path (src/store/sqlite-handoffs.ts, HandOffRecorder in record-handoffs.ts), against a real
 * SQLite file: a group is recorded whole or not at all, it is not reported recorded before the log's
 * fsync, and it refuses to run inside a transaction someone left open (where it would become a savepoint
 * with no commit of its own).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { sql } from 'kysely';
import { openSqlStore } from '../../src/store/open.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { freshDatabase } from '../helpers/fresh-database.js';
import { handOffRecord } from '../helpers/handoff-record.js';

const T0 = 1_750_000_000_000;
const BAD = 'i-0bad0bad0bad0bad0';

const handOff = (instanceId: string) => handOffRecord([instanceId], T0);

describe('SQLite hand-off writes', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let store: SqlStore;
  const db = () => store.connection.db;
  const count = async () => Number((await db().selectFrom('terminations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  before(async () => {
    database = await freshDatabase('sqlite', 'sqlitehandoffs');
    store = await openSqlStore({ database: database.url });
    // One instance id the database refuses, as a full disk or a constraint would, in the middle of a group.
    await sql.raw(`CREATE TRIGGER refuse_bad BEFORE INSERT ON terminations WHEN NEW.instance_id = '${BAD}' BEGIN SELECT RAISE(ABORT, 'refused'); END`).execute(db());
  });
  after(async () => {
    await store.close();
    await database.drop();
  });
  beforeEach(async () => {
    await db().deleteFrom('terminations').execute();
  });

  test('a row that fails takes its whole group with it', async () => {
    await assert.rejects(store.handOffs.recordHandOffs([handOff('i-0000000000000aaa1'), handOff(BAD), handOff('i-0000000000000aaa2')], T0), /refused/);
    assert.equal(await count(), 0, 'nothing of the group is kept');
    const ok = (await store.handOffs.recordHandOffs([handOff('i-0000000000000aaa1')], T0))[0]![0]!;
    assert.equal(ok.duplicate, false, 'the connection is usable afterwards, and the first instance was never recorded');
  });

  test('a group is reported recorded only after the log is on disk', async () => {
    let flushed!: () => void;
    let syncs = 0;
    const slowDisk = new SqlStore({
      ...store.connection,
      afterCommit: () => {
        syncs += 1;
        return new Promise<void>((resolve) => (flushed = resolve));
      },
    });
    let settled = false;
    const recording = slowDisk.handOffs.recordHandOffs([handOff('i-0000000000000bbb1')], T0).finally(() => (settled = true));
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(syncs, 1, 'the fsync was asked for');
    assert.equal(settled, false, 'not reported before the fsync finished');
    flushed();
    assert.equal((await recording)[0]![0]!.duplicate, false);
  });

  test('refuses to write inside a transaction left open on the connection', async () => {
    await sql`BEGIN`.execute(db());
    try {
      await assert.rejects(store.handOffs.recordHandOffs([handOff('i-0000000000000ccc1')], T0), /transaction was left open/);
    } finally {
      await sql`ROLLBACK`.execute(db());
    }
    assert.equal(await count(), 0);
  });
});
