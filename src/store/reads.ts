/**
 * What operators and metrics read. Every listing is an index seek (no OFFSET, no sort of the table), so
 * it stays fast with a million rows:
 *
 * - an instance id: its few rows (at most MAX_ROWS_PER_INSTANCE) through the (instance_id, region, live)
 *   index, the other filters, the order and the cursor applied to them;
 * - `order=id` without filters: the primary key, newest first;
 * - otherwise one seek per state, merged: on (state, id), (project, state, id) or (component, state, id)
 *   for `order=id`, (state, due_at, id) for `order=due`, and (state, updated_at, id) over final rows for
 *   `order=ended` (migration 005). States are a closed set, so a filter without a state is at most one
 *   small seek per state. Project and component with `due`/`ended` filter that ordered seek's rows.
 */
import type { Kysely } from 'kysely';
import { ACTIVE_STATES, ALL_STATES, FINAL_STATES } from '../domain/states.js';
import type { ListedRow, ListPage, ListQuery, OperatorReads } from './ports.js';
import type { Database } from './schema.js';

const LIST_COLUMNS = [
  'id', 'instance_id', 'region', 'state', 'step', 'due_at', 'next_attempt_at', 'lease_owner', 'attempts', 'reason',
  'project', 'component', 'ip_address', 'requested_by', 'source_ip', 'user_agent', 'created_at', 'updated_at',
] as const;

/** An instance rarely has more than a few terminations; this bounds a pathological one. */
const MAX_ROWS_PER_INSTANCE = 1000;

/** Each order's sort, as a comparison of two rows (to merge the seeks). */
const COMPARE: Record<NonNullable<ListQuery['order']>, (a: ListedRow, b: ListedRow) => number> = {
  id: (a, b) => b.id - a.id,
  due: (a, b) => a.due_at - b.due_at || a.id - b.id,
  ended: (a, b) => b.updated_at - a.updated_at || b.id - a.id,
};

/** Whether `row` comes after the cursor (the previous page's last row) in the query's order. */
function afterCursor(q: ListQuery, row: ListedRow): boolean {
  if (!q.after) return true;
  const at = q.after.at ?? 0;
  if ((q.order ?? 'id') === 'id') return row.id < q.after.id;
  const last = { ...row, id: q.after.id, due_at: at, updated_at: at };
  return COMPARE[q.order!](last, row) < 0;
}

/** One index seek in the query's order (exported so a test can check its query plan). */
export function seekQuery(db: Kysely<Database>, q: Omit<ListQuery, 'states' | 'instanceId'>, state: string | undefined, limit: number) {
  let query = db.selectFrom('terminations').select(LIST_COLUMNS).limit(limit);
  const at = q.after?.at ?? 0;
  switch (q.order ?? 'id') {
    case 'id':
      query = query.orderBy('id', 'desc');
      if (q.after) query = query.where('id', '<', q.after.id);
      break;
    case 'due':
      query = query.orderBy('due_at').orderBy('id');
      if (q.after) query = query.where((eb) => eb(eb.refTuple('due_at', 'id'), '>', eb.tuple(at, q.after!.id)));
      break;
    case 'ended':
      // The index holds final rows only: the query must say so for the planner to use it.
      query = query.where('next_attempt_at', 'is', null).orderBy('updated_at', 'desc').orderBy('id', 'desc');
      if (q.after) query = query.where((eb) => eb(eb.refTuple('updated_at', 'id'), '<', eb.tuple(at, q.after!.id)));
      break;
  }
  if (state !== undefined) query = query.where('state', '=', state);
  if (q.project !== undefined) query = query.where('project', '=', q.project);
  if (q.component !== undefined) query = query.where('component', '=', q.component);
  return query;
}

/** The states a listing seeks: `order=ended` only ever lists final ones. */
function statesOf(q: ListQuery): readonly string[] | undefined {
  if (q.order === 'ended') return (q.states ?? FINAL_STATES).filter((s) => (FINAL_STATES as readonly string[]).includes(s));
  if (q.states) return q.states;
  return q.order === 'due' || q.project !== undefined || q.component !== undefined ? ALL_STATES : undefined;
}

async function list(db: Kysely<Database>, q: ListQuery): Promise<ListPage> {
  const want = q.limit + 1;
  const compare = COMPARE[q.order ?? 'id'];
  let rows: ListedRow[];
  const states = statesOf(q);
  if (q.instanceId !== undefined) {
    const wanted = states ? new Set(states) : undefined;
    const found = await db.selectFrom('terminations').select(LIST_COLUMNS).where('instance_id', '=', q.instanceId).orderBy('id', 'desc').limit(MAX_ROWS_PER_INSTANCE).execute();
    rows = found
      .filter((r) => (!wanted || wanted.has(r.state)) && (q.project === undefined || r.project === q.project) && (q.component === undefined || r.component === q.component))
      .filter((r) => (q.order !== 'ended' || r.next_attempt_at === null) && afterCursor(q, r))
      .sort(compare)
      .slice(0, want);
  } else if (states === undefined) {
    rows = await seekQuery(db, q, undefined, want).execute();
  } else {
    const parts = await Promise.all(states.map((s) => seekQuery(db, q, s, want).execute()));
    rows = parts.flat().sort(compare).slice(0, want);
  }
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
}

export function operatorReads(db: Kysely<Database>): OperatorReads {
  return {
    list: (q) => list(db, q),

    async get(id) {
      const row = await db.selectFrom('terminations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const history = await db.selectFrom('termination_history').selectAll().where('termination_id', '=', id).orderBy('id').execute();
      return { row, history };
    },

    async countLive() {
      const row = await db.selectFrom('terminations').select((eb) => eb.fn.countAll<number>().as('n')).where('next_attempt_at', 'is not', null).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    // One index-only count per state, for the metrics gauge.
    async countActive() {
      const out: Record<string, number> = {};
      for (const state of ACTIVE_STATES) {
        const row = await db.selectFrom('terminations').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', state).executeTakeFirstOrThrow();
        out[state] = Number(row.n);
      }
      return out;
    },

    async drainStarts(ids) {
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
    },
  };
}
