/**
 * The operator actions end to end against a real moto_server, with the worker running: an expedited
 * termination is terminated in EC2 at once (an hour early), a cancelled one leaves its instance running,
 * and /metrics tells both (AWS calls by operation, outcomes, hand-off to termination time).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';
const TOKEN = 'moto-operator-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const skip = motoSkip();

describe('cancel and expedite against moto', { skip }, () => {
  let moto: Moto;
  let svc: TestService;
  before(async () => {
    moto = (await startMoto())!;
    Object.assign(process.env, awsTestEnv(moto.endpoint));
    svc = await testService({ authToken: TOKEN, delay: '1h', pollInterval: '50ms', retryBase: '50ms' }, (c) => {
      c.aws = { maxAttempts: 1, connectTimeoutMs: 2000, requestTimeoutMs: 5000 };
    });
    svc.worker.start();
  });
  after(async () => {
    await svc?.close();
    await moto?.stop();
  });

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  test('expedite terminates now; cancel keeps the instance running; metrics say so', { timeout: 60_000 }, async () => {
    const [keep, kill] = await launchInstances(moto.endpoint, REGION, 2);
    const res = await svc.app.inject({
      method: 'POST',
      url: '/delayed-termination',
      headers: { ...json, ...auth },
      payload: { ec2_instance_ids: [keep, kill], ec2_region: REGION, project: 'shop', component: 'web' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const [keepId, killId] = res.json().terminations.map((t: { id: number }) => t.id) as number[];

    // The drain steps run at once; then both wait for their due time, an hour away.
    await waitFor('both drained and waiting', async () => {
      const rows = await Promise.all([rowOf(svc.store, keepId!), rowOf(svc.store, killId!)]);
      return rows.every((r) => r?.step === 'terminate' && r.lease_owner === null && r.next_attempt_at! > Date.now() + 3_000_000) ? true : undefined;
    });

    const cancelled = await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${keepId}/cancel`, headers: { ...auth, ...json }, payload: {} });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    const expedited = await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${killId}/expedite`, headers: { ...auth, ...json }, payload: {} });
    assert.equal(expedited.statusCode, 200, expedited.body);

    const done = await waitFor('the expedited termination to finish', async () => {
      const row = await rowOf(svc.store, killId!);
      return row?.next_attempt_at === null ? row : undefined;
    });
    assert.equal(done.state, 'terminated', done.reason ?? '');
    const states = await instanceStates(moto.endpoint, REGION, [keep!, kill!]);
    assert.match(states[kill!]!, /^(shutting-down|terminated)$/);
    assert.equal(states[keep!], 'running', 'the cancelled instance is kept');

    const events = (await svc.app.inject({ method: 'GET', url: `/api/v1/terminations/${killId}`, headers: auth })).json().history.map((h: { event: string }) => h.event);
    assert.equal(events[0], 'accepted');
    assert.ok(events.indexOf('expedited') < events.indexOf('terminate.started'), events.join(' '));
    assert.equal(events.at(-1), 'terminate.ok');
    assert.equal((await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${killId}/cancel`, headers: { ...auth, ...json }, payload: {} })).json().state, 'terminated');

    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    assert.match(metrics, /^ddsrv_aws_calls_total\{operation="TerminateInstances",outcome="ok"\} 1$/m);
    assert.match(metrics, /^ddsrv_terminations_finished_total\{state="terminated"\} 1$/m);
    assert.match(metrics, /^ddsrv_terminations_finished_total\{state="cancelled"\} 1$/m);
    assert.match(metrics, /^ddsrv_handoff_to_termination_seconds_count\{state="terminated"\} 1$/m);
    assert.match(metrics, /^ddsrv_terminations_active\{state="draining"\} 0$/m);
    assert.match(metrics, /^ddsrv_drain_seconds_count 2$/m, 'both drains (nothing to deregister here) were timed');
  });
});
