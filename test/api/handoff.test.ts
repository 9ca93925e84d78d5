/** The hand-off endpoint through Fastify's inject(), on a real SQLite store. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';

const ID = 'i-0123456789abcdef0';
let svc: TestService;
before(async () => {
  svc = await testService({ delay: '10s' });
});
after(() => svc.close());

const post = (payload: unknown, headers: Record<string, string> = json) =>
  svc.app.inject({ method: 'POST', url: '/delayed-termination', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

async function liveCount(): Promise<number> {
  return svc.store.reads.countLive();
}

test('GET /delayed-termination is a 2xx health check needing no credentials', async () => {
  const res = await svc.app.inject({ method: 'GET', url: '/delayed-termination' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/plain/);
  const head = await svc.app.inject({ method: 'HEAD', url: '/delayed-termination' });
  assert.equal(head.statusCode, 200);
});

test('a documented hand-off is recorded before the 2xx, with its due time and fields', async () => {
  const before = Date.now();
  const res = await post({ ec2_region: 'eu-west-1', ec2_instance_id: ID, ip_address: '10.1.2.3', project: 'shop', component: 'web', user_data: { k: 'v' }, extra: 1 });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.accepted, 1);
  const t = body.terminations[0];
  assert.equal(t.instance_id, ID);
  assert.equal(t.region, 'eu-west-1');
  assert.equal(t.state, 'pending');
  assert.equal(t.already_scheduled, false);
  const due = Date.parse(t.due_at);
  assert.ok(due >= before + 10_000 && due <= Date.now() + 10_000);
  const row = await rowOf(svc.store, t.id);
  assert.equal(row?.project, 'shop');
  assert.equal(row?.component, 'web');
  assert.equal(row?.ip_address, '10.1.2.3');
  assert.equal(row?.user_data, '{"k":"v"}');
  assert.equal(row?.user_agent, 'lightMyRequest');
});

test('a repeated hand-off is 2xx and schedules nothing new', async () => {
  const id = 'i-00000000000000aaa';
  const first = await post({ ec2_instance_id: id });
  const count = await liveCount();
  const again = await post({ ec2_instance_ids: [id] });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().terminations[0].already_scheduled, true);
  assert.equal(again.json().terminations[0].id, first.json().terminations[0].id);
  assert.equal(await liveCount(), count);
});

test('the same instance in another region is another termination', async () => {
  const a = await post({ ec2_instance_id: 'i-00000000000000bbb', ec2_region: 'us-west-2' });
  const b = await post({ ec2_instance_id: 'i-00000000000000bbb', ec2_region: 'eu-west-1' });
  assert.notEqual(a.json().terminations[0].id, b.json().terminations[0].id);
});

test('concurrent hand-offs are all recorded (group commit) and duplicates collapse', async () => {
  const ids = Array.from({ length: 200 }, (_, i) => `i-${(0x1000 + i).toString(16).padStart(17, '0')}`);
  const count = await liveCount();
  const responses = await Promise.all([...ids, ...ids.slice(0, 50)].map((id) => post({ ec2_instance_id: id })));
  assert.ok(responses.every((r) => r.statusCode === 200));
  assert.equal(await liveCount(), count + 200);
});

test('a list of ids is accepted whole', async () => {
  const ids = ['i-0000000000000c001', 'i-0000000000000c002', 'i-0000000c'];
  const res = await post({ ec2_instance_ids: ids, component: 'worker' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().terminations.map((t: { instance_id: string }) => t.instance_id), ids);
});

test('malformed requests get a 4xx JSON error and schedule nothing', async () => {
  const cases: [unknown, Record<string, string> | undefined, number, string][] = [
    [{ ec2_instance_ids: ['i-0000000000000d001', 'i-bad'] }, json, 400, 'invalid_instance_id'],
    [{ ec2_instance_id: 'i-0000000000000d002', ec2_region: 'mars-north-1' }, json, 400, 'invalid_region'],
    [{ ec2_instance_id: 42 }, json, 400, 'invalid_instance_id'],
    [{ ec2_instance_ids: [] }, json, 400, 'empty_instance_ids'],
    [{}, json, 400, 'missing_instance_id'],
    [[{ ec2_instance_id: 'i-0000000000000d003' }], json, 400, 'invalid_document'],
    ['"i-0000000000000d004"', json, 400, 'invalid_document'],
    ['null', json, 400, 'invalid_document'],
    ['{"ec2_instance_id": "i-0000000000000d005"', json, 400, 'invalid_json'],
    ['', json, 400, 'empty_body'],
    ['{"__proto__": {"ec2_instance_id": "i-0000000000000d006"}}', json, 400, 'forbidden_key'],
    ['{"constructor": {"prototype": {"x": 1}}, "ec2_instance_id": "i-0000000000000d007"}', json, 400, 'forbidden_key'],
    [{ ec2_instance_id: 'i-0000000000000d008' }, { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    [{ ec2_instance_id: 'i-0000000000000d009' }, { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    [{ ec2_instance_id: 'i-0000000000000d00a' }, {}, 415, 'unsupported_media_type'],
  ];
  const count = await liveCount();
  for (const [payload, headers, status, code] of cases) {
    const res = await post(payload, headers);
    assert.equal(res.statusCode, status, `${JSON.stringify(payload)} -> ${res.body}`);
    const body = res.json();
    assert.equal(body.error, code, res.body);
    assert.ok(typeof body.message === 'string' && body.message.length > 10, res.body);
    assert.doesNotMatch(res.body, /at .*\.(ts|js):\d+/, 'no stack traces');
  }
  assert.equal(await liveCount(), count);
});

test('1,001 ids are refused, 1,000 accepted', async () => {
  const ids = Array.from({ length: 1001 }, (_, i) => `i-${(0x20000 + i).toString(16).padStart(17, '0')}`);
  const big = await post({ ec2_instance_ids: ids });
  assert.equal(big.statusCode, 400);
  assert.equal(big.json().error, 'too_many_instance_ids');
  const ok = await post({ ec2_instance_ids: ids.slice(0, 1000) });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().accepted, 1000);
});

test('a body over the limit gets 413', async () => {
  const res = await post({ ec2_instance_id: 'i-0000000000000e001', user_data: 'x'.repeat(1024 * 1024 + 10) });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().error, 'body_too_large');
});

test('unknown paths are 404 and other methods 405, as JSON', async () => {
  const nf = await svc.app.inject({ method: 'GET', url: '/nope' });
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.json().error, 'not_found');
  for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
    const res = await svc.app.inject({ method, url: '/delayed-termination' });
    assert.equal(res.statusCode, 405, method);
    assert.equal(res.json().error, 'method_not_allowed');
    assert.match(res.headers.allow as string, /POST/);
  }
});
