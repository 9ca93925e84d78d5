/**
 * The guards applied to a batch, from EC2's current record: one DescribeInstances per 200 ids (plus one
 * DescribeInstanceAttribute per instance when `check_termination_protection` is on). Shared by the `guard`
 * step (before the first change) and the terminate step (just before acting). A failed look-up throws:
 * acting unguarded is never the fallback.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { CallCounter } from '../aws/ec2.js';
import { describeInstanceRecords, goneReason, terminationProtected } from '../aws/instances.js';
import type { GuardPolicy } from '../policy/resolve.js';
import type { TerminationRow } from '../store/schema.js';
import { guardRefusal, regionRefusal } from '../policy/guard.js';

export interface GuardVerdicts {
  allowed: TerminationRow[];
  /** Rows that end here: `gone` (EC2 no longer has the instance) or `refused` (a guard said no). */
  ended: { row: TerminationRow; state: 'gone' | 'refused'; detail: string; ec2State?: string }[];
}

export async function checkGuards(rows: TerminationRow[], region: string, client: EC2Client, guard: GuardPolicy, count?: CallCounter): Promise<GuardVerdicts> {
  // A region outside the allow-list is refused before anything is asked of it: not even DescribeInstances.
  const outside = regionRefusal(guard, region);
  if (outside !== null) return { allowed: [], ended: rows.map((row) => ({ row, state: 'refused' as const, detail: outside })) };
  const records = await describeInstanceRecords(client, rows.map((r) => r.instance_id), count);
  const verdicts: GuardVerdicts = { allowed: [], ended: [] };
  const candidates: TerminationRow[] = [];
  for (const row of rows) {
    const record = records.get(row.instance_id);
    const gone = goneReason(record);
    const refusal = record ? guardRefusal(guard, { region, tags: record.tags }, row) : null;
    if (gone) verdicts.ended.push({ row, state: 'gone', detail: gone, ...(record ? { ec2State: record.state } : {}) });
    else if (refusal) verdicts.ended.push({ row, state: 'refused', detail: refusal });
    else candidates.push(row);
  }
  const locked = guard.checkTerminationProtection ? await terminationProtected(client, candidates.map((r) => r.instance_id), count) : new Set<string>();
  for (const row of candidates) {
    if (locked.has(row.instance_id)) {
      verdicts.ended.push({ row, state: 'refused', detail: 'EC2 termination protection is on (DisableApiTermination): not attempted; turn it off and hand the instance off again' });
    } else {
      verdicts.allowed.push(row);
    }
  }
  return verdicts;
}
