/**
 * Prometheus metrics, in a registry of their own (not prom-client's global one, so tests can build
 * several services in one process). Every label value comes from a closed set written in the code
 * (error codes, state names, AWS operation names): never an instance id, a project or a URL, so the
 * number of series stays bounded whatever clients send.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ACTIVE_STATES } from './domain/states.js';
import type { TerminationRow } from './store/schema.js';
import type { Outcome, Scheduled } from './store/ports.js';
import { stepNamed } from './worker/steps/registry.js';

/** A label value that can only come from a closed set; anything else is `other`. */
const bounded = (value: string) => (/^[A-Za-z][A-Za-z0-9_.-]{0,47}$/.test(value) ? value : 'other');

export interface MetricsSources {
  /** Live terminations by active state (read at scrape time; cached). */
  countActive(): Promise<Record<string, number>>;
  /** When each of these terminations entered `draining` (for the drain duration). */
  drainStarts(ids: number[]): Promise<Map<number, number>>;
  /** The worker's last round (ms epoch), or null. */
  workerLastRound(): number | null;
  /** Whether AWS credentials resolve (aws/credentials.ts). */
  awsCredentials?(): 'unchecked' | 'ok' | 'missing';
}

export class Metrics {
  readonly registry = new Registry();

  readonly handOffsAccepted = new Counter({
    name: 'ddsrv_handoffs_accepted_total',
    help: 'Hand-off requests answered 2xx (durably recorded)',
    registers: [this.registry],
  });
  readonly handOffInstances = new Counter({
    name: 'ddsrv_handoff_instances_total',
    help: 'Instances in accepted hand-offs: result="scheduled" (new) or "already_scheduled" (a repeat, nothing new)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly handOffsRejected = new Counter({
    name: 'ddsrv_handoffs_rejected_total',
    help: 'Hand-off requests answered 4xx/5xx, by the error code of the answer (reason)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly acceptanceSeconds = new Histogram({
    name: 'ddsrv_handoff_acceptance_seconds',
    help: 'Time to answer an accepted hand-off (receive to response, including the durable commit)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly terminationsFinished = new Counter({
    name: 'ddsrv_terminations_finished_total',
    help: 'Terminations that reached a final state, by that state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly handOffToDoneSeconds = new Histogram({
    name: 'ddsrv_handoff_to_termination_seconds',
    help: 'Time from hand-off to the instance being terminated (or stopped), by final state',
    labelNames: ['state'] as const,
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21_600, 86_400],
    registers: [this.registry],
  });
  readonly drainSeconds = new Histogram({
    name: 'ddsrv_drain_seconds',
    help: 'Time from the first drain step (leaving the ASG) to the end of the drain (deregistered, drained, hook called)',
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600],
    registers: [this.registry],
  });
  readonly awsCalls = new Counter({
    name: 'ddsrv_aws_calls_total',
    help: 'AWS API calls by operation and outcome ("ok" or "error")',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly operatorActions = new Counter({
    name: 'ddsrv_operator_actions_total',
    help: 'Operator cancel/expedite requests (restore: a cancel with restore) by result (done, conflict, not_found)',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });
  readonly notifications = new Counter({
    name: 'ddsrv_notifications_total',
    help: 'Webhook notification attempts by result (delivered, retry, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private sources: MetricsSources | undefined;
  private activeCache: { at: number; counts: Record<string, number> } | undefined;
  private pendingDrains: { id: number; endedAt: number }[] = [];

  constructor(options: { defaultMetrics?: boolean; activeCacheMs?: number } = {}) {
    // The event-loop-lag monitor's 10 ms default is a timer 100 times a second (~3 ms of CPU a second, idle or not).
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    const cacheMs = options.activeCacheMs ?? 5000;
    const self = this;
    new Gauge({
      name: 'ddsrv_terminations_active',
      help: 'Terminations not yet final, by state (pending = waiting for their due time or a retry)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        if (!self.sources) return;
        const now = Date.now();
        if (!self.activeCache || now - self.activeCache.at > cacheMs) self.activeCache = { at: now, counts: await self.sources.countActive() };
        for (const state of ACTIVE_STATES) this.set({ state }, self.activeCache.counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'ddsrv_worker_last_round_timestamp_seconds',
      help: 'When the worker last looked at the schedule (alert if it stops moving)',
      registers: [this.registry],
      collect() {
        const at = self.sources?.workerLastRound();
        if (at != null) this.set(at / 1000);
      },
    });
    new Gauge({
      name: 'ddsrv_aws_credentials_available',
      help: "1 when the AWS SDK's default credential chain finds credentials, 0 when it finds none (nothing can be terminated: alert on it)",
      registers: [this.registry],
      collect() {
        const state = self.sources?.awsCredentials?.();
        if (state === 'ok' || state === 'missing') this.set(state === 'ok' ? 1 : 0);
      },
    });
  }

  /** Connects the figures read from the store and the worker. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** A `CallCounter` for the AWS wrappers (src/aws/ec2.ts). */
  readonly countAwsCall = (operation: string, outcome: 'ok' | 'error'): void => {
    this.awsCalls.inc({ operation: bounded(operation), outcome });
  };

  /** From the hand-off route's `onAccepted`. */
  scheduled(scheduled: Scheduled[]): void {
    let fresh = 0;
    for (const s of scheduled) if (!s.duplicate) fresh += 1;
    if (fresh > 0) this.handOffInstances.inc({ result: 'scheduled' }, fresh);
    if (scheduled.length > fresh) this.handOffInstances.inc({ result: 'already_scheduled' }, scheduled.length - fresh);
  }

  /** From the worker's `onOutcome`: one settled outcome of a row as it was claimed. */
  outcome(row: TerminationRow, outcome: Outcome, now = Date.now()): void {
    if (outcome.nextAttemptAt === null) {
      this.terminationsFinished.inc({ state: bounded(outcome.state) });
      if (outcome.state === 'terminated' || outcome.state === 'stopped') {
        this.handOffToDoneSeconds.observe({ state: outcome.state }, Math.max(0, now - row.created_at) / 1000);
      }
    }
    // The drain ends when a drain step hands the row on to the action step (the termination); the row
    // may then still wait, in `draining`, for its due time.
    if (outcome.nextAttemptAt !== null && stepNamed(row.step)?.phase !== 'action' && stepNamed(outcome.step)?.phase === 'action') this.drainEnded(row.id, now);
  }

  /** From the operator routes. */
  action(action: 'cancel' | 'expedite' | 'restore', result: string, state?: string): void {
    this.operatorActions.inc({ action, result: bounded(result) });
    // A cancel ends the termination at once; a cancel with restore only when there was nothing to put back.
    const ended = state ?? (action === 'cancel' ? 'cancelled' : undefined);
    if (result === 'done' && (ended === 'cancelled' || ended === 'restored')) this.terminationsFinished.inc({ state: ended });
  }

  private drainEnded(id: number, endedAt: number): void {
    // Outcomes arrive one by one for a whole batch: look their starts up together, off the worker's path.
    if (this.pendingDrains.push({ id, endedAt }) > 1) return;
    queueMicrotask(() => {
      const batch = this.pendingDrains;
      this.pendingDrains = [];
      this.sources
        ?.drainStarts(batch.map((b) => b.id))
        .then((starts) => {
          for (const b of batch) {
            const start = starts.get(b.id);
            if (start !== undefined) this.drainSeconds.observe(Math.max(0, b.endedAt - start) / 1000);
          }
        })
        .catch(() => {
          // a metric is not worth an error: the drain is still in the history
        });
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const HANDOFF_PATH = '/delayed-termination';

/**
 * Counts hand-off answers: accepted (with their latency) and rejected by the `error` code of the answer.
 * Hooks on the root, so they also see the errors of authentication and body parsing.
 */
export function installHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  const isHandOff = (method: string, url: string) => method === 'POST' && (url === HANDOFF_PATH || url.startsWith(`${HANDOFF_PATH}?`));
  // Callback-style hooks: no promise per request on the hand-off hot path.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400 && isHandOff(request.method, request.url) && typeof payload === 'string') {
      let code = 'unknown';
      try {
        const parsed = JSON.parse(payload) as { error?: unknown };
        if (typeof parsed.error === 'string') code = parsed.error;
      } catch {
        // not our JSON error shape
      }
      metrics.handOffsRejected.inc({ reason: bounded(code) });
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode < 300 && isHandOff(request.method, request.url)) {
      metrics.handOffsAccepted.inc();
      metrics.acceptanceSeconds.observe(reply.elapsedTime / 1000);
    }
    done();
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
