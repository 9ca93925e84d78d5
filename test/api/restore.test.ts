/**
 * Cancel with restore through the operator API (inject, a real SQLite file, no worker running): the
 * decision the route records, the conflicts, a plain cancel unchanged, the OpenAPI body, the metrics.
 * The restore steps themselves: test/worker/restore*.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseNotifyConfig } from '../../src/notify/config.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { forceRow } from '../helpers/store-tables.js';

const TOKEN = 'restore-api-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0ecf831eec9f09';
let svc: TestService;
let seq = 0x5000;
const nextId = () => `i-${(seq++).toString(16).padStart(17, '0')}`;

before(async () => {
  svc = await testService({ authToken: TOKEN, delay: '1h' });
});
after(() => svc.close());

async function handOff(): Promise<number> {
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_id: nextId() } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().terminations[0].id;
}
const post = (url: string, payload: unknown = {}) => svc.app.inject({ method: 'POST', url, headers: { ...auth, ...json }, payload: payload as object });
const drained = (now: number) => ({
  asg: { group: 'web-asg', lifecycle: 'InService', detached: true, classic: [], targetGroups: [] },
  lb: { targets: [{ arn: TG, port: 8080 }], classic: ['legacy-elb'], startedAt: now, deadline: now + 600_000 },
  hook: { attempts: 1, inFlightSince: null, lastStatus: 200, lastError: null, result: 'ok' },
});

describe('cancel with restore', () => {
  test('a drained instance: restoring at the first restore step, due now; the history says what is put back and that the hook is not undone', async () => {
    const id = await handOff();
    const now = Date.now();
    await forceRow(svc.store, id, { state: 'draining', step: 'terminate', step_data: JSON.stringify(drained(now)) });
    const res = await post(`/api/v1/terminations/${id}/cancel`, { restore: true, reason: 'rollback' });
    assert.equal(res.statusCode, 200, res.body);
    const d = res.json();
    assert.equal(d.state, 'restoring');
    assert.equal(d.step, 'restore_asg');
    assert.equal(d.final, false);
    assert.ok(Date.parse(d.next_attempt_at) <= Date.now());
    assert.equal(d.reason, 'cancelled with restore by bearer: rollback');
    const last = d.history.at(-1);
    assert.equal(last.event, 'cancelled.restore');
    assert.equal(last.state, 'restoring');
    assert.match(last.detail, /detached from Auto Scaling group web-asg.*deregistered from target group web-tg.*classic load balancer legacy-elb/);
    assert.match(last.detail, /drain hook was already called: that is not undone/);

    // Restoring is neither pending nor draining: no second cancel, no expedite.
    for (const action of ['cancel', 'expedite']) {
      const conflict = await post(`/api/v1/terminations/${id}/${action}`, action === 'cancel' ? { restore: true } : {});
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json().state, 'restoring');
      assert.match(conflict.json().message, /being put back in service/);
    }
  });

  test('only load balancers left: restoring starts at restore_lb', async () => {
    const id = await handOff();
    const { lb } = drained(Date.now());
    await forceRow(svc.store, id, { state: 'draining', step: 'drain_wait', step_data: JSON.stringify({ lb }) });
    assert.equal((await post(`/api/v1/terminations/${id}/cancel`, { restore: true })).json().step, 'restore_lb');
  });

  test('an instance that never left anything ends restored at once', async () => {
    const id = await handOff();
    const res = await post(`/api/v1/terminations/${id}/cancel`, { restore: true });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().state, 'restored');
    assert.equal(res.json().final, true);
    assert.match(res.json().history.at(-1).detail, /The instance is kept; nothing to put back/);
    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    assert.match(metrics, /^ddsrv_terminations_finished_total\{state="restored"\} 1$/m);
    assert.match(metrics, /^ddsrv_operator_actions_total\{action="restore",result="done"\} \d+$/m);
  });

  test('a plain cancel is unchanged: cancelled, nothing undone, the history says so', async () => {
    const id = await handOff();
    await forceRow(svc.store, id, { state: 'draining', step: 'terminate', step_data: JSON.stringify(drained(Date.now())) });
    for (const body of [{}, { restore: false }]) {
      const res = await post(`/api/v1/terminations/${id}/cancel`, body);
      if (res.statusCode === 409) continue; // the second body: already cancelled
      assert.equal(res.json().state, 'cancelled');
      assert.match(res.json().history.at(-1).detail, /NOT undone/);
    }
  });

  test('terminated or stopped: 409 as before; a bad restore value: 400', async () => {
    const id = await handOff();
    for (const state of ['terminated', 'stopped']) {
      await forceRow(svc.store, id, { state, next_attempt_at: null });
      const res = await post(`/api/v1/terminations/${id}/cancel`, { restore: true });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().state, state);
    }
    assert.equal((await post(`/api/v1/terminations/${await handOff()}/cancel`, { restore: 'yes' })).statusCode, 400);
  });

  test('the OpenAPI document describes the restore body and the new states; --notify-on takes restored', async () => {
    const doc = (await svc.app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: auth })).json();
    const cancel = doc.paths['/api/v1/terminations/{id}/cancel'].post;
    assert.equal(cancel.requestBody.content['application/json'].schema.properties.restore.type, 'boolean');
    assert.match(cancel.description, /restored/);
    const states = doc.paths['/api/v1/terminations/{id}'].get.responses['200'].content['application/json'].schema.properties.state.enum;
    assert.ok(states.includes('restoring') && states.includes('restored'));
    assert.deepEqual([...parseNotifyConfig({ notifyUrl: 'http://127.0.0.1:9000/hook', notifyOn: 'restored,failed' })!.on], ['restored', 'failed']);
  });
});
