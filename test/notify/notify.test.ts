/**
 * Webhook notifications: written in the transition's own transaction (outbox), once per termination and
 * state, delivered in JSON or Slack form, retried on 5xx and timeouts, not retried on a refusal, kept
 * across a restart, and never in the way of the worker or of an operator action. The tests drive the
 * notifier's rounds themselves (its loop sleeps on a fake timer), so "nothing more arrived" is checked
 * after a round that ran, not after a pause.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveServeConfig, ConfigError } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { parseNotifyConfig, type NotifyConfig } from '../../src/notify/config.js';
import { Notifier } from '../../src/notify/deliver.js';
import { createService, type Service } from '../../src/server.js';
import { notificationQueueOf, notifyOn } from '../../src/worker/legacy-queues.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { json } from '../helpers/service.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
}

/** A local webhook: records what it gets; `answer` decides the status (or `hang` to never answer). */
class Receiver {
  readonly received: Received[] = [];
  answer: (n: number) => number | 'hang' = () => 200;
  private server: Server | undefined;
  url = '';

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: JSON.parse(text) });
        const status = this.answer(this.received.length);
        if (status === 'hang') return;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      });
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook/SECRET-PART`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    this.server?.close();
    if (this.server) await once(this.server, 'close');
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.received.length} of ${count} notifications arrived`);
      await sleep(20);
    }
    return this.received;
  }
}

const TOKEN = 'notify-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const FAST = { pollMs: 30, retry: { baseMs: 40, maxMs: 80 }, random: () => 0 };
/** Later than any retry or lease of these tests: what a round then finds was going to come back. */
const LATER = 3_600_000;

interface Harness {
  svc: Service;
  notifier: Notifier;
  dir: string;
  dbPath: string;
  log: Record<string, unknown>[];
  /** Moves the notifier's clock on by `ms` (retries and leases come due without waiting). */
  advance(ms: number): void;
}

/**
 * A service on `dbPath` (a new one by default) with a fast notifier the test controls: started (its
 * first round has run), then asleep on a timer that never fires, so only `runOnce()` runs rounds.
 */
async function harness(config: NotifyConfig, dbPath?: string, { skewMs = 0 } = {}): Promise<Harness> {
  const dir = dbPath ? '' : mkdtempSync(join(tmpdir(), 'ddsrv-notify-'));
  const path = dbPath ?? join(dir, 'ddsrv.db');
  const svc = await createService(resolveServeConfig({ database: path, logLevel: 'silent', authToken: TOKEN, delay: '1h' }, {}), createLogger('silent'));
  const log: Record<string, unknown>[] = [];
  const logger = createLogger('silent');
  const capture = logger.child({});
  for (const level of ['info', 'warn', 'error'] as const) {
    (capture as any)[level] = (obj: Record<string, unknown>, msg: string) => log.push({ ...obj, level, msg });
  }
  let skew = skewMs;
  const timer = new FakeClock();
  const notifier = new Notifier(notificationQueueOf(svc.store), config, capture, svc.metrics, { ...FAST, timer, now: () => Date.now() + skew });
  notifyOn(svc.store, config.on);
  await notifier.start();
  await timer.untilWaiting();
  return { svc, notifier, dir, dbPath: path, log, advance: (ms) => void (skew += ms) };
}

async function handOff(svc: Service, ids: string[], extra: Record<string, unknown> = {}): Promise<number[]> {
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: ids, ec2_region: 'us-west-2', project: 'shop', component: 'web', ...extra } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().terminations.map((t: { id: number }) => t.id);
}

/** What the worker records when it settles a row in `state` (as its real steps do). */
async function settle(svc: Service, id: number, state: string, detail: string) {
  await svc.store.claimDue('w', Date.now() + 3_600_000 * 2, 30_000, 10_000);
  const settled = await svc.store.applyOutcomes('w', [{ id, state, step: 'terminate', nextAttemptAt: null, attempts: 'keep', reason: detail, event: `terminate.${state}`, detail }], Date.now());
  assert.deepEqual(settled, [id]);
  await svc.store.releaseLeases('w', Date.now());
}

const outbox = (svc: Service) => svc.store.db.selectFrom('notification_outbox').selectAll().orderBy('id').execute();
const config = (receiver: Receiver, extra: Partial<NotifyConfig> = {}): NotifyConfig => ({ ...parseNotifyConfig({ notifyUrl: receiver.url, notifyOn: 'failed,cancelled,refused' })!, timeoutMs: 300, ...extra });

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
    await h.svc.store.claimDue('w', Date.now() + 7_200_000, 30_000, 10);
    await h.svc.store.enterState('w', [a!], 'terminating', 'terminate.started', Date.now());
    await h.svc.store.enterState('w', [a!], 'terminating', 'terminate.started', Date.now());
    assert.equal(await h.notifier.runOnce(), 1);
    h.advance(LATER);
    assert.equal(await h.notifier.runOnce(), 0, 'nothing comes due again');
    assert.equal(receiver.received.length, 1);
    assert.equal((await outbox(h.svc)).length, 1);
    await h.svc.store.releaseLeases('w', Date.now());
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

describe('durable across a restart', () => {
  test('a notification not yet delivered when the service stops is delivered after it starts again', async () => {
    const receiver = new Receiver();
    await receiver.start();
    receiver.answer = () => 503; // down for now
    const dir = mkdtempSync(join(tmpdir(), 'ddsrv-notify-'));
    const dbPath = join(dir, 'ddsrv.db');
    try {
      let h = await harness(config(receiver), dbPath);
      const [a] = await handOff(h.svc, ['i-0000000000000e001']);
      await settle(h.svc, a!, 'failed', 'boom');
      assert.equal(await h.notifier.runOnce(), 1);
      await h.notifier.stop();
      await h.svc.close();
      assert.equal(receiver.received.length >= 1, true);

      receiver.answer = () => 200;
      receiver.received.length = 0;
      // Its retry is due when the new process starts: the first round, at start, delivers it.
      h = await harness(config(receiver), dbPath, { skewMs: LATER });
      const [got] = await receiver.waitFor(1, 5000);
      assert.equal(got!.body.termination.instance_id, 'i-0000000000000e001');
      assert.equal((await outbox(h.svc))[0]!.outcome, 'delivered');
      await h.notifier.stop();
      await h.svc.close();
    } finally {
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
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
