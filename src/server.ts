/**
 * Starts the process: open and migrate the store, build the app, start the worker, listen; and on SIGTERM
 * or SIGINT stop in order: stop accepting, finish in-flight hand-offs, let in-flight AWS calls finish,
 * release leases, close the database.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import { AwsClients } from './aws/clients.js';
import { CredentialsWatch, DEFAULT_WATCH } from './aws/credentials.js';
import type { ServiceStatus } from './api/routes/status.js';
import type { ServeConfig } from './config.js';
import { formatDuration } from './domain/duration.js';
import { isLoopback } from './domain/listen.js';
import { hostPolicy } from './domain/allowed-hosts.js';
import { GroupCommit } from './lib/group-commit.js';
import { LiveCount } from './store/live-count.js';
import { RateWindow } from './worker/rate-limit.js';
import { openStore, StoreOpenError } from './store/open.js';
import type { HandOffRecord, Scheduled, Store } from './store/ports.js';
import { Worker } from './worker/loop.js';
import { planHandOff } from './policy/plan-handoff.js';
import { pipelineSteps } from './worker/pipeline.js';
import { STEPS } from './worker/steps/registry.js';
import { IsoClock } from './lib/iso-time.js';
import { Metrics } from './metrics.js';
import { Notifier } from './notify/deliver.js';

export class StartupError extends Error {}

export interface Service {
  app: FastifyInstance;
  store: Store;
  worker: Worker;
  metrics: Metrics;
  /** Delivers webhook notifications (null without --notify-url); started by startServer. */
  notifier: Notifier | null;
  /** Whether AWS credentials resolve; checked by startServer from the start on. */
  credentials: CredentialsWatch;
  /** Stops everything in order; safe to call more than once. */
  close(): Promise<void>;
}

export interface RunningServer extends Service {
  /** `http://host:port` actually bound (useful with port 0). */
  url: string;
}

/** Refuses configurations that would expose the service to anyone who can reach it. */
function checkExposure(config: ServeConfig, log: Logger): void {
  if (config.authToken !== null || isLoopback(config.listen.host)) return;
  if (!config.allowUnauthenticated) {
    throw new StartupError(
      `refusing to listen on ${config.listen.host} without authentication: anyone who reaches it could terminate instances. ` +
        'Set a token with --auth-token-file FILE, --auth-token TOKEN or DDSRV_AUTH_TOKEN (e.g. `openssl rand -hex 32`), ' +
        'or pass --allow-unauthenticated if a network boundary already protects it',
    );
  }
  log.warn({ listen: config.listen }, 'serving WITHOUT authentication on a non-loopback address (--allow-unauthenticated)');
}

/** Opens the store and wires the app and the worker, without listening or starting the worker. */
export async function createService(config: ServeConfig, log: Logger): Promise<Service> {
  let store: Store;
  try {
    store = await openStore({
      database: config.database,
      // A shared database closed a connection nobody was using (failover, restart): the pool reconnects.
      onError: (err) => log.warn({ err: { message: err.message } }, 'database connection lost; reconnecting on next use'),
      onWriteHealth: (failure) => (failure === null ? log.info('the database accepts writes again') : log.error({ reason: failure }, 'the database cannot be written: hand-offs get 503, the health check 503')),
      onOpened: ({ applied, releasedWork, releasedNotifications }) => {
        if (applied.length > 0) log.info({ applied }, 'database migrated');
        if (releasedWork > 0) log.info({ released: releasedWork }, 'took back work leased by a previous run');
        if (releasedNotifications > 0) log.info({ released: releasedNotifications }, 'notifications claimed by a previous run are due again');
      },
    });
  } catch (err) {
    throw err instanceof StoreOpenError ? new StartupError(err.message) : err;
  }

  const metrics = new Metrics();
  const notifier = config.notify ? new Notifier(store.notifications, config.notify, log.child({ component: 'notify' }), metrics) : null;
  if (config.notify) store.notifyOn(config.notify.on); // the outbox row commits with its transition
  const committer = new GroupCommit<HandOffRecord, Scheduled[]>((records) => store.handOffs.recordHandOffs(records, Date.now()));
  const clients = new AwsClients(config.aws);
  const credentials = new CredentialsWatch(() => clients.resolveCredentials(), log.child({ component: 'aws' }), { ...DEFAULT_WATCH, ...config.credentialsWatch });
  const worker = new Worker(
    store.work,
    pipelineSteps({ clients, policy: config.policy, dryRun: config.dryRun, countCall: metrics.countAwsCall, ...(config.pipeline ? { tuning: config.pipeline } : {}) }),
    {
      ...config.worker,
      now: Date.now,
      onOutcome: (row, outcome) => {
        metrics.outcome(row, outcome);
        if (notifier?.wants(outcome.state)) notifier.poke();
      },
      ...(config.maxTerminationsPerMinute > 0 ? { terminationRate: new RateWindow(config.maxTerminationsPerMinute) } : {}),
    },
    log.child({ component: 'worker' }),
  );
  const live = new LiveCount(() => store.reads.countLive());
  const dueClock = new IsoClock(); // the hand-offs of a group commit share their due time
  metrics.attach({
    countActive: () => store.reads.countActive(),
    drainStarts: (ids) => store.reads.drainStarts(ids),
    workerLastRound: () => worker.lastRoundAt,
    awsCredentials: () => credentials.status().state,
  });
  const app = buildApp({
    tls: config.tls,
    ...(config.maxPending > 0
      ? {
          admit: async (count: number) =>
            (await live.current(Date.now())) + count <= config.maxPending
              ? ({ ok: true } as const)
              : ({ ok: false, retryAfterSeconds: 30, limit: config.maxPending } as const),
        }
      : {}),
    logger: log,
    metrics,
    operator: { store, now: Date.now, pokeWorker: () => worker.poke(), onAction: () => notifier?.poke(), status: () => serviceStatus(config, credentials, worker) },
    authToken: config.authToken,
    bodyLimitBytes: config.bodyLimitBytes,
    maxUserDataBytes: config.maxUserDataBytes,
    hosts: hostPolicy(config.listen.host, config.allowedHosts),
    now: Date.now,
    plan: (doc, now) => planHandOff(STEPS, config.policy, doc, now, config.dryRun),
    recordHandOff: (record) => committer.submit(record),
    unavailable: () => store.health.unavailable(),
    onAccepted: (scheduled) => {
      live.added(scheduled.filter((s) => !s.duplicate).length);
      metrics.scheduled(scheduled);
      // A new row due before the worker's planned wake (a first step due at once, or a short delay) wakes it.
      let soonest = Infinity;
      for (const s of scheduled) {
        if (s.duplicate) continue;
        log.info({ id: s.id, instance_id: s.instance_id, region: s.region, state: 'pending', event: 'accepted', due_at: dueClock.iso(s.due_at) }, 'transition');
        if (s.next_attempt_at !== null && s.next_attempt_at < soonest) soonest = s.next_attempt_at;
      }
      if (soonest !== Infinity) worker.wakeBy(soonest);
    },
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('shutting down: no new hand-offs; finishing in-flight work');
      await app.close();
      await committer.drain();
      await worker.stop();
      await notifier?.stop();
      credentials.stop();
      clients.destroy();
      await store.close();
      log.info('stopped');
    })());
  return { app, store, worker, metrics, notifier, credentials, close };
}

function serviceStatus(config: ServeConfig, credentials: CredentialsWatch, worker: Worker): ServiceStatus {
  const w = worker.snapshot();
  return {
    aws_credentials: credentials.status(),
    worker: { state: w.state, last_round_at: w.lastRoundAt === null ? null : new Date(w.lastRoundAt).toISOString(), last_error: w.lastError },
    dry_run: config.dryRun,
  };
}

/** The ready line's account of the policy: its file, and the delay each component gets. */
function policyFields(config: ServeConfig): Record<string, unknown> {
  const [defaults, ...components] = config.policy.byComponent();
  return {
    policy_file: config.policyFile,
    delay: formatDuration(defaults!.policy.delayMs),
    ...(components.length > 0 ? { component_delays: Object.fromEntries(components.map((c) => [c.name, formatDuration(c.policy.delayMs)])) } : {}),
  };
}

export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  checkExposure(config, log);
  const service = await createService(config, log);
  // Not awaited: the instance metadata service may take a second or two to say it is not there.
  void service.credentials.start();
  let url: string;
  try {
    url = await service.app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await service.close();
    throw new StartupError(`cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`);
  }
  service.worker.start();
  await service.notifier?.start();
  log.info({ url, ...policyFields(config), dry_run: config.dryRun, auth: config.authToken !== null }, 'ddsrv ready');
  return { ...service, url };
}
