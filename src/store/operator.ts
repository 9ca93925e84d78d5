/**
 * What operators read and do: list and show terminations, cancel one, expedite one. Every query is an
 * index seek (no OFFSET, no sort of the table), so it stays fast with a million rows:
 *
 * - no filter: the primary key, newest first;
 * - an instance id: its few rows (at most MAX_ROWS_PER_INSTANCE) through the (instance_id, region, live)
 *   index, sorted by id, the other filters applied to them;
 * - states, project, component: one seek per state on (state, id), (project, state, id) or
 *   (component, state, id), each `ORDER BY id DESC LIMIT n`, merged. States are a closed set, so a
 *   filter without a state is at most one small seek per state.
 *
 * Cancel and expedite are conditional updates that also clear the lease: the worker records everything
 * under its lease and moves rows to `terminating` under it before the irreversible call, so whichever of
 * the two commits first wins, and the other sees it (the operator gets 409 with the state, or the worker
 * finds the row no longer its own and leaves it alone).
 */
import type { Kysely, Transaction } from 'kysely';
import { ACTIVE_STATES, ALL_STATES, STEPS } from '../domain/states.js';
import type { Database, HistoryRow, TerminationRow } from './schema.js';
import type { TerminationStore } from './store.js';
import { readStepData } from '../worker/step-data.js';

/** What a listing returns per row: everything but user_data and step_data, which may be large. */
export type ListedRow = Omit<TerminationRow, 'user_data' | 'step_data'>;

const LIST_COLUMNS = [
  'id', 'instance_id', 'region', 'state', 'step', 'due_at', 'next_attempt_at', 'lease_owner', 'attempts', 'reason',
  'project', 'component', 'ip_address', 'requested_by', 'source_ip', 'user_agent', 'created_at', 'updated_at',
] as const;

/** The states an operator may cancel or expedite from. */
export const ACTIONABLE_STATES = ['pending', 'draining'] as const;
/** The step an expedited termination jumps to (the last one, the termination itself). */
export const EXPEDITE_STEP = 'terminate';
/**
 * Steps an expedite does not skip when they have not run yet: every step before the drain wait
 * (worker/pipeline.ts: the guard check, leaving the Auto Scaling group, leaving the load balancers). They
 * are quick, and they make terminating allowed and safe: a guard must never be bypassed, a group would
 * launch a replacement, and clients would get errors from a load balancer still sending traffic.
 */
const KEPT_BY_EXPEDITE = new Set<string>(STEPS.includes('drain_wait') ? STEPS.slice(0, STEPS.indexOf('drain_wait')) : []);
/** An instance rarely has more than a few terminations; this bounds a pathological one. */
const MAX_ROWS_PER_INSTANCE = 1000;

export interface ListQuery {
  /** Any of these states (all when absent). */
  states?: string[];
  instanceId?: string;
  project?: string;
  component?: string;
  /** Only ids below this (from the cursor). */
  beforeId?: number;
  limit: number;
}

export interface ListPage {
  rows: ListedRow[];
  /** Whether rows older than the last one match too. */
  more: boolean;
}

export async function listTerminations(db: Kysely<Database>, q: ListQuery): Promise<ListPage> {
  const want = q.limit + 1;
  let rows: ListedRow[];
  if (q.instanceId !== undefined) {
    let query = db.selectFrom('terminations').select(LIST_COLUMNS).where('instance_id', '=', q.instanceId).orderBy('id', 'desc').limit(MAX_ROWS_PER_INSTANCE);
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    const states = q.states ? new Set(q.states) : undefined;
    rows = (await query.execute())
      .filter((r) => (!states || states.has(r.state)) && (q.project === undefined || r.project === q.project) && (q.component === undefined || r.component === q.component))
      .slice(0, want);
  } else if (q.states === undefined && q.project === undefined && q.component === undefined) {
    rows = await seek(db, q, undefined, want);
  } else {
    const states = q.states ?? [...ALL_STATES];
    const parts = await Promise.all(states.map((s) => seek(db, q, s, want)));
    rows = parts.flat().sort((a, b) => b.id - a.id).slice(0, want);
  }
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
}

/** One index seek, newest first (exported so a test can check its query plan). */
export function seekQuery(db: Kysely<Database>, q: Omit<ListQuery, 'states' | 'instanceId'>, state: string | undefined, limit: number) {
  let query = db.selectFrom('terminations').select(LIST_COLUMNS).orderBy('id', 'desc').limit(limit);
  if (state !== undefined) query = query.where('state', '=', state);
  if (q.project !== undefined) query = query.where('project', '=', q.project);
  if (q.component !== undefined) query = query.where('component', '=', q.component);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  return query;
}

const seek = (db: Kysely<Database>, q: ListQuery, state: string | undefined, limit: number): Promise<ListedRow[]> => seekQuery(db, q, state, limit).execute();

export interface Detailed {
  row: TerminationRow;
  history: HistoryRow[];
}

export async function getTermination(db: Kysely<Database>, id: number): Promise<Detailed | undefined> {
  const row = await db.selectFrom('terminations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const history = await db.selectFrom('termination_history').selectAll().where('termination_id', '=', id).orderBy('id').execute();
  return { row, history };
}

export type ActionResult =
  | { kind: 'done'; row: TerminationRow; history: HistoryRow[] }
  | { kind: 'not_found' }
  | { kind: 'conflict'; state: string };

export interface ActionRequest {
  id: number;
  /** Who asked (the request's principal), for the history. */
  by: string | null;
  /** The operator's own words, if any. */
  note: string | null;
  now: number;
}

const isActionable = (row: TerminationRow) => row.next_attempt_at !== null && (ACTIONABLE_STATES as readonly string[]).includes(row.state);

/** Ends a pending or draining termination without terminating: the instance is kept. */
export function cancelTermination(store: TerminationStore, req: ActionRequest): Promise<ActionResult> {
  return act(store, req, async (trx, row, history) => {
    const who = req.by ?? 'an operator';
    const reason = `cancelled by ${who}${req.note ? `: ${req.note}` : ''}`;
    const updated = await trx
      .updateTable('terminations')
      .set({ state: 'cancelled', next_attempt_at: null, lease_owner: null, reason, updated_at: req.now })
      .where('id', '=', row.id)
      .where('state', 'in', ACTIONABLE_STATES)
      .where('next_attempt_at', 'is not', null)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    return { state: 'cancelled', step: row.step, event: 'cancelled', detail: `${reason}. The instance is kept. ${drainNote(row, history)}`.trim() };
  });
}

/**
 * Skips the rest of the delay and of the drain: the worker terminates it at once. The quick steps that
 * make a termination allowed and safe are kept if they have not run yet (KEPT_BY_EXPEDITE); from the
 * drain wait on, everything left is skipped.
 */
export function expediteTermination(store: TerminationStore, req: ActionRequest): Promise<ActionResult> {
  return act(store, req, async (trx, row) => {
    const step = KEPT_BY_EXPEDITE.has(row.step) ? row.step : EXPEDITE_STEP;
    const updated = await trx
      .updateTable('terminations')
      .set({
        step,
        // Remembered so the pipeline skips the drain wait and hook after the steps it still runs.
        step_data: JSON.stringify({ ...readStepData(row), expedited: true }),
        next_attempt_at: req.now,
        due_at: Math.min(row.due_at, req.now),
        lease_owner: null,
        attempts: 0,
        updated_at: req.now,
      })
      .where('id', '=', row.id)
      .where('state', 'in', ACTIONABLE_STATES)
      .where('next_attempt_at', 'is not', null)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    const what =
      step !== EXPEDITE_STEP
        ? `due now; the steps that make terminating allowed and safe still run first (from step '${step}': ${[...KEPT_BY_EXPEDITE].slice([...KEPT_BY_EXPEDITE].indexOf(step)).join(', ')}), then it is terminated without the drain wait, the drain hook or the rest of its delay`
        : row.step !== EXPEDITE_STEP
          ? `the rest of the drain (from step '${row.step}') and of the delay skipped; terminating now`
          : 'the rest of the delay skipped; terminating now';
    return { state: row.state, step, event: 'expedited', detail: `expedited by ${req.by ?? 'an operator'}${req.note ? ` (${req.note})` : ''}: ${what}` };
  });
}

type Transition = { state: string; step: string; event: string; detail: string };

async function act(
  store: TerminationStore,
  req: ActionRequest,
  change: (trx: Transaction<Database>, row: TerminationRow, history: HistoryRow[]) => Promise<Transition | false>,
): Promise<ActionResult> {
  return store.durably(async (trx): Promise<ActionResult> => {
    const read = trx.selectFrom('terminations').selectAll().where('id', '=', req.id);
    // PostgreSQL: lock the row until our commit, so a worker on another replica cannot write its step
    // progress between our read and our update (expedite writes step_data back whole: the worker's write
    // would be lost). The worker's update then waits for us and finds its lease gone. SQLite runs one
    // transaction at a time (and has no FOR UPDATE).
    const row = await (store.engine === 'postgres' ? read.forUpdate() : read).executeTakeFirst();
    if (!row) return { kind: 'not_found' };
    if (!isActionable(row)) return { kind: 'conflict', state: row.state };
    const history = await trx.selectFrom('termination_history').selectAll().where('termination_id', '=', req.id).orderBy('id').execute();
    const transition = await change(trx, row, history);
    if (transition === false) {
      // Changed between our read and our update (another replica's worker, PostgreSQL read committed).
      const now = await trx.selectFrom('terminations').select('state').where('id', '=', req.id).executeTakeFirst();
      return { kind: 'conflict', state: now?.state ?? row.state };
    }
    await store.insertHistory(trx, [{ termination_id: row.id, at: req.now, ...transition }]);
    const after = await trx.selectFrom('terminations').selectAll().where('id', '=', req.id).executeTakeFirstOrThrow();
    const full = await trx.selectFrom('termination_history').selectAll().where('termination_id', '=', req.id).orderBy('id').execute();
    return { kind: 'done', row: after, history: full };
  });
}

/**
 * What a cancel cannot undo: the drain steps already done (the instance left its load balancers or its
 * Auto Scaling group and is not put back), or a step a worker was running at that very moment.
 */
function drainNote(row: TerminationRow, history: HistoryRow[]): string {
  const done = history.filter((h) => /\.(ok|done|timeout|skipped)$/.test(h.event) && /deregist|detach|drain|hook/i.test(h.event)).map((h) => h.event);
  const data = readStepData(row);
  const left: string[] = [];
  if (data.asg?.detached && data.asg.group) left.push(`it was detached from Auto Scaling group ${data.asg.group} (its desired capacity was decremented)`);
  const groups = (data.lb?.targets ?? []).map((t) => t.arn.split(':').pop()?.replace(/^targetgroup\//, '').split('/')[0] ?? t.arn);
  if (groups.length > 0) left.push(`it was deregistered from target group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`);
  if ((data.lb?.classic ?? []).length > 0) left.push(`it was deregistered from classic load balancer${data.lb!.classic.length > 1 ? 's' : ''} ${data.lb!.classic.join(', ')}`);
  if (data.hook && data.hook.attempts > 0) left.push(`its drain hook was called`);
  const notes: string[] = [];
  if (left.length > 0 || done.length > 0 || row.state === 'draining') {
    notes.push(
      `It had already started draining${done.length > 0 ? ` (${[...new Set(done)].join(', ')})` : ''}: ` +
        (left.length > 0 ? `${left.join('; ')}. ` : 'it may have left its load balancers or Auto Scaling group. ') +
        'That is NOT undone: re-register or re-attach it yourself if it should serve again.',
    );
  }
  // The terminate step changes nothing before it moves the row to `terminating` (which a cancel refuses).
  if (row.lease_owner !== null && row.step !== EXPEDITE_STEP) {
    notes.push(`A worker held it for its '${row.step}' step at that moment; whatever that step had already done is not undone.`);
  }
  return notes.join(' ');
}

/** Live terminations by active state, for the metrics gauge: one index-only count per state. */
export async function countActive(db: Kysely<Database>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const state of ACTIVE_STATES) {
    const row = await db
      .selectFrom('terminations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', state)
      .executeTakeFirstOrThrow();
    out[state] = Number(row.n);
  }
  return out;
}

/** When each termination first entered `draining` (for the drain-duration histogram). */
export async function drainStarts(db: Kysely<Database>, ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('termination_history')
      .select((eb) => ['termination_id', eb.fn.min<number>('at').as('started')])
      .where('termination_id', 'in', ids.slice(i, i + 500))
      .where('state', '=', 'draining')
      .groupBy('termination_id')
      .execute();
    for (const r of rows) out.set(r.termination_id, Number(r.started));
  }
  return out;
}
