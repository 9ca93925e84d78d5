/**
 * Webhook notifications: written in the transition's own transaction (outbox), once per termination and
 * state, delivered in JSON or Slack form, retried on 5xx and timeouts, not retried on a refusal, and
 * never in the way of the worker or of an operator action. The tests drive the notifier's rounds
 * (helpers/notify-harness.ts), so "nothing more arrived" is checked after a round that ran.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import { resolveServeConfig, ConfigError } from '../../src/config.js';
import { json } from '../helpers/service.js';
import { auth, config, handOff, harness, LATER, outbox, Receiver, settle, type Harness } from '../helpers/notify-harness.js';

describe('notifications', () => {
  const receiver = new Receiver();
  let h: Harness | undefined;
  before(() => receiver.start());
  after(() => receiver.stop());
  afterEach(async () => {
    receiver.received.length = 0;
    receiver.answer = () => 200;
    await h?.notifier.stop();
    await h?.svc.close();
    if (h?.dir) rmSync(h.dir, { recursive: true, force: true });
    h = undefined;
  });

  test('a chosen transition is notified once, in JSON, with an id to drop duplicates; others are not', async () => {
    h = await harness(config(receiver));
    const [a, b] = await handOff(h.svc, ['i-0000000000000d001', 'i-0000000000000d002']);
    await settle(h.svc, a!, 'failed', 'OperationNotPermitted: termination protection');
    await settle(h.svc, b!, 'terminated', 'TerminateInstances accepted'); // not chosen
    assert.equal(await h.notifier.runOnce(), 1);
    const [got] = receiver.received;
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 0, 'nothing comes due again');
    assert.equal(receiver.received.length, 1);
    assert.equal(got!.headers['content-type'], 'application/json');
    assert.equal(got!.headers['x-ddsrv-notification-id'], String(got!.body.notification_id));
    assert.equal(got!.body.state, 'failed');
    assert.equal(got!.body.event, 'terminate.failed');
    assert.equal(got!.body.detail, 'OperationNotPermitted: termination protection');
    assert.deepEqual(
      { id: got!.body.termination.id, instance_id: got!.body.termination.instance_id, region: got!.body.termination.region, project: got!.body.termination.project, component: got!.body.termination.component },
      { id: a, instance_id: 'i-0000000000000d001', region: 'us-west-2', project: 'shop', component: 'web' },
    );
    const rows = await outbox(h.svc);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.outcome, 'delivered');
    assert.equal(rows[0]!.next_attempt_at, null);
    assert.ok(!JSON.stringify(h.log).includes('SECRET-PART'), 'the webhook URL path (its secret) is never logged');
  });

  test('the same state twice for one termination (a retried step) notifies once', async () => {
    h = await harness(config(receiver, { on: new Set(['terminating']) }));
    const [a] = await handOff(h.svc, ['i-0000000000000d011']);
    await h.svc.store.work.claim('w', Date.now() + 7_200_000, 30_000, 10);
    await h.svc.store.work.enter('w', [a!], 'terminating', 'terminate.started', Date.now());
    await h.svc.store.work.enter('w', [a!], 'terminating', 'terminate.started', Date.now());
    assert.equal(await h.notifier.runOnce(), 1);
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 0, 'nothing comes due again');
    assert.equal(receiver.received.length, 1);
    assert.equal((await outbox(h.svc)).length, 1);
    await h.svc.store.work.release('w', Date.now());
  });

  test('an operator cancel is notified, in the Slack form when asked', async () => {
    h = await harness(config(receiver, { format: 'slack' }));
    const [a] = await handOff(h.svc, ['i-0000000000000d021']);
    const res = await h.svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${a}/cancel`, headers: { ...auth, ...json }, payload: { reason: 'keep it' } });
    assert.equal(res.statusCode, 200);
    assert.equal(await h.notifier.runOnce(), 1);
    const [got] = receiver.received;
    assert.deepEqual(Object.keys(got!.body), ['text']);
    assert.match(got!.body.text, /i-0000000000000d021 \(us-west-2, shop\/web\) is \*cancelled\*: cancelled by bearer: keep it/);
  });

  test('5xx and timeouts are retried with backoff until delivered', async () => {
    h = await harness(config(receiver));
    receiver.answer = (n) => (n === 1 ? 503 : n === 2 ? 'hang' : 200);
    const [a] = await handOff(h.svc, ['i-0000000000000d031']);
    await settle(h.svc, a!, 'refused', 'missing tag team=payments');
    assert.equal(await h.notifier.runOnce(), 1); // 503
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 1); // no answer: timed out
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 1); // 200
    assert.equal(receiver.received.length, 3);
    const [row] = await outbox(h.svc);
    assert.equal(row!.outcome, 'delivered');
    assert.equal(row!.attempts, 3);
    assert.equal(new Set(receiver.received.map((r) => r.body.notification_id)).size, 1, 'the same notification id on every try');
    const retries = h.log.filter((l) => l.msg === 'notification not delivered; will retry');
    assert.equal(retries.length, 2);
    assert.match(String(retries[0]!.error), /HTTP 503/);
    assert.match(String(retries[1]!.error), /no answer within 300 ms/);
  });

  test('a refusal (4xx) fails at once and is not retried; it is logged', async () => {
    h = await harness(config(receiver));
    receiver.answer = () => 404;
    const [a] = await handOff(h.svc, ['i-0000000000000d041']);
    await settle(h.svc, a!, 'failed', 'boom');
    assert.equal(await h.notifier.runOnce(), 1);
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 0, 'nothing comes due again');
    assert.equal(receiver.received.length, 1);
    const [row] = await outbox(h.svc);
    assert.equal(row!.outcome, 'failed');
    assert.match(row!.last_error!, /HTTP 404.*not retried/);
    assert.ok(h.log.some((l) => l.msg === 'notification failed; it will not be retried'));
  });

  test('gives up after the last attempt', async () => {
    h = await harness(config(receiver, { maxAttempts: 3 }));
    receiver.answer = () => 500;
    const [a] = await handOff(h.svc, ['i-0000000000000d051']);
    await settle(h.svc, a!, 'failed', 'boom');
    for (let attempt = 1; attempt <= 3; attempt++) {
      assert.equal(await h.notifier.runOnce(), 1, `attempt ${attempt}`);
      h.advance(LATER);
    }
    assert.equal(await h.notifier.runOnce(), 0, 'nothing comes due after the last attempt');
    assert.equal(receiver.received.length, 3);
    const [row] = await outbox(h.svc);
    assert.equal(row!.outcome, 'failed');
    assert.match(row!.last_error!, /gave up after 3 attempts: HTTP 500/);
  });

  test('a hanging webhook blocks neither the worker nor an operator action', async () => {
    h = await harness(config(receiver, { timeoutMs: 2000 }));
    receiver.answer = () => 'hang';
    const ids = await handOff(h.svc, ['i-0000000000000d061', 'i-0000000000000d062', 'i-0000000000000d063']);
    await settle(h.svc, ids[0]!, 'failed', 'first');
    const stuck = h.notifier.runOnce();
    await receiver.waitFor(1); // the deliverer is now stuck on it
    const t0 = Date.now();
    await settle(h.svc, ids[1]!, 'failed', 'second');
    const res = await h.svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${ids[2]}/cancel`, headers: { ...auth, ...json }, payload: {} });
    assert.equal(res.statusCode, 200);
    assert.ok(Date.now() - t0 < 500, `transitions took ${Date.now() - t0} ms while the webhook hung`);
    assert.equal((await outbox(h.svc)).length, 3, 'all three are queued');
    assert.equal(await stuck, 1, 'the stuck round ends when the call times out');
  });
});


describe('configuration', () => {
  test('flags and DDSRV_NOTIFY_* variables, validated with messages naming the flag', () => {
    assert.equal(resolveServeConfig({}, {}).notify, null);
    const c = resolveServeConfig({}, { DDSRV_NOTIFY_URL: 'https://hooks.example.com/x', DDSRV_NOTIFY_ON: 'failed, terminated', DDSRV_NOTIFY_FORMAT: 'slack' }).notify!;
    assert.equal(c.url.href, 'https://hooks.example.com/x');
    assert.deepEqual([...c.on], ['failed', 'terminated']);
    assert.equal(c.format, 'slack');
    assert.deepEqual([...resolveServeConfig({ notifyUrl: 'http://127.0.0.1:8/h' }, {}).notify!.on], ['failed', 'refused']);
    const bad: [Record<string, string>, RegExp][] = [
      [{ notifyUrl: 'not a url' }, /--notify-url .*not a URL/],
      [{ notifyUrl: 'ftp://x/y' }, /--notify-url .*http/],
      [{ notifyUrl: 'http://127.0.0.1:9/h' }, /--notify-url .*port 9 is one Node's fetch refuses/],
      [{ notifyUrl: 'http://x/', notifyOn: 'exploded' }, /--notify-on .*'exploded'/],
      [{ notifyUrl: 'http://x/', notifyOn: 'pending' }, /--notify-on .*'pending'/],
      [{ notifyUrl: 'http://x/', notifyFormat: 'xml' }, /--notify-format .*'xml'/],
      [{ notifyOn: 'failed' }, /need --notify-url/],
    ];
    for (const [flags, message] of bad) assert.throws(() => resolveServeConfig(flags, {}), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(flags));
  });
});
