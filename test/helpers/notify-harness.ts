/**
 * What the notification tests share: a local webhook that records what it gets, and a service with a
 * notifier the test drives (started, then asleep on a timer that never fires, so only `runOnce()` runs
 * rounds and "nothing more arrived" is checked after a round that ran, not after a pause).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { parseNotifyConfig, type NotifyConfig } from '../../src/notify/config.js';
import { Notifier } from '../../src/notify/deliver.js';
import { createService, type Service } from '../../src/server.js';
import { FakeClock } from './fake-clock.js';
import { json } from './service.js';
import { outboxRows } from './store-tables.js';

export interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
}

/** A local webhook: records what it gets; `answer` decides the status (or `hang` to never answer). */
export class Receiver {
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

export const TOKEN = 'notify-test-token-0123456789';
export const auth = { authorization: `Bearer ${TOKEN}` };
const FAST = { pollMs: 30, retry: { baseMs: 40, maxMs: 80 }, random: () => 0 };
/** Later than any retry or lease of these tests: what a round then finds was going to come back. */
export const LATER = 3_600_000;

export interface Harness {
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
export async function harness(config: NotifyConfig, dbPath?: string, { skewMs = 0 } = {}): Promise<Harness> {
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
  const notifier = new Notifier(svc.store.notifications, config, capture, svc.metrics, { ...FAST, timer, now: () => Date.now() + skew });
  svc.store.notifyOn(config.on);
  await notifier.start();
  await timer.untilWaiting();
  return { svc, notifier, dir, dbPath: path, log, advance: (ms) => void (skew += ms) };
}

export async function handOff(svc: Service, ids: string[], extra: Record<string, unknown> = {}): Promise<number[]> {
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: ids, ec2_region: 'us-west-2', project: 'shop', component: 'web', ...extra } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().terminations.map((t: { id: number }) => t.id);
}

/** What the worker records when it settles a row in `state` (as its real steps do). */
export async function settle(svc: Service, id: number, state: string, detail: string) {
  await svc.store.work.claim('w', Date.now() + 3_600_000 * 2, 30_000, 10_000);
  const settled = await svc.store.work.settle('w', [{ id, state, step: 'terminate', nextAttemptAt: null, attempts: 'keep', reason: detail, event: `terminate.${state}`, detail }], Date.now());
  assert.deepEqual(settled, [id]);
  await svc.store.work.release('w', Date.now());
}

export const outbox = (svc: Service) => outboxRows(svc.store);
export const config = (receiver: Receiver, extra: Partial<NotifyConfig> = {}): NotifyConfig => ({ ...parseNotifyConfig({ notifyUrl: receiver.url, notifyOn: 'failed,cancelled,refused' })!, timeoutMs: 300, ...extra });
