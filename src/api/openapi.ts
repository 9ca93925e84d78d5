/**
 * The OpenAPI 3.1 document at GET /api/v1/openapi.json. Routes with a JSON schema (the operator API) are
 * described from the schemas they validate with (an `onRoute` hook collects them), so those parts cannot
 * drift from what the server checks. Written here by hand, and kept true by review only: the hand-off
 * endpoint and its health check (it parses its body itself, for its precise error codes), /metrics, the
 * dashboard, this document's own route, and the answers any route may give before it runs.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { VERSION } from '../version.js';
import { ERROR_SCHEMA } from './routes/schemas.js';

export const OPENAPI_PATH = '/api/v1/openapi.json';

declare module 'fastify' {
  /** Documentation-only keys of a route schema (ignored by validation, used by the OpenAPI document). */
  interface FastifySchema {
    operationId?: string;
    summary?: string;
    description?: string;
    tags?: string[];
    hide?: boolean;
  }
}

interface RouteSchema {
  summary?: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string, JsonSchema>;
}
type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema>; required?: readonly string[]; description?: string; type?: unknown };

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '400': 'Bad request: the error code and message say what is wrong',
  '401': 'Credentials missing or wrong',
  '404': 'No such termination',
  '409': 'Conflict: the termination is not in a state that allows this; `state` is its current state',
};

/** Starts collecting the schemas of routes declared on `scope` from now on. */
export function collectRoutes(scope: FastifyInstance): RouteOptions[] {
  const routes: RouteOptions[] = [];
  scope.addHook('onRoute', (route) => {
    if (route.schema && !(route.schema as { hide?: boolean }).hide) routes.push(route);
  });
  return routes;
}

const json = (schema: unknown) => ({ 'application/json': { schema } });

function operation(route: RouteOptions, method: string) {
  const schema = route.schema as RouteSchema;
  const parameters: unknown[] = [];
  for (const [where, s] of [['path', schema.params], ['query', schema.querystring]] as const) {
    for (const [name, prop] of Object.entries(s?.properties ?? {})) {
      const { description, ...rest } = prop;
      parameters.push({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  const op: Record<string, unknown> = {
    operationId: schema.operationId ?? `${method}${route.url.replace(/[^a-zA-Z0-9]+/g, '_')}`,
    ...(schema.summary ? { summary: schema.summary } : {}),
    ...(schema.description ? { description: schema.description } : {}),
    ...(schema.tags ? { tags: schema.tags } : {}),
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (schema.body) {
    // Required even where the schema admits null: a state-changing request must be application/json
    // (request-guard.ts), so `{}` (or `null`) is what "nothing to say" looks like.
    op.requestBody = { required: true, description: 'application/json; send {} when there is nothing to say', content: json(schema.body) };
  }
  op.responses = Object.fromEntries(
    Object.entries(schema.response ?? { 200: {} }).map(([code, s]) => [code, { description: s.description ?? STATUS_TEXT[code] ?? 'See the body', content: json(s) }]),
  );
  return op;
}

const HANDOFF_DOCUMENT = {
  type: 'object',
  description: "The original server's document. Fields the service does not know are ignored.",
  properties: {
    ec2_instance_id: { type: 'string', pattern: '^i-([0-9a-f]{8}|[0-9a-f]{17})$' },
    ec2_instance_ids: { type: 'array', maxItems: 1000, items: { type: 'string', pattern: '^i-([0-9a-f]{8}|[0-9a-f]{17})$' }, description: 'used instead of ec2_instance_id when present' },
    ec2_region: { type: 'string', default: 'us-east-1' },
    ip_address: { type: 'string', maxLength: 255 },
    project: { type: 'string', maxLength: 255 },
    component: { type: 'string', maxLength: 255 },
    user_data: { description: 'any JSON value, kept opaque' },
  },
};

/** Routes that do not validate with a schema, described by hand. */
const HAND_WRITTEN = {
  '/delayed-termination': {
    get: {
      operationId: 'health',
      summary: 'Health check (no credentials needed)',
      tags: ['hand-off'],
      security: [],
      responses: { '200': { description: 'the service can record hand-offs; empty text/plain body' }, '503': { description: 'the database is unreachable', content: json(ERROR_SCHEMA) } },
    },
    post: {
      operationId: 'handOff',
      summary: 'Hand instances off for delayed termination',
      description: 'Answers 200 only once the hand-off is durably recorded. Repeating a hand-off of a scheduled instance is harmless (`already_scheduled: true`).',
      tags: ['hand-off'],
      requestBody: { required: true, content: json(HANDOFF_DOCUMENT) },
      responses: {
        '200': {
          description: 'recorded',
          content: json({
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              terminations: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    instance_id: { type: 'string' },
                    region: { type: 'string' },
                    state: { type: 'string' },
                    due_at: { type: 'string', format: 'date-time' },
                    already_scheduled: { type: 'boolean' },
                  },
                },
              },
            },
          }),
        },
        '400': { description: 'malformed document; nothing was scheduled', content: json(ERROR_SCHEMA) },
        '401': { description: 'credentials missing or wrong', content: json(ERROR_SCHEMA) },
        '413': { description: '`body_too_large`: the body is over --body-limit; `user_data_too_large`: user_data is over --max-user-data (16 KiB serialized by default). Nothing was scheduled', content: json(ERROR_SCHEMA) },
        '503': {
          description:
            '`store_unavailable`: the database failed, nothing was recorded, retry; `outcome_unknown`: the database did not confirm the commit, the hand-off may or may not be recorded, retrying is safe; `shutting_down`: retry elsewhere or later',
          content: json(ERROR_SCHEMA),
        },
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['monitoring'],
      responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': { description: 'credentials missing or wrong', content: json(ERROR_SCHEMA) } },
    },
  },
  '/': {
    get: {
      operationId: 'dashboard',
      summary: 'The dashboard for people (HTML; it asks for the token and calls this API with it)',
      tags: ['operator'],
      security: [],
      responses: { '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
};

/** What any route may answer before it runs (request-guard.ts, client-errors.ts). */
const EVERY_ROUTE = {
  '421': { description: '`unknown_host`: the Host header does not name this service (DNS-rebinding defence); the message names --allowed-hosts', content: json(ERROR_SCHEMA) },
};
/** What every state-changing route (any method but GET, HEAD, OPTIONS) may answer besides. */
const STATE_CHANGING = {
  '403': { description: '`cross_origin`: sent by a web page of another origin (Origin, or Sec-Fetch-Site cross-site/same-site); nothing was done', content: json(ERROR_SCHEMA) },
  '413': { description: '`body_too_large`: the body is over --body-limit', content: json(ERROR_SCHEMA) },
  '415': { description: '`unsupported_media_type`: not application/json (send {} when there is nothing to say); nothing was done', content: json(ERROR_SCHEMA) },
  '503': { description: '`shutting_down`: the server is closing, nothing was done; `outcome_unknown`: the database did not confirm the change, look before retrying', content: json(ERROR_SCHEMA) },
};

/** Adds the answers common to all routes, without replacing a route's own. */
function withCommonAnswers(paths: Record<string, Record<string, unknown>>): void {
  for (const operations of Object.values(paths)) {
    for (const [method, op] of Object.entries(operations) as [string, { responses: Record<string, unknown> }][]) {
      const common = ['get', 'head', 'options'].includes(method) ? EVERY_ROUTE : { ...EVERY_ROUTE, ...STATE_CHANGING };
      op.responses = { ...common, ...op.responses };
    }
  }
}

export function openApiDocument(routes: RouteOptions[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = structuredClone(HAND_WRITTEN);
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    for (const method of ([] as string[]).concat(route.method)) {
      if (method === 'HEAD') continue;
      (paths[path] ??= {})[method.toLowerCase()] = operation(route, method.toLowerCase());
    }
  }
  paths[OPENAPI_PATH] = {
    get: { operationId: 'openapi', summary: 'This document', tags: ['operator'], security: [], responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } } },
  };
  withCommonAnswers(paths);
  return {
    openapi: '3.1.0',
    info: {
      title: 'asg-delegated-destroy (ddsrv)',
      version: VERSION,
      description:
        'Durable delayed termination of EC2 instances handed off by Skopos, and the operator API to watch and steer it. ' +
        'Every error is `{"error": code, "message": text}`, including those sent before a route runs: 400 `malformed_request`, ' +
        '`invalid_url` or `missing_host`, 408 `request_timeout` (the whole request must arrive within 30 s), 431 `headers_too_large`.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the server token (--auth-token)' },
        basic: { type: 'http', scheme: 'basic', description: 'any user name, the server token as the password' },
      },
    },
    security: [{ bearer: [] }, { basic: [] }],
    tags: [
      { name: 'hand-off', description: "the original server's endpoint" },
      { name: 'operator', description: 'watch and steer terminations' },
      { name: 'monitoring', description: 'Prometheus' },
    ],
    paths,
  };
}

export function openApiRoute(app: FastifyInstance, routes: RouteOptions[]): void {
  let doc: string | undefined;
  app.get(OPENAPI_PATH, async (_request, reply) => {
    doc ??= JSON.stringify(openApiDocument(routes), null, 2);
    return reply.type('application/json; charset=utf-8').send(doc);
  });
}
