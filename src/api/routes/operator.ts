/**
 * The operator API (API.md §4), under /api/v1, behind the same authentication as hand-offs:
 *
 *   GET  /api/v1/terminations?state=&instance_id=&project=&component=&limit=&cursor=
 *   GET  /api/v1/terminations/:id                 one termination with its full history
 *   POST /api/v1/terminations/:id/cancel          pending or draining -> cancelled (the instance is kept)
 *   POST /api/v1/terminations/:id/expedite        pending or draining -> terminate now
 *
 * Routes are thin: a JSON schema in (validated, and the source of the OpenAPI document), a store call,
 * a JSON schema out. A conflicting action answers 409 with the termination's current state.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ALL_STATES, FINAL_STATES, isState } from '../../domain/states.js';
import {
  cancelTermination,
  expediteTermination,
  getTermination,
  listTerminations,
  type ActionResult,
  type ListedRow,
} from '../../store/operator.js';
import type { HistoryRow, TerminationRow } from '../../store/schema.js';
import type { TerminationStore } from '../../store/store.js';
import { HttpError } from '../errors.js';
import { ERROR_SCHEMA, CONFLICT_SCHEMA } from './schemas.js';
import type { ServiceStatus } from './status.js';

export interface OperatorDeps {
  store: TerminationStore;
  now(): number;
  /** Wakes the worker: an expedited termination is due now. */
  pokeWorker(): void;
  /** After every cancel or expedite attempt (metrics, notifications). */
  onAction?(action: 'cancel' | 'expedite', result: ActionResult['kind']): void;
  /** What GET /api/v1/status reports (routes/status.ts); absent: no status route. */
  status?(): ServiceStatus;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const QUERY_KEYS = new Set(['state', 'instance_id', 'project', 'component', 'limit', 'cursor']);

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const time = { type: 'string', format: 'date-time' };

const ITEM_PROPERTIES = {
  id: { type: 'integer', description: 'the termination id (ids are never reused)' },
  instance_id: { type: 'string', examples: ['i-0123456789abcdef0'] },
  region: { type: 'string', examples: ['us-east-1'] },
  state: { type: 'string', enum: [...ALL_STATES] },
  final: { type: 'boolean', description: 'true once the state can no longer change' },
  step: { type: 'string', description: 'the pipeline step the worker runs next (or ran last, once final)' },
  due_at: { ...time, description: 'earliest termination time: hand-off + delay (now, once expedited)' },
  next_attempt_at: nullable('string', { format: 'date-time', description: "the worker's next look at it (a retry, or a drain check); null once final" }),
  attempts: { type: 'integer', description: 'failed tries of the current step' },
  reason: nullable('string', { description: 'why it is in its state: the last error while retrying, the final reason otherwise' }),
  project: nullable('string'),
  component: nullable('string'),
  ip_address: nullable('string', { description: 'as handed off (informational only)' }),
  requested_by: nullable('string', { description: 'who handed it off: `bearer`, `basic:<user>`, or null without authentication' }),
  created_at: { ...time, description: 'when it was handed off' },
  updated_at: time,
} as const;

const ITEM_SCHEMA = {
  type: 'object',
  required: Object.keys(ITEM_PROPERTIES),
  properties: ITEM_PROPERTIES,
};

const HISTORY_SCHEMA = {
  type: 'object',
  required: ['at', 'state', 'step', 'event', 'detail'],
  properties: {
    at: time,
    state: { type: 'string', description: 'the state after this event' },
    step: nullable('string'),
    event: { type: 'string', description: 'what happened: accepted, terminate.started, terminate.ok, terminate.retry, cancelled, expedited, ...' },
    detail: nullable('string', { description: 'explanation or error text' }),
  },
};

const DETAIL_SCHEMA = {
  type: 'object',
  required: [...Object.keys(ITEM_PROPERTIES), 'user_data', 'source_ip', 'user_agent', 'history'],
  properties: {
    ...ITEM_PROPERTIES,
    user_data: { description: "the hand-off's opaque user_data, any JSON value" },
    source_ip: nullable('string'),
    user_agent: nullable('string'),
    history: { type: 'array', items: HISTORY_SCHEMA, description: 'every transition, oldest first; the first is the hand-off itself (`accepted`)' },
  },
};

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, description: 'the termination id' } },
};

const ACTION_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500, description: 'your words, kept in the history' } },
};

export function encodeCursor(id: number): string {
  return Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new HttpError(400, 'invalid_cursor', 'the cursor is not one this server gave out: pass the `next` value of the previous page unchanged, or leave it out for the first page');
  return Number(match[1]);
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function toItem(row: ListedRow) {
  return {
    id: row.id,
    instance_id: row.instance_id,
    region: row.region,
    state: row.state,
    final: row.next_attempt_at === null,
    step: row.step,
    due_at: iso(row.due_at),
    next_attempt_at: isoOrNull(row.next_attempt_at),
    attempts: row.attempts,
    reason: row.reason,
    project: row.project,
    component: row.component,
    ip_address: row.ip_address,
    requested_by: row.requested_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** The hand-off itself is not stored as a history row (it is the hot path): it is told from the row. */
function acceptedEvent(row: TerminationRow) {
  const by = row.requested_by ?? 'an unauthenticated client';
  const from = [row.source_ip ? `from ${row.source_ip}` : null, row.user_agent ? `(${row.user_agent})` : null].filter(Boolean).join(' ');
  return { at: iso(row.created_at), state: 'pending', step: null, event: 'accepted', detail: `handed off by ${by}${from ? ` ${from}` : ''}; due ${iso(row.due_at)}` };
}

export function toDetail(row: TerminationRow, history: HistoryRow[]) {
  let userData: unknown = null;
  if (row.user_data !== null) {
    try {
      userData = JSON.parse(row.user_data);
    } catch {
      userData = row.user_data;
    }
  }
  return {
    ...toItem(row),
    user_data: userData,
    source_ip: row.source_ip,
    user_agent: row.user_agent,
    history: [acceptedEvent(row), ...history.map((h) => ({ at: iso(h.at), state: h.state, step: h.step, event: h.event, detail: h.detail }))],
  };
}

function parseStates(raw: string): string[] {
  const states = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (states.length === 0) throw new HttpError(400, 'invalid_state', 'state is empty: give one or more states, comma-separated (e.g. state=pending,draining)');
  for (const s of states) {
    if (!isState(s)) throw new HttpError(400, 'invalid_state', `'${s}' is not a state; use one or more of ${ALL_STATES.join(', ')} (comma-separated)`);
  }
  return states;
}

interface ListQuerystring {
  state?: string;
  instance_id?: string;
  project?: string;
  component?: string;
  limit?: number;
  cursor?: string;
}

export function operatorRoutes(app: FastifyInstance, deps: OperatorDeps): void {
  app.get<{ Querystring: ListQuerystring }>(
    '/api/v1/terminations',
    {
      schema: {
        operationId: 'listTerminations',
        summary: 'List terminations, newest first',
        description:
          'Keyset-paged by id (newest first): pass `next` back as `cursor`, with the same filters, for the following page. ' +
          'Filters combine with AND; `state` takes several states, comma-separated.',
        tags: ['operator'],
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', description: `one or more of ${ALL_STATES.join(', ')}, comma-separated` },
            instance_id: { type: 'string', maxLength: 64 },
            project: { type: 'string', maxLength: 255 },
            component: { type: 'string', maxLength: 255 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
            cursor: { type: 'string', maxLength: 64, description: 'the `next` of the previous page' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'next'],
            properties: {
              items: { type: 'array', items: ITEM_SCHEMA },
              next: nullable('string', { description: 'cursor of the next page; null on the last page' }),
            },
          },
          400: ERROR_SCHEMA,
          401: ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const unknown = [...new URLSearchParams(request.url.split('?')[1] ?? '').keys()].filter((k) => !QUERY_KEYS.has(k));
      if (unknown.length > 0) {
        throw new HttpError(400, 'invalid_parameter', `unknown query parameter ${unknown.map((k) => `'${k}'`).join(', ')}; the filters are ${[...QUERY_KEYS].join(', ')}`);
      }
      const q = request.query;
      const limit = q.limit ?? DEFAULT_LIMIT;
      const page = await listTerminations(deps.store.db, {
        states: q.state !== undefined ? parseStates(q.state) : undefined,
        instanceId: q.instance_id || undefined,
        project: q.project || undefined,
        component: q.component || undefined,
        beforeId: q.cursor ? decodeCursor(q.cursor) : undefined,
        limit,
      });
      const last = page.rows[page.rows.length - 1];
      return { items: page.rows.map(toItem), next: page.more && last ? encodeCursor(last.id) : null };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/terminations/:id',
    {
      schema: {
        operationId: 'getTermination',
        summary: 'One termination with its full history',
        tags: ['operator'],
        params: ID_PARAMS,
        response: { 200: DETAIL_SCHEMA, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      },
    },
    async (request) => {
      const found = await getTermination(deps.store.db, request.params.id);
      if (!found) throw notFound(request.params.id);
      return toDetail(found.row, found.history);
    },
  );

  const action = (name: 'cancel' | 'expedite', run: typeof cancelTermination, summary: string, description: string) =>
    app.post<{ Params: { id: number }; Body: { reason?: string } | null | undefined }>(
      `/api/v1/terminations/:id/${name}`,
      {
        schema: {
          operationId: `${name}Termination`,
          summary,
          description,
          tags: ['operator'],
          params: ID_PARAMS,
          body: ACTION_BODY,
          response: { 200: DETAIL_SCHEMA, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: CONFLICT_SCHEMA },
        },
      },
      async (request: FastifyRequest<{ Params: { id: number }; Body: { reason?: string } | null | undefined }>, reply: FastifyReply) => {
        const note = request.body?.reason?.trim() || null;
        const result = await run(deps.store, { id: request.params.id, by: request.principal, note, now: deps.now() });
        deps.onAction?.(name, result.kind);
        if (result.kind === 'not_found') throw notFound(request.params.id);
        if (result.kind === 'conflict') {
          const final = (FINAL_STATES as readonly string[]).includes(result.state);
          return reply.code(409).send({
            error: 'conflict',
            message: `termination ${request.params.id} is ${result.state}: only pending or draining terminations can be ${name === 'cancel' ? 'cancelled' : 'expedited'}${
              final ? ' (it is over)' : result.state === 'terminating' ? ' (the termination call is already under way)' : ''
            }`,
            state: result.state,
          });
        }
        if (name === 'expedite') deps.pokeWorker();
        request.log.info({ id: result.row.id, instance_id: result.row.instance_id, region: result.row.region, state: result.row.state, event: name === 'cancel' ? 'cancelled' : 'expedited', by: request.principal }, 'transition');
        return toDetail(result.row, result.history);
      },
    );

  action(
    'cancel',
    cancelTermination,
    'Cancel a pending or draining termination (the instance is kept)',
    'The termination ends in `cancelled` and the instance is left running. If it had already started draining, the history says so: it is not put back into its load balancers or Auto Scaling group. 409 with the current state when it is terminating or over.',
  );
  action(
    'expedite',
    expediteTermination,
    'Terminate now: skip the rest of the delay and of the drain',
    'The termination becomes due at once and jumps to its termination step; the worker is woken. 409 with the current state when it is terminating or over.',
  );
}

function notFound(id: number): HttpError {
  return new HttpError(404, 'not_found', `there is no termination ${id}; list them with GET /api/v1/terminations`);
}
