/**
 * Builds the Fastify application without listening, so tests drive it with `inject()` and the process
 * start-up (server.ts) stays separate.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { parseJsonBody } from './json-body.js';
import type { HandOff } from '../domain/handoff.js';
import type { HandOffPlan } from '../policy/plan-handoff.js';
import type { HandOffRecord, Scheduled } from '../store/ports.js';
import { installAuth } from './auth.js';
import type { HostPolicy } from '../domain/allowed-hosts.js';
import { clientErrorHandler, frameworkErrorHandler, REQUEST_TIMEOUT_MS } from './client-errors.js';
import { installRequestGuard } from './request-guard.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { handOffRoutes } from './routes/handoff.js';
import { installOperatorApi, isPublicOperatorRequest, type OperatorApiDeps } from './operator-api.js';

/** `operator` and `metrics` (OperatorApiDeps) add the operator API, the dashboard and /metrics. */
export interface AppDeps extends OperatorApiDeps {
  logger: FastifyBaseLogger;
  /** The shared token, or null when authentication is off. */
  authToken: string | null;
  bodyLimitBytes: number;
  /** Largest `user_data` of a hand-off, serialized (bytes). */
  maxUserDataBytes: number;
  /** The `Host` names served (DNS-rebinding defence, request-guard.ts). */
  hosts: HostPolicy;
  now(): number;
  /** When a hand-off is due, and where and when its pipeline starts (from the policy). */
  plan(doc: HandOff, now: number): HandOffPlan;
  /** Durably records one hand-off document (group-committed with its neighbours). */
  recordHandOff(record: HandOffRecord): Promise<Scheduled[]>;
  /** Why the store cannot take hand-offs now, or null when it can (the health check). */
  unavailable(): Promise<string | null>;
  onAccepted?(scheduled: Scheduled[]): void;
  /**
   * Whether `count` more live terminations fit under the ceiling; the seconds to wait when they do not.
   * Absent: no ceiling.
   */
  admit?(count: number): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number; limit: number }>;
  /** PEM certificate and key for HTTPS, or null for plain HTTP. */
  tls?: { cert: Buffer; key: Buffer } | null;
}

/**
 * Node's HTTP server options. A slow request was dropped after 90 s, not 30: Node enforces the larger of
 * `headersTimeout` (its default, 60 s, stayed when Fastify set `requestTimeout`) and `requestTimeout`,
 * and looks only every `connectionsCheckingInterval` (30 s by default). A missing Host header is
 * answered by request-guard.ts (Node's own answer is an empty 400).
 */
const NODE_HTTP = { headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000, requireHostHeader: false };

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, ...NODE_HTTP } } : { http: NODE_HTTP }),
    loggerInstance: deps.logger,
    // One log line per transition is the audit trail; a line per request would halve throughput.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // A half-sent request must not hold a connection forever.
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
    // The 503 while closing comes from request-guard.ts, in the documented error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  installRequestGuard(app, { hosts: deps.hosts, isClosing: () => closing });
  installAuth(app, {
    token: deps.authToken,
    isPublic: (req) => ((req.method === 'GET' || req.method === 'HEAD') && req.url.split('?')[0] === '/delayed-termination') || isPublicOperatorRequest(req),
  });
  handOffRoutes(app, deps);
  installOperatorApi(app, deps);
  return app;
}
