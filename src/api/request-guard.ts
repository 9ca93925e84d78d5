/**
 * What no web page may make a browser do, checked once for every route (present and future), before any
 * route runs:
 *
 * - `Host` must name the service (domain/allowed-hosts.ts), else 421: a DNS-rebinding page reaches a
 *   loopback listener under its own name, and the browser then treats it as same-origin.
 * - A state-changing request (any method but GET, HEAD, OPTIONS) is refused with 403 `cross_origin` when
 *   its `Origin` is not the service's own, or its `Sec-Fetch-Site` is `cross-site` or `same-site`.
 * - A state-changing request must be `application/json` (415): a browser sends a JSON body cross-site only
 *   after a CORS preflight, which fails because the service sends no CORS headers. Without this a page
 *   could POST `text/plain`, an empty body or a form with no preflight at all ("simple requests").
 *
 * Requests without `Origin` and `Sec-Fetch-*` (curl, the CLI, Skopos, scripts) are unaffected.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HostPolicy } from '../domain/allowed-hosts.js';
import { hostName } from '../domain/allowed-hosts.js';
import { HttpError } from './errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const JSON_TYPE = /^application\/json\s*(;|$)/i;

export interface RequestGuardOptions {
  hosts: HostPolicy;
  /** True once the server has begun to close (its answer is then 503). */
  isClosing(): boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route that changes nothing although its method is not GET/HEAD (the 405 answers): no 415. */
    changesNothing?: boolean;
  }
}

/**
 * The problem with a state-changing request's origin headers, or null when it may come from a page of
 * ours. `Sec-Fetch-Site` (sent by every current browser, and not settable by a page) decides when
 * present: `same-origin` is the browser's own word, which also holds behind a proxy that rewrites `Host`.
 * Older browsers send only `Origin`, compared with `Host` (or a name of --allowed-hosts).
 */
export function crossOriginProblem(request: FastifyRequest, hosts: HostPolicy): string | null {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `the browser reports this request as ${site} (Sec-Fetch-Site)`;
  if (site === 'same-origin' || site === 'none') return null;
  const origin = request.headers.origin;
  if (origin === undefined) return null;
  let from: URL;
  try {
    from = new URL(origin);
  } catch {
    return `it comes from the opaque origin ${JSON.stringify(origin)}`;
  }
  const host = request.headers.host ?? '';
  // The scheme is not compared: behind a TLS-terminating proxy the page is https and this hop is http.
  if (from.host === host.toLowerCase() || hosts.listed?.has(hostName(from.host)) === true) return null;
  return `it comes from the page origin ${from.origin}, not from this service`;
}

/** The refusal a request gets before authentication (closing, Host, origin), or null. */
function refusal(request: FastifyRequest, options: RequestGuardOptions): HttpError | null {
  if (options.isClosing()) {
    return new HttpError(503, 'shutting_down', 'the server is shutting down; nothing of this request was recorded: retry it (another replica, or this one once restarted)', {
      'retry-after': '5',
      connection: 'close',
    });
  }
  const host = request.headers.host;
  if (host === undefined) {
    if (request.raw.httpVersion !== '1.0') return new HttpError(400, 'missing_host', 'the request has no Host header (HTTP/1.1 requires one)');
  } else if (!options.hosts.allows(host)) {
    const name = hostName(host);
    return new HttpError(
      421,
      'unknown_host',
      `this server does not answer to the name ${JSON.stringify(name)} (a protection against DNS rebinding): if that name is meant to reach it, start it with --allowed-hosts ${name} (or DDSRV_ALLOWED_HOSTS)`,
    );
  }
  if (SAFE_METHODS.has(request.method)) return null;
  const problem = crossOriginProblem(request, options.hosts);
  return problem ? new HttpError(403, 'cross_origin', `refused: ${problem}; a web page cannot act on this service. Nothing was done`) : null;
}

/** A state-changing request that is not JSON-typed: its refusal, or null. */
function notJson(request: FastifyRequest): HttpError | null {
  if (SAFE_METHODS.has(request.method) || request.routeOptions.config.changesNothing || request.routeOptions.url === undefined) return null;
  const type = request.headers['content-type'];
  if (type !== undefined && JSON_TYPE.test(type)) return null;
  return new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json (got ${JSON.stringify(type ?? 'none')}); send a JSON body, {} when there is nothing to say. Nothing was done`);
}

export function installRequestGuard(app: FastifyInstance, options: RequestGuardOptions): void {
  // Callback hooks, not async ones: they run on every request, hand-offs included.
  app.addHook('onRequest', (request, _reply, done) => done(refusal(request, options) ?? undefined));
  // After authentication (onRequest), before the body is read: a client without the token learns nothing.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const refused = notJson(request);
    if (refused) done(refused);
    else done(null, payload);
  });
}
