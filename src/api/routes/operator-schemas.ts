/**
 * The operator API's JSON shapes: the schemas its routes validate with (and the OpenAPI document is made
 * from), and the rows as items and details in those shapes.
 */
import { ALL_STATES } from '../../domain/states.js';
import type { HistoryRow, ListedRow, TerminationRow } from '../../store/ports.js';

export const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
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

export const ITEM_SCHEMA = {
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
    step: nullable('string', { description: "the termination's step after this event, like `state` (the next one to run; the event's name says which step ran)" }),
    event: { type: 'string', description: 'what happened: accepted, terminate.started, terminate.ok, terminate.retry, cancelled, expedited, ...' },
    detail: nullable('string', { description: 'explanation or error text' }),
  },
};

export const DETAIL_SCHEMA = {
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

export const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, description: 'the termination id' } },
};

export const ACTION_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500, description: 'your words, kept in the history' } },
};

export const CANCEL_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    ...ACTION_BODY.properties,
    restore: {
      type: 'boolean',
      default: false,
      description: 'put the instance back where its drain took it from (Auto Scaling group, target groups, classic load balancers): ends `restored`, or `failed` naming what could not be put back',
    },
  },
};

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
