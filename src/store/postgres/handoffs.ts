/**
 * Recording hand-offs on PostgreSQL through Kysely, in one order for every replica: the rows that have no
 * live termination yet are inserted, the live one of the others is found, all in one durable transaction.
 */
import type { Transaction } from 'kysely';
import { chunks } from '../../lib/chunks.js';
import { groupBy } from '../../lib/group-by.js';
import { IDS_PER_STATEMENT, ROWS_PER_INSERT } from '../batch-sizes.js';
import type { HandOffWriter } from '../ports.js';
import { answerDocuments, type Scheduled } from '../record-handoffs.js';
import type { Database, NewTerminationRow } from '../schema.js';

const key = (region: string, instanceId: string) => `${region}/${instanceId}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function postgresHandOffRecorder(durably: <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>): HandOffWriter {
  return {
    async recordHandOffs(docs, now) {
      const rows: NewTerminationRow[] = [];
      for (const doc of docs) {
        for (const instanceId of doc.instanceIds) {
          rows.push({
            instance_id: instanceId,
            region: doc.region,
            state: 'pending',
            step: doc.firstStep,
            due_at: doc.dueAt,
            next_attempt_at: doc.firstAttemptAt,
            lease_owner: null,
            attempts: 0,
            reason: null,
            project: doc.project,
            component: doc.component,
            ip_address: doc.ipAddress,
            user_data: doc.userData,
            requested_by: doc.requestedBy,
            source_ip: doc.sourceIp,
            user_agent: doc.userAgent,
            step_data: doc.stepData ?? null,
            created_at: now,
            updated_at: now,
          });
        }
      }
      const found = await durably((trx) => insertOrFind(trx, rows));
      return answerDocuments(docs, found);
    },
  };
}

/** Inserts the rows that have no live termination yet; finds the live one of the others. */
async function insertOrFind(trx: Transaction<Database>, rows: NewTerminationRow[]): Promise<Map<string, Scheduled>> {
  const found = new Map<string, Scheduled>();
  // One order for every writer: two replicas inserting overlapping instances in opposite orders would
  // each wait for the other's unique-index entry (a deadlock).
  const sorted = [...rows].sort((a, b) => (a.region === b.region ? cmp(a.instance_id, b.instance_id) : cmp(a.region, b.region)));
  for (const chunk of chunks(sorted, ROWS_PER_INSERT)) {
    const inserted = await trx
      .insertInto('terminations')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .returning(['id', 'instance_id', 'region', 'state', 'due_at', 'next_attempt_at'])
      .execute();
    for (const r of inserted) found.set(key(r.region, r.instance_id), { ...r, duplicate: false });
  }
  const missing = sorted.filter((r) => !found.has(key(r.region, r.instance_id)));
  if (missing.length > 0) {
    for (const r of await liveRows(trx, missing)) found.set(key(r.region, r.instance_id), { ...r, duplicate: true });
  }
  for (const r of missing) {
    // Only possible if a live row turned final between our insert and select (read committed): fail the
    // whole group inside its transaction, so nothing of it is kept; the client gets 503 and retries.
    if (!found.has(key(r.region, r.instance_id))) throw new Error(`could not record ${r.region}/${r.instance_id}: its previous termination changed concurrently`);
  }
  return found;
}

async function liveRows(trx: Transaction<Database>, wanted: NewTerminationRow[]) {
  const out = [];
  for (const [region, rows] of groupBy(wanted, (r) => r.region)) {
    for (const chunk of chunks([...new Set(rows.map((r) => r.instance_id))], IDS_PER_STATEMENT)) {
      out.push(
        ...(await trx
          .selectFrom('terminations')
          .select(['id', 'instance_id', 'region', 'state', 'due_at', 'next_attempt_at'])
          .where('region', '=', region)
          .where('instance_id', 'in', chunk)
          .where('next_attempt_at', 'is not', null)
          .execute()),
      );
    }
  }
  return out;
}
