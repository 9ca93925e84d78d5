/**
 * What recording a hand-off takes and gives: one row per instance id, or the live termination the
 * instance already has. Each engine writes a group of documents in one durable transaction
 * (sqlite/handoffs.ts, postgres/handoffs.ts).
 */
import type { HandOff } from '../domain/handoff.js';

/** One validated hand-off document as the store records it (one row per instance id), with who sent it and its plan. */
export interface HandOffRecord extends Omit<HandOff, 'userDataValue'> {
  requestedBy: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  dueAt: number;
  firstStep: string;
  /** When the worker should first look at it (the due time when nothing happens before it). */
  firstAttemptAt: number;
  /** Initial step_data (e.g. the dry-run mark); absent: none. */
  stepData?: string | null;
}

export interface Scheduled {
  id: number;
  instance_id: string;
  region: string;
  state: string;
  due_at: number;
  /** When the worker first looks at it (now when a drain step comes first, else the due time). */
  next_attempt_at: number | null;
  /** True when the instance was already scheduled and this hand-off changed nothing. */
  duplicate: boolean;
}

/**
 * For each document, the termination of each of its instances, from the rows found by `region/instance`.
 * The same instance in two documents of one group: the first is new, the later ones are repeats.
 */
export function answerDocuments(docs: HandOffRecord[], found: Map<string, Scheduled>): Scheduled[][] {
  const reported = new Set<string>();
  return docs.map((doc) =>
    doc.instanceIds.map((id) => {
      const k = `${doc.region}/${id}`;
      const scheduled = found.get(k);
      if (!scheduled) throw new Error(`could not record ${doc.region}/${id}: no termination found for it`);
      const repeat = reported.has(k);
      reported.add(k);
      return repeat ? { ...scheduled, duplicate: true } : scheduled;
    }),
  );
}
