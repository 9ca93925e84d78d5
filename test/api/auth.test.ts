import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';

const TOKEN = 'a-test-token-of-decent-length';
let svc: TestService;
before(async () => {
  svc = await testService({ authToken: TOKEN });
});
after(() => svc.close());

const handOff = (headers: Record<string, string>, id: string) =>
  svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...headers }, payload: { ec2_instance_id: id } });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('the health check stays open', async () => {
  assert.equal((await svc.app.inject({ method: 'GET', url: '/delayed-termination' })).statusCode, 200);
});

test('missing or wrong credentials get 401 and nothing is recorded', async () => {
  const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: basic('skopos', 'nope') }, { authorization: 'Token x' }, { authorization: 'Basic !!!' }];
  for (const headers of attempts) {
    const res = await handOff(headers, 'i-0000000000000f001');
    assert.equal(res.statusCode, 401, JSON.stringify(headers));
    assert.equal(res.json().error, 'unauthorized');
  }
  assert.equal(await svc.store.reads.countLive(), 0);
});

test('the token works as a Bearer token and as a Basic password, and the principal is kept', async () => {
  const bearer = await handOff({ authorization: `Bearer ${TOKEN}` }, 'i-0000000000000f002');
  assert.equal(bearer.statusCode, 200);
  const viaBasic = await handOff({ authorization: basic('skopos', TOKEN) }, 'i-0000000000000f003');
  assert.equal(viaBasic.statusCode, 200);
  assert.equal((await rowOf(svc.store, bearer.json().terminations[0].id))?.requested_by, 'bearer');
  assert.equal((await rowOf(svc.store, viaBasic.json().terminations[0].id))?.requested_by, 'basic:skopos');
});
