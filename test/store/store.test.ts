/**
 * The store contract, run against every engine: SQLite (one server per file) and PostgreSQL (replicas
 * sharing one database). Each engine gets a fresh database for this file; rows are cleared between tests.
 * Times are passed in (a fake clock), so leases expire by moving `now`, never by sleeping.
 *
 * Engines: DDSRV_TEST_STORE_ENGINES=sqlite,postgres (the default; CI runs both). PostgreSQL is the server
 * at DDSRV_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres); unreachable, its half skips
 * locally with a message and fails under CI=true.
 *
 * "Replica" below means a second connection (its own pool) to the same database on PostgreSQL; on SQLite,
 * which a single process holds, it is the same store used under another lease owner.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { connect } from '../../src/store/connect.js';
import type { Engine } from '../../src/store/engine.js';
import { migrateToLatest, SchemaTooNewError } from '../../src/store/migrate.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { TerminationStore, type HandOffRecord, type Outcome } from '../../src/store/store.js';
import { freshDatabase } from '../helpers/fresh-database.js';
import { postgresSkip } from '../helpers/postgres.js';

const ENGINES = (process.env.DDSRV_TEST_STORE_ENGINES ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
for (const e of ENGINES) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`DDSRV_TEST_STORE_ENGINES: unknown engine '${e}' (use sqlite, postgres)`);

/** A realistic clock value: beyond 2^31, so a 32-bit column or a bigint-as-string would show. */
const T0 = 1_750_000_000_000;
const LEASE = 30_000;

let serial = 0;
/** A fresh, valid-looking instance id. */
const iid = () => `i-${(0x10000000000000000n + BigInt(++serial) * 7919n).toString(16).slice(-17)}`;

function handOff(instanceIds: string[], over: Partial<HandOffRecord> = {}): HandOffRecord {
  return {
    region: 'us-east-1',
    instanceIds,
    ipAddress: null,
    project: 'shop',
    component: 'web',
    userData: null,
    requestedBy: null,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    dueAt: T0,
    firstStep: 'terminate',
    firstAttemptAt: T0,
    ...over,
  };
}

const outcome = (id: number, over: Partial<Outcome> = {}): Outcome => ({
  id,
  state: 'terminated',
  step: 'terminate',
  nextAttemptAt: null,
  attempts: 'keep',
  reason: null,
  event: 'terminate.ok',
  detail: null,
  ...over,
});

interface Harness {
  /** The first replica, used for setup and assertions. */
  store: TerminationStore;
  /** Another replica on the same database (see the file comment). */
  replica(): Promise<TerminationStore>;
  /** A raw second migration run, as a freshly started replica would do. */
  migrateAgain(): Promise<string[]>;
}

async function openHarness(engine: Engine): Promise<{ h: Harness; close(): Promise<void> }> {
  const extra: TerminationStore[] = [];
  const database = await freshDatabase(engine, 'store');
  const url = database.url;
  const c = await connect(url);
  const store = new TerminationStore(c.db, c.engine, c);
  assert.deepEqual(await migrateToLatest(c.db, c.engine), Object.keys(MIGRATIONS).sort(), 'a fresh database gets every migration');
  const h: Harness = {
    store,
    async replica() {
      if (engine === 'sqlite') return store;
      const other = await connect(url);
      const s = new TerminationStore(other.db, other.engine, other);
      extra.push(s);
      return s;
    },
    async migrateAgain() {
      if (engine === 'sqlite') return migrateToLatest(store.db, engine);
      const other = await connect(url);
      try {
        return await migrateToLatest(other.db, other.engine);
      } finally {
        await other.db.destroy();
      }
    },
  };
  return {
    h,
    async close() {
      for (const s of extra) await s.close();
      await store.close();
      await database.drop();
    },
  };
}

const pgSkip = ENGINES.includes('postgres') ? await postgresSkip() : false;

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = !ENGINES.includes(engine) ? `not in DDSRV_TEST_STORE_ENGINES (${ENGINES.join(',')})` : engine === 'postgres' ? pgSkip : false;

  describe(`store on ${engine}`, { skip }, () => {
    let h: Harness;
    let close: () => Promise<void>;
    let replicas: TerminationStore[] = [];
    const replica = async () => {
      const s = await h.replica();
      replicas.push(s);
      return s;
    };

    before(async () => {
      ({ h, close } = await openHarness(engine));
    });
    after(async () => {
      await close?.();
    });
    beforeEach(async () => {
      await h.store.db.deleteFrom('termination_history').execute();
      await h.store.db.deleteFrom('terminations').execute();
    });
    afterEach(async () => {
      // Replica connections are opened per test (PostgreSQL); SQLite's is the main store, kept open.
      for (const s of replicas) if (s !== h.store) await s.close();
      replicas = [];
    });

    describe('recording hand-offs', () => {
      test('new instances get one pending row each, with numbers (not strings) for ids and times', async () => {
        const ids = [iid(), iid()];
        const [scheduled] = await h.store.recordHandOffs([handOff(ids, { dueAt: T0 + 10_000, firstAttemptAt: T0 + 10_000 })], T0);
        assert.equal(scheduled!.length, 2);
        for (const [i, s] of scheduled!.entries()) {
          assert.equal(typeof s.id, 'number');
          assert.deepEqual({ ...s, id: 0 }, { id: 0, instance_id: ids[i], region: 'us-east-1', state: 'pending', due_at: T0 + 10_000, next_attempt_at: T0 + 10_000, duplicate: false });
        }
        const row = await h.store.get(scheduled![0]!.id);
        assert.equal(row?.next_attempt_at, T0 + 10_000);
        assert.equal(row?.created_at, T0);
        assert.equal(row?.lease_owner, null);
        assert.equal(row?.attempts, 0);
        assert.equal(await h.store.countLive(), 2);
      });

      test('a repeated hand-off finds the live row: same id, duplicate, nothing new scheduled', async () => {
        const id = iid();
        const first = (await h.store.recordHandOffs([handOff([id])], T0))[0]![0]!;
        const again = (await h.store.recordHandOffs([handOff([id], { dueAt: T0 + 99_000 })], T0 + 5))[0]![0]!;
        assert.equal(again.id, first.id);
        assert.equal(again.duplicate, true);
        assert.equal(again.due_at, T0, 'the original schedule stands');
        assert.equal(await h.store.countLive(), 1);
      });

      test('the same instance twice in one group commit: one row, both documents answered with it', async () => {
        const id = iid();
        const [a, b] = await h.store.recordHandOffs([handOff([id]), handOff([id, iid()])], T0);
        assert.equal(a![0]!.id, b![0]!.id);
        assert.deepEqual([a![0]!.duplicate, b![0]!.duplicate], [false, true], 'the second document is told it repeats');
        assert.equal(await h.store.countLive(), 2);
      });

      test('the same id in another region is another instance; a final row does not block a new hand-off', async () => {
        const id = iid();
        const east = (await h.store.recordHandOffs([handOff([id])], T0))[0]![0]!;
        const west = (await h.store.recordHandOffs([handOff([id], { region: 'eu-west-1' })], T0))[0]![0]!;
        assert.notEqual(west.id, east.id);
        assert.equal(west.duplicate, false);
        const [claimed] = await h.store.claimDue('w', T0, LEASE, 10).then((rows) => rows.filter((r) => r.id === east.id));
        assert.ok(claimed);
        await h.store.applyOutcomes('w', [outcome(east.id)], T0 + 1);
        const next = (await h.store.recordHandOffs([handOff([id])], T0 + 2))[0]![0]!;
        assert.notEqual(next.id, east.id, 'a new termination once the old one is final');
        assert.equal(next.duplicate, false);
      });

      test('replicas recording the same instances at the same moment schedule each once', async () => {
        const [b, c] = [await replica(), await replica()];
        const ids = Array.from({ length: 60 }, iid);
        const results = await Promise.all(
          [h.store, b, c].flatMap((s) => [0, 1].map(() => s.recordHandOffs(ids.map((id) => handOff([id])), T0))),
        );
        const idsByInstance = new Map<string, Set<number>>();
        for (const docs of results) for (const [s] of docs) idsByInstance.set(s!.instance_id, (idsByInstance.get(s!.instance_id) ?? new Set()).add(s!.id));
        assert.equal(idsByInstance.size, 60);
        for (const [instance, rowIds] of idsByInstance) assert.equal(rowIds.size, 1, `${instance} got rows ${[...rowIds]}`);
        assert.equal(await h.store.countLive(), 60);
        const fresh = results.flat().filter(([s]) => !s!.duplicate).length;
        assert.equal(fresh, 60, 'exactly one caller per instance saw it as new');
      });
      test('replicas recording overlapping instances in opposite orders do not deadlock', async () => {
        const b = await replica();
        for (let round = 0; round < 5; round++) {
          const ids = Array.from({ length: 200 }, iid);
          const reversed = [...ids].reverse();
          const [x, y] = await Promise.all([
            h.store.recordHandOffs(ids.map((id) => handOff([id])), T0),
            b.recordHandOffs(reversed.map((id) => handOff([id])), T0),
          ]);
          assert.equal(x.length + y.length, 400);
        }
        assert.equal(await h.store.countLive(), 1000);
      });
    });

    describe('claiming with leases', () => {
      test('claims only due rows, oldest first, up to the limit, under the owner until now + lease', async () => {
        const due = await h.store.recordHandOffs(
          [0, 1, 2].map((i) => handOff([iid()], { firstAttemptAt: T0 - 1000 + i })),
          T0 - 5000,
        );
        await h.store.recordHandOffs([handOff([iid()], { dueAt: T0 + 1, firstAttemptAt: T0 + 1 })], T0 - 5000);
        const claimed = await h.store.claimDue('a', T0, LEASE, 2);
        assert.deepEqual(claimed.map((r) => r.id).sort(), [due[0]![0]!.id, due[1]![0]!.id].sort());
        for (const r of claimed) {
          assert.equal(r.lease_owner, 'a');
          assert.equal(r.next_attempt_at, T0 + LEASE);
          assert.equal(typeof r.next_attempt_at, 'number');
        }
        const rest = await h.store.claimDue('a', T0, LEASE, 10);
        assert.deepEqual(rest.map((r) => r.id), [due[2]![0]!.id], 'the not-yet-due row stays');
      });

      test('a held row is not claimed by another replica until its lease expires; then it is taken over', async () => {
        const b = await replica();
        const s = (await h.store.recordHandOffs([handOff([iid()])], T0))[0]![0]!;
        assert.equal((await h.store.claimDue('a', T0, LEASE, 10)).length, 1);
        assert.deepEqual(await b.claimDue('b', T0 + LEASE - 1, LEASE, 10), [], 'still leased to a');
        const taken = await b.claimDue('b', T0 + LEASE, LEASE, 10);
        assert.deepEqual(taken.map((r) => [r.id, r.lease_owner, r.next_attempt_at]), [[s.id, 'b', T0 + 2 * LEASE]]);
        // The replica that lost the lease cannot settle, extend or move the row any more.
        assert.deepEqual(await h.store.applyOutcomes('a', [outcome(s.id, { state: 'failed', event: 'x' })], T0 + LEASE + 1), []);
        assert.deepEqual(await h.store.enterState('a', [s.id], 'terminating', 'terminate.started', T0 + LEASE + 1), []);
        await h.store.extendLeases('a', [s.id], T0 + 10 * LEASE);
        assert.equal((await h.store.get(s.id))?.next_attempt_at, T0 + 2 * LEASE);
        assert.equal(await h.store.releaseLeases('a', T0 + LEASE + 2), 0);
        assert.deepEqual(await b.applyOutcomes('b', [outcome(s.id)], T0 + LEASE + 3), [s.id]);
        const row = await h.store.get(s.id);
        assert.deepEqual([row?.state, row?.next_attempt_at, row?.lease_owner], ['terminated', null, null]);
        assert.deepEqual((await h.store.history(s.id)).map((e) => e.event), ['terminate.ok'], 'no history from the loser');
      });

      test('replicas claiming at the same moment never get the same row (SKIP LOCKED on PostgreSQL)', async () => {
        const stores = [h.store, await replica(), await replica()];
        const n = 300;
        const ids = Array.from({ length: n }, iid);
        await h.store.recordHandOffs(ids.map((id) => handOff([id])), T0 - 1);
        const claims = new Map<number, string>();
        await Promise.all(
          stores.map(async (s, k) => {
            const owner = `r${k}`;
            for (;;) {
              const rows = await s.claimDue(owner, T0, LEASE, 17);
              if (rows.length === 0) return;
              for (const r of rows) {
                assert.equal(claims.get(r.id), undefined, `row ${r.id} claimed by ${claims.get(r.id)} and ${owner}`);
                claims.set(r.id, owner);
              }
            }
          }),
        );
        assert.equal(claims.size, n);
        const owners = await h.store.db.selectFrom('terminations').select(['id', 'lease_owner']).execute();
        for (const o of owners) assert.equal(o.lease_owner, claims.get(o.id));
      });

      test("one replica's claim batches hand-offs that other replicas accepted", async () => {
        const [b, c] = [await replica(), await replica()];
        const fromA = await h.store.recordHandOffs([handOff([iid(), iid()])], T0);
        const fromB = await b.recordHandOffs([handOff([iid()])], T0);
        const fromC = await c.recordHandOffs([handOff([iid()])], T0);
        const claimed = await c.claimDue('c', T0, LEASE, 100);
        const expected = [...fromA, ...fromB, ...fromC].flat().map((s) => s.id).sort();
        assert.deepEqual(claimed.map((r) => r.id).sort(), expected);
      });

      test('extendLeases pushes only the owner\'s rows; releaseLeases gives them back, due now', async () => {
        const recs = await h.store.recordHandOffs([handOff([iid()]), handOff([iid()]), handOff([iid()])], T0);
        const [x, y, z] = recs.map((r) => r[0]!.id) as [number, number, number];
        await h.store.claimDue('a', T0, LEASE, 2); // x, y (same next_attempt_at: either order)
        const heldByA = (await h.store.list({ limit: 10 })).filter((r) => r.lease_owner === 'a').map((r) => r.id);
        assert.equal(heldByA.length, 2);
        await h.store.claimDue('b', T0, LEASE, 10); // the third one
        await h.store.extendLeases('a', [x, y, z], T0 + 5 * LEASE);
        for (const id of [x, y, z]) {
          const r = await h.store.get(id);
          assert.equal(r?.next_attempt_at, r?.lease_owner === 'a' ? T0 + 5 * LEASE : T0 + LEASE, `row ${id}`);
        }
        assert.equal(await h.store.releaseLeases('a', T0 + 7), 2);
        for (const id of heldByA) assert.deepEqual(await h.store.get(id).then((r) => [r?.lease_owner, r?.next_attempt_at]), [null, T0 + 7]);
        assert.equal((await h.store.list({ limit: 10 })).filter((r) => r.lease_owner === 'b').length, 1, "b's lease is untouched");
      });

      test('releaseAllLeases (SQLite start-up) frees every live lease and leaves final rows final', async () => {
        const recs = await h.store.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
        const [x, y] = recs.map((r) => r[0]!.id) as [number, number];
        await h.store.claimDue('gone', T0, LEASE, 10);
        await h.store.applyOutcomes('gone', [outcome(y)], T0 + 1);
        assert.equal(await h.store.releaseAllLeases(T0 + 2), 1);
        assert.deepEqual(await h.store.get(x).then((r) => [r?.lease_owner, r?.next_attempt_at]), [null, T0 + 2]);
        assert.deepEqual(await h.store.get(y).then((r) => [r?.state, r?.next_attempt_at]), ['terminated', null]);
      });
    });

    describe('settling work', () => {
      test('applyOutcomes: per-row decisions, attempts reset/increment/keep, history, lease released', async () => {
        const recs = await h.store.recordHandOffs([0, 1, 2, 3].map(() => handOff([iid()])), T0);
        const [ok, retry1, retry2, reset] = recs.map((r) => r[0]!.id) as [number, number, number, number];
        await h.store.db.updateTable('terminations').set({ attempts: 2 }).where('id', 'in', [retry1, retry2, reset]).execute();
        await h.store.claimDue('a', T0, LEASE, 10);
        const settled = await h.store.applyOutcomes(
          'a',
          [
            outcome(ok),
            outcome(retry1, { state: 'terminating', nextAttemptAt: T0 + 4000, attempts: 'increment', reason: 'throttled', event: 'terminate.retry', detail: 'slow down' }),
            outcome(retry2, { state: 'terminating', nextAttemptAt: T0 + 4000, attempts: 'increment', reason: 'throttled', event: 'terminate.retry', detail: 'slow down' }),
            outcome(reset, { state: 'draining', step: 'drain', nextAttemptAt: T0 + 100, attempts: 'reset', event: 'detach.ok' }),
          ],
          T0 + 10,
        );
        assert.deepEqual(settled.sort(), [ok, retry1, retry2, reset].sort());
        const rows = new Map((await h.store.list({ limit: 10 })).map((r) => [r.id, r]));
        const view = (id: number) => {
          const r = rows.get(id)!;
          return [r.state, r.step, r.next_attempt_at, r.attempts, r.lease_owner, r.reason, r.updated_at];
        };
        assert.deepEqual(view(ok), ['terminated', 'terminate', null, 0, null, null, T0 + 10]);
        assert.deepEqual(view(retry1), ['terminating', 'terminate', T0 + 4000, 3, null, 'throttled', T0 + 10]);
        assert.deepEqual(view(retry2), ['terminating', 'terminate', T0 + 4000, 3, null, 'throttled', T0 + 10]);
        assert.deepEqual(view(reset), ['draining', 'drain', T0 + 100, 0, null, null, T0 + 10]);
        const hist = await h.store.history(retry1);
        assert.deepEqual(hist.map((e) => [e.event, e.state, e.step, e.detail, e.at]), [['terminate.retry', 'terminating', 'terminate', 'slow down', T0 + 10]]);
        assert.equal(await h.store.countLive(), 3);
      });

      test('applyOutcomes only settles rows the owner holds', async () => {
        const recs = await h.store.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
        const [mine, theirs] = recs.map((r) => r[0]!.id) as [number, number];
        await h.store.db.updateTable('terminations').set({ lease_owner: 'a', next_attempt_at: T0 + LEASE }).where('id', '=', mine).execute();
        await h.store.db.updateTable('terminations').set({ lease_owner: 'b', next_attempt_at: T0 + LEASE }).where('id', '=', theirs).execute();
        assert.deepEqual(await h.store.applyOutcomes('a', [outcome(mine), outcome(theirs)], T0 + 1), [mine]);
        assert.equal((await h.store.get(theirs))?.state, 'pending');
        assert.deepEqual(await h.store.history(theirs), []);
        assert.deepEqual(await h.store.applyOutcomes('a', [], T0 + 1), []);
      });

      test('enterState moves only held rows and records the event', async () => {
        const recs = await h.store.recordHandOffs([handOff([iid()]), handOff([iid()])], T0);
        const [mine, free] = recs.map((r) => r[0]!.id) as [number, number];
        await h.store.db.updateTable('terminations').set({ lease_owner: 'a' }).where('id', '=', mine).execute();
        assert.deepEqual(await h.store.enterState('a', [mine, free], 'terminating', 'terminate.started', T0 + 3), [mine]);
        assert.deepEqual(await h.store.get(mine).then((r) => [r?.state, r?.updated_at, r?.lease_owner]), ['terminating', T0 + 3, 'a']);
        assert.equal((await h.store.get(free))?.state, 'pending');
        assert.deepEqual((await h.store.history(mine)).map((e) => [e.event, e.state, e.at]), [['terminate.started', 'terminating', T0 + 3]]);
      });

      test('large batches (over one statement chunk) are claimed and settled whole', async () => {
        const n = 1200;
        await h.store.recordHandOffs(Array.from({ length: n }, () => handOff([iid()])), T0);
        const claimed = await h.store.claimDue('a', T0, LEASE, 2000);
        assert.equal(claimed.length, n);
        const held = await h.store.enterState('a', claimed.map((r) => r.id), 'terminating', 'terminate.started', T0 + 1);
        assert.equal(held.length, n);
        const settled = await h.store.applyOutcomes('a', claimed.map((r) => outcome(r.id)), T0 + 2);
        assert.equal(settled.length, n);
        assert.equal(await h.store.countLive(), 0);
      });
    });

    describe('reading', () => {
      test('list: newest first, keyset paging by id, filters', async () => {
        const recs = await h.store.recordHandOffs(
          [0, 1, 2, 3, 4].map((i) => handOff([iid()], { component: i % 2 === 0 ? 'web' : 'worker', project: i < 4 ? 'shop' : 'blog' })),
          T0,
        );
        const ids = recs.map((r) => r[0]!.id);
        const page1 = await h.store.list({ limit: 2 });
        assert.deepEqual(page1.map((r) => r.id), [ids[4], ids[3]]);
        const page2 = await h.store.list({ limit: 2, beforeId: page1.at(-1)!.id });
        assert.deepEqual(page2.map((r) => r.id), [ids[2], ids[1]]);
        const page3 = await h.store.list({ limit: 2, beforeId: page2.at(-1)!.id });
        assert.deepEqual(page3.map((r) => r.id), [ids[0]]);
        assert.deepEqual((await h.store.list({ limit: 10, component: 'worker' })).map((r) => r.id), [ids[3], ids[1]]);
        assert.deepEqual((await h.store.list({ limit: 10, project: 'blog' })).map((r) => r.id), [ids[4]]);
        const one = (await h.store.get(ids[2]!))!;
        assert.deepEqual((await h.store.list({ limit: 10, instanceId: one.instance_id })).map((r) => r.id), [ids[2]]);
        await h.store.claimDue('a', T0, LEASE, 1);
        await h.store.applyOutcomes('a', [outcome(ids[0]!)], T0 + 1);
        assert.deepEqual((await h.store.list({ limit: 10, state: 'terminated' })).map((r) => r.id), [ids[0]]);
        assert.deepEqual((await h.store.list({ limit: 10, state: 'pending', beforeId: ids[3] })).map((r) => r.id), [ids[2], ids[1]]);
        assert.equal(await h.store.get(999_999_999), undefined);
      });

      test('countLive and nextWake follow live rows only', async () => {
        assert.equal(await h.store.countLive(), 0);
        assert.equal(await h.store.nextWake(), null);
        const recs = await h.store.recordHandOffs(
          [handOff([iid()], { firstAttemptAt: T0 + 500 }), handOff([iid()], { firstAttemptAt: T0 + 200 })],
          T0,
        );
        assert.equal(await h.store.countLive(), 2);
        assert.equal(await h.store.nextWake(), T0 + 200);
        const [claimed] = await h.store.claimDue('a', T0 + 200, LEASE, 1);
        assert.equal(claimed?.id, recs[1]![0]!.id);
        assert.equal(await h.store.nextWake(), T0 + 500, 'the lease expiry is later than the other row');
        await h.store.applyOutcomes('a', [outcome(claimed!.id)], T0 + 201);
        assert.equal(await h.store.countLive(), 1);
        assert.equal(await h.store.nextWake(), T0 + 500);
      });
    });

    describe('schema', () => {
      test('migrating again changes nothing', async () => {
        assert.deepEqual(await h.migrateAgain(), []);
      });

      test('a database with migrations this version does not know is refused', async () => {
        await sql`insert into kysely_migration (name, timestamp) values ('999_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(h.store.db);
        try {
          await assert.rejects(h.migrateAgain(), (err: Error) => {
            assert.ok(err instanceof SchemaTooNewError, `${err.name}: ${err.message}`);
            assert.match(err.message, /newer than this ddsrv.*999_from_the_future/);
            return true;
          });
        } finally {
          await sql`delete from kysely_migration where name = '999_from_the_future'`.execute(h.store.db);
        }
      });
    });
  });
}
