/**
 * The operator API and the notification outbox on PostgreSQL (shared state for replicas): the migration's
 * indexes, listing with filters and cursors, cancel/expedite with their conflicts, the outbox written with
 * the transition and claimed by one replica only, and the list's query plans.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { resolveServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Outbox, outboxWriter } from '../../src/notify/outbox.js';
import { createService, type Service } from '../../src/server.js';
import { createTestDatabase, postgresSkip, queryDatabase, type TestDatabase } from '../helpers/postgres.js';
import { json } from '../helpers/service.js';

const skip = await postgresSkip();
const TOKEN = 'pg-operator-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('operator API on PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let svc: Service;
  before(async () => {
    db = await createTestDatabase('operator');
    svc = await createService(resolveServeConfig({ database: db.url, logLevel: 'silent', authToken: TOKEN, delay: '1h' }, {}), createLogger('silent'));
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  const handOff = async (ids: string[], project: string, component: string) => {
    const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: ids, project, component } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().terminations.map((t: { id: number }) => t.id) as number[];
  };
  const get = (url: string) => svc.app.inject({ method: 'GET', url, headers: auth });
  const post = (url: string) => svc.app.inject({ method: 'POST', url, headers: { ...auth, ...json }, payload: {} });

  test('the migration made its indexes and the outbox table', async () => {
    const indexes = (await queryDatabase<{ indexname: string }>(db.url, "select indexname from pg_indexes where tablename in ('terminations', 'notification_outbox')")).map((r) => r.indexname);
    for (const name of ['terminations_project_state', 'terminations_component_state', 'notification_outbox_once', 'notification_outbox_due']) assert.ok(indexes.includes(name), name);
  });

  test('list, filters, cursor, show, cancel, expedite and conflicts', async () => {
    const shop = await handOff(['i-0000000000000f101', 'i-0000000000000f102', 'i-0000000000000f103'], 'shop', 'web');
    const blog = await handOff(['i-0000000000000f201'], 'blog', 'worker');
    const first = (await get('/api/v1/terminations?limit=2')).json();
    assert.deepEqual(first.items.map((t: { id: number }) => t.id), [blog[0], shop[2]]);
    const second = (await get(`/api/v1/terminations?limit=2&cursor=${first.next}`)).json();
    assert.deepEqual(second.items.map((t: { id: number }) => t.id), [shop[1], shop[0]]);
    assert.equal(second.next, null);
    assert.equal((await get('/api/v1/terminations?project=shop&state=pending,draining')).json().items.length, 3);
    assert.equal((await get('/api/v1/terminations?component=worker')).json().items[0].instance_id, 'i-0000000000000f201');
    assert.equal((await get('/api/v1/terminations?instance_id=i-0000000000000f102')).json().items[0].id, shop[1]);
    assert.equal(typeof first.items[0].id, 'number', 'bigint ids come back as numbers');

    const cancelled = await post(`/api/v1/terminations/${shop[0]}/cancel`);
    assert.equal(cancelled.json().state, 'cancelled');
    assert.equal((await post(`/api/v1/terminations/${shop[0]}/cancel`)).statusCode, 409);
    const expedited = (await post(`/api/v1/terminations/${shop[1]}/expedite`)).json();
    assert.ok(Date.parse(expedited.due_at) <= Date.now());
    assert.deepEqual(expedited.history.map((h: { event: string }) => h.event), ['accepted', 'expedited']);
    const detail = (await get(`/api/v1/terminations/${shop[0]}`)).json();
    assert.equal(detail.history.at(-1).event, 'cancelled');
  });

  test('the outbox is written with the transition, once per state, and one replica claims each row', async () => {
    svc.store.onHistory = outboxWriter(new Set(['cancelled']));
    try {
      const [id] = await handOff(['i-0000000000000f301'], 'shop', 'web');
      assert.equal((await post(`/api/v1/terminations/${id}/cancel`)).statusCode, 200);
      await svc.store.db.transaction().execute((trx) => svc.store.insertHistory(trx, [{ termination_id: id!, at: Date.now(), state: 'cancelled', step: null, event: 'again', detail: null }]));
      const rows = await svc.store.db.selectFrom('notification_outbox').selectAll().where('termination_id', '=', id!).execute();
      assert.equal(rows.length, 1);
      const outbox = new Outbox(svc.store.db, 'postgres');
      const [a, b] = await Promise.all([outbox.claimDue('replica-a', Date.now(), 30_000, 10), outbox.claimDue('replica-b', Date.now(), 30_000, 10)]);
      assert.equal(a.length + b.length, 1, 'exactly one replica got it');
      const claimed = [...a, ...b][0]!;
      assert.equal(claimed.termination.instance_id, 'i-0000000000000f301');
      assert.equal(typeof claimed.id, 'number');
    } finally {
      svc.store.onHistory = undefined;
    }
  });

  test('list queries use the indexes (no sort of the table)', async () => {
    // One connection of the pool for the setting and the plans. The test table is tiny: ask which index would serve.
    await svc.store.db.connection().execute(async (conn) => {
      await sql`set enable_seqscan = off`.execute(conn);
      const plan = async (text: string) => (await sql.raw<{ 'QUERY PLAN': string }>(`explain ${text}`).execute(conn)).rows.map((r) => r['QUERY PLAN']).join('\n');
      const p1 = await plan("select id from terminations where project = 'shop' and state = 'pending' order by id desc limit 51");
      assert.match(p1, /terminations_project_state/);
      assert.doesNotMatch(p1, /Sort/);
      const p2 = await plan("select id from terminations where component = 'web' and state = 'failed' and id < 100 order by id desc limit 51");
      assert.match(p2, /terminations_component_state/);
      assert.doesNotMatch(p2, /Sort/);
      await sql`reset enable_seqscan`.execute(conn);
    });
  });
});
