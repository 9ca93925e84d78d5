/**
 * The operator API and the notification outbox on PostgreSQL (shared state for replicas): the migration's
 * indexes, listing with filters and cursors, cancel/expedite with their conflicts. The outbox and the
 * list's query plans are in the store contract on both engines (test/store/contract/).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
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
});
