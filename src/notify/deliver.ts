/**
 * Delivers the outbox: its own loop, beside the worker and never in its way (the worker only writes an
 * outbox row in its own transaction; a slow or dead webhook delays nothing but notifications).
 *
 * A 2xx is delivered. Timeouts, connection errors, 408, 429 and 5xx are retried with the worker's backoff
 * (5 s doubling to 10 min, with jitter) up to `maxAttempts`; any other answer (a 4xx: the webhook refuses
 * this body or this URL) fails at once, since repeating it cannot help. Either way the outcome is kept
 * in the outbox row and logged. Delivery is at least once: a receiver that must not see a repeat can
 * drop duplicates by `notification_id` (also sent as the `X-Ddsrv-Notification-Id` header).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BackgroundLoop, type Timer } from '../lib/background-loop.js';
import type { Metrics } from '../metrics.js';
import type { ClaimedNotification, NotificationQueue } from '../store/ports.js';
import { backoffMs, type RetryPolicy } from '../lib/backoff.js';
import { redactUrl, type NotifyConfig } from './config.js';
import { notificationBody } from './format.js';

export interface NotifierOptions {
  pollMs?: number;
  leaseMs?: number;
  retry?: Omit<RetryPolicy, 'maxAttempts'>;
  now?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
  /** The loop's sleeps (tests pass a fake, and drive rounds with `runOnce`). */
  timer?: Timer;
}

const BATCH = 50;
const PARALLEL = 4;

type Attempt = { kind: 'delivered' } | { kind: 'retry'; error: string } | { kind: 'failed'; error: string };

export class Notifier {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}-notify`;
  private readonly loop: BackgroundLoop;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly queue: NotificationQueue,
    private readonly config: NotifyConfig,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
    options: NotifierOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 2000;
    this.leaseMs = options.leaseMs ?? config.timeoutMs * 3;
    this.retry = { baseMs: 5000, maxMs: 600_000, ...options.retry, maxAttempts: config.maxAttempts };
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.fetch = options.fetch ?? fetch;
    this.loop = new BackgroundLoop({
      name: 'notifier',
      round: () => this.round(),
      sleepMs: () => this.sleepMs(),
      pollMs: this.pollMs,
      onStop: async () => {
        // Not fatal: a claim not given back comes due again when its lease runs out.
        await this.queue.release(this.owner, this.now()).catch((err) => this.log.warn({ err }, 'could not release notification claims'));
      },
      onRoundError: (err) => this.log.error({ err }, 'notification round failed'),
      now: this.now,
      ...(options.timer ? { timer: options.timer } : {}),
    });
  }

  /** Whether a transition to `state` is notified (to wake the loop at once). */
  wants(state: string): boolean {
    return this.config.on.has(state);
  }

  async start(): Promise<void> {
    this.loop.start();
    this.log.info({ url: redactUrl(this.config.url), on: [...this.config.on], format: this.config.format }, 'notifications on');
  }

  poke(): void {
    this.loop.poke();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One claim-and-deliver round now, after any in progress (tests drive rounds with it). */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  snapshot() {
    return { owner: this.owner, ...this.loop.snapshot() };
  }

  private async sleepMs(): Promise<number> {
    const next = await this.queue.nextWake();
    return next === null ? this.pollMs : Math.max(0, Math.min(this.pollMs, next - this.now()));
  }

  /** Claims due notifications and delivers them, a few at a time; returns how many it handled. */
  private async round(): Promise<number> {
    const claimed = await this.queue.claim(this.owner, this.now(), this.leaseMs, BATCH);
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) await this.deliver(claimed[next++]!);
    };
    await Promise.all(Array.from({ length: PARALLEL }, lane));
    return claimed.length;
  }

  private async deliver(n: ClaimedNotification): Promise<void> {
    const attempt = await this.send(n);
    const tries = n.attempts + 1;
    const now = this.now();
    const ctx = { notification_id: n.id, termination_id: n.termination.id, instance_id: n.termination.instance_id, state: n.state, attempt: tries, url: redactUrl(this.config.url) };
    if (attempt.kind === 'delivered') {
      await this.queue.finish(this.owner, n.id, 'delivered', null, now);
      this.metrics?.notifications.inc({ result: 'delivered' });
      this.log.info(ctx, 'notification delivered');
    } else if (attempt.kind === 'retry' && tries < this.retry.maxAttempts) {
      const at = now + backoffMs(this.retry, tries, this.random());
      await this.queue.retryAt(this.owner, n.id, at, attempt.error);
      this.metrics?.notifications.inc({ result: 'retry' });
      this.log.warn({ ...ctx, error: attempt.error, retry_at: new Date(at).toISOString() }, 'notification not delivered; will retry');
    } else {
      const error = attempt.kind === 'retry' ? `gave up after ${tries} attempts: ${attempt.error}` : attempt.error;
      await this.queue.finish(this.owner, n.id, 'failed', error, now);
      this.metrics?.notifications.inc({ result: 'failed' });
      this.log.error({ ...ctx, error }, 'notification failed; it will not be retried');
    }
  }

  private async send(n: ClaimedNotification): Promise<Attempt> {
    let response: Response;
    try {
      response = await this.fetch(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'ddsrv-notify', 'x-ddsrv-notification-id': String(n.id) },
        body: JSON.stringify(notificationBody(n, this.config.format)),
        signal: AbortSignal.timeout(this.config.timeoutMs),
        redirect: 'manual',
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', error: `${(err as Error).name === 'TimeoutError' ? `no answer within ${this.config.timeoutMs} ms` : (err as Error).message}${cause?.code ? ` (${cause.code})` : ''}` };
    }
    // The body is not needed, but must be consumed to free the connection.
    const text = (await response.text().catch(() => '')).slice(0, 200);
    if (response.ok) return { kind: 'delivered' };
    const error = `HTTP ${response.status}${text ? `: ${text}` : ''}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) return { kind: 'retry', error };
    return { kind: 'failed', error: `${error} (not retried: the webhook refused it)` };
  }
}
