/**
 * Builds the Fastify application without listening, so tests drive it with `inject()` and the process
 * start-up (server.ts) stays separate.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { parseJsonBody } from './json-body.js';
import type { HandOff } from '../domain/handoff.js';
import type { HandOffPlan } from '../worker/pipeline.js';
import type { HandOffRecord, Scheduled } from '../store/store.js';
import { installAuth } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { handOffRoutes } from './routes/handoff.js';
import { installOperatorApi, isPublicOperatorRequest, type OperatorApiDeps } from './operator-api.js';

/** `operator` and `metrics` (OperatorApiDeps) add the operator API, the dashboard and /metrics. */
export interface AppDeps extends OperatorApiDeps {
  logger: FastifyBaseLogger;
  /** The shared token, or null when authentication is off. */
  authToken: string | null;
  bodyLimitBytes: number;
  now(): number;
  /** When a hand-off is due, and where and when its pipeline starts (from the policy). */
  plan(doc: HandOff, now: number): HandOffPlan;
  /** Durably records one hand-off document (group-committed with its neighbours). */
  recordHandOff(record: HandOffRecord): Promise<Scheduled[]>;
  /** Whether the store can take hand-offs (the health check). */
  ready(): Promise<boolean>;
  onAccepted?(scheduled: Scheduled[]): void;
  /**
   * Whether `count` more live terminations fit under the ceiling; the seconds to wait when they do not.
   * Absent: no ceiling.
   */
  admit?(count: number): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number; limit: number }>;
  /** PEM certificate and key for HTTPS, or null for plain HTTP. */
  tls?: { cert: Buffer; key: Buffer } | null;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    loggerInstance: deps.logger,
    // One log line per transition is the audit trail; a line per request would halve throughput.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // A half-sent request must not hold a connection forever.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  installAuth(app, {
    token: deps.authToken,
    isPublic: (req) => ((req.method === 'GET' || req.method === 'HEAD') && req.url.split('?')[0] === '/delayed-termination') || isPublicOperatorRequest(req),
  });
  handOffRoutes(app, deps);
  installOperatorApi(app, deps);
  return app;
}
