/**
 * The operator API (README "Operator API"; the OpenAPI document at /api/v1/openapi.json describes every
 * parameter and answer), under /api/v1, behind the same authentication as hand-offs:
 *
 *   GET  /api/v1/terminations?state=&instance_id=&project=&component=&order=&limit=&cursor=
 *   GET  /api/v1/terminations/:id                 one termination with its full history
 *   POST /api/v1/terminations/:id/cancel          pending or draining -> cancelled (the instance is kept);
 *                                                 {"restore": true}: -> restoring -> restored (put back in service)
 *   POST /api/v1/terminations/:id/expedite        pending or draining -> terminate now
 *
 * Routes are thin: a JSON schema in (validated, and the source of the OpenAPI document), a store call,
 * a JSON schema out. A conflicting action answers 409 with the termination's current state.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ALL_STATES, FINAL_STATES, isState } from '../../domain/states.js';
import { cancelAndRestore, cancelTermination, expediteTermination, type ActionRequest } from '../../operator/index.js';
import type { ActionResult, ListOrder, Store } from '../../store/ports.js';
import { HttpError } from '../errors.js';
import { cursorAfter, decodeCursor } from './list-cursor.js';
import { ACTION_BODY, CANCEL_BODY, DETAIL_SCHEMA, ID_PARAMS, ITEM_SCHEMA, nullable, toDetail, toItem } from './operator-schemas.js';
import { ERROR_SCHEMA, CONFLICT_SCHEMA } from './schemas.js';
import type { ServiceStatus } from './status.js';

export { encodeCursor, decodeCursor } from './list-cursor.js';
export { toDetail, toItem } from './operator-schemas.js';

export interface OperatorDeps {
  store: Pick<Store, 'reads' | 'actions'>;
  now(): number;
  /** Wakes the worker: an expedited termination is due now. */
  pokeWorker(): void;
  /** After every cancel or expedite attempt (metrics, notifications); `state`: the row's state after a done one. */
  onAction?(action: OperatorAction, result: ActionResult['kind'], state?: string): void;
  /** What GET /api/v1/status reports (routes/status.ts); absent: no status route. */
  status?(): ServiceStatus;
}

/** `restore`: a cancel with `{"restore": true}`. */
export type OperatorAction = 'cancel' | 'expedite' | 'restore';

type ActionBody = { reason?: string; restore?: boolean } | null | undefined;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const QUERY_KEYS = new Set(['state', 'instance_id', 'project', 'component', 'order', 'limit', 'cursor']);
const ORDERS: readonly ListOrder[] = ['id', 'due', 'ended'];

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
  order?: ListOrder;
  limit?: number;
  cursor?: string;
}

export function operatorRoutes(app: FastifyInstance, deps: OperatorDeps): void {
  app.get<{ Querystring: ListQuerystring }>(
    '/api/v1/terminations',
    {
      schema: {
        operationId: 'listTerminations',
        summary: 'List terminations, newest first (or soonest due, or latest ended)',
        description:
          'Keyset-paged in the order asked for: pass `next` back as `cursor`, with the same filters and order, for the following page. ' +
          'Filters combine with AND; `state` takes several states, comma-separated.',
        tags: ['operator'],
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', description: `one or more of ${ALL_STATES.join(', ')}, comma-separated` },
            instance_id: { type: 'string', maxLength: 64 },
            project: { type: 'string', maxLength: 255 },
            component: { type: 'string', maxLength: 255 },
            order: {
              type: 'string',
              enum: [...ORDERS],
              default: 'id',
              description:
                '`id`: newest first (the default); `due`: soonest `due_at` first, ties by lower id; ' +
                '`ended`: final terminations only, the latest to end (`updated_at`) first, ties by higher id',
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
            cursor: { type: 'string', maxLength: 96, description: 'the `next` of the previous page (opaque; valid for the same order)' },
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
      const order = q.order ?? 'id';
      const states = q.state !== undefined ? parseStates(q.state) : undefined;
      const live = order === 'ended' ? states?.filter((s) => !(FINAL_STATES as readonly string[]).includes(s)) : undefined;
      if (live && live.length > 0) {
        throw new HttpError(400, 'invalid_parameter', `order=ended lists final terminations only; ${live.join(', ')} ${live.length > 1 ? 'are' : 'is'} not final`);
      }
      const page = await deps.store.reads.list({
        states,
        instanceId: q.instance_id || undefined,
        project: q.project || undefined,
        component: q.component || undefined,
        order,
        after: q.cursor ? decodeCursor(q.cursor, order) : undefined,
        limit: q.limit ?? DEFAULT_LIMIT,
      });
      const last = page.rows[page.rows.length - 1];
      return { items: page.rows.map(toItem), next: page.more && last ? cursorAfter(order, last) : null };
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
      const found = await deps.store.reads.get(request.params.id);
      if (!found) throw notFound(request.params.id);
      return toDetail(found.row, found.history);
    },
  );

  const action = (name: 'cancel' | 'expedite', body: object, run: (req: ActionRequest, body: ActionBody) => { kind: OperatorAction; result: Promise<ActionResult> }, summary: string, description: string) =>
    app.post<{ Params: { id: number }; Body: ActionBody }>(
      `/api/v1/terminations/:id/${name}`,
      {
        schema: {
          operationId: `${name}Termination`,
          summary,
          description,
          tags: ['operator'],
          params: ID_PARAMS,
          body,
          response: { 200: DETAIL_SCHEMA, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: CONFLICT_SCHEMA },
        },
      },
      async (request: FastifyRequest<{ Params: { id: number }; Body: ActionBody }>, reply: FastifyReply) => {
        const note = request.body?.reason?.trim() || null;
        const asked = run({ id: request.params.id, by: request.principal, note, now: deps.now() }, request.body);
        const result = await asked.result;
        deps.onAction?.(asked.kind, result.kind, result.kind === 'done' ? result.row.state : undefined);
        if (result.kind === 'not_found') throw notFound(request.params.id);
        if (result.kind === 'conflict') {
          const final = (FINAL_STATES as readonly string[]).includes(result.state);
          return reply.code(409).send({
            error: 'conflict',
            message: `termination ${request.params.id} is ${result.state}: only pending or draining terminations can be ${name === 'cancel' ? 'cancelled' : 'expedited'}${
              final ? ' (it is over)' : result.state === 'terminating' ? ' (the termination call is already under way)' : result.state === 'restoring' ? ' (it is being put back in service)' : ''
            }`,
            state: result.state,
          });
        }
        // An expedited termination is due now, and so is a restore's first step.
        if (name === 'expedite' || result.row.next_attempt_at !== null) deps.pokeWorker();
        const event = result.history.at(-1)?.event ?? name;
        request.log.info({ id: result.row.id, instance_id: result.row.instance_id, region: result.row.region, state: result.row.state, event, by: request.principal }, 'transition');
        return toDetail(result.row, result.history);
      },
    );

  action(
    'cancel',
    CANCEL_BODY,
    (req, body) => (body?.restore ? { kind: 'restore', result: cancelAndRestore(deps.store.actions, req) } : { kind: 'cancel', result: cancelTermination(deps.store.actions, req) }),
    'Cancel a pending or draining termination (the instance is kept; with restore, put back in service)',
    'The termination ends in `cancelled` and the instance is left running. If it had already started draining, the history says so: it is not put back into its load balancers or Auto Scaling group. ' +
      'With `{"restore": true}` it is: the termination moves to `restoring` and the worker re-attaches the instance to the Auto Scaling group it was detached from (the group\'s desired capacity goes back up by one) and registers it again with every target group (on the recorded port) and classic load balancer it was deregistered from, optionally waiting until healthy (policy `restore.wait_healthy`). It ends `restored`, or `failed` naming what could not be put back (a group at its maximum size or gone, a load balancer gone); an instance that had left nothing ends `restored` at once. A drain hook that already ran is not undone. ' +
      '409 with the current state when it is terminating, restoring or over.',
  );
  action(
    'expedite',
    ACTION_BODY,
    (req) => ({ kind: 'expedite', result: expediteTermination(deps.store.actions, req) }),
    'Terminate now: skip the rest of the delay and of the drain',
    'The termination becomes due at once and jumps to its termination step; the worker is woken. 409 with the current state when it is terminating or over.',
  );
}

function notFound(id: number): HttpError {
  return new HttpError(404, 'not_found', `there is no termination ${id}; list them with GET /api/v1/terminations`);
}
