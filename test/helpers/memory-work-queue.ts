/**
 * The WorkQueue port in memory, for unit tests of the Worker: the same lease rules as the store (every
 * write filtered on the owner; a claimed row's next_attempt_at is its lease expiry), and a record of
 * each call so a test can check what the worker asked for.
 */
import type { Outcome, WorkQueue } from '../../src/store/ports.js';
import type { TerminationRow } from '../../src/store/schema.js';

export interface HistoryEntry {
  id: number;
  state: string;
  step: string;
  event: string;
  detail: string | null;
}

export class MemoryWorkQueue implements WorkQueue {
  readonly rows = new Map<number, TerminationRow>();
  readonly history: HistoryEntry[] = [];
  readonly extends: { ids: number[]; until: number }[] = [];
  readonly settles: Outcome[][] = [];
  readonly releases: { owner: string; released: number }[] = [];
  /** Makes the next claim throw (the database briefly unreachable). */
  failNextClaim: Error | null = null;
  /** Tests say which kind of store they stand in for: shared (PostgreSQL) unless told. */
  constructor(readonly soleWriter = false) {}
  private nextId = 1;

  /** A live row due at `due` on `step`. */
  add(step: string, due: number, extra: Partial<TerminationRow> = {}): TerminationRow {
    const id = this.nextId++;
    const row: TerminationRow = {
      id, instance_id: `i-${String(id).padStart(17, '0')}`, region: 'us-west-2', state: 'pending', step, due_at: due, next_attempt_at: due,
      lease_owner: null, attempts: 0, reason: null, project: null, component: null, ip_address: null, user_data: null,
      requested_by: null, source_ip: null, user_agent: null, created_at: due, updated_at: due, step_data: null, ...extra,
    };
    this.rows.set(id, row);
    return { ...row };
  }

  row(id: number): TerminationRow {
    return { ...this.rows.get(id)! };
  }

  private held(owner: string, ids: number[]): TerminationRow[] {
    return ids.map((id) => this.rows.get(id)).filter((r): r is TerminationRow => r !== undefined && r.lease_owner === owner);
  }

  async claim(owner: string, now: number, leaseMs: number, limit: number): Promise<TerminationRow[]> {
    const failure = this.failNextClaim;
    this.failNextClaim = null;
    if (failure) throw failure;
    const due = [...this.rows.values()]
      .filter((r) => r.next_attempt_at !== null && r.next_attempt_at <= now)
      .sort((a, b) => a.next_attempt_at! - b.next_attempt_at! || a.id - b.id)
      .slice(0, limit);
    for (const r of due) Object.assign(r, { lease_owner: owner, next_attempt_at: now + leaseMs });
    return due.map((r) => ({ ...r }));
  }

  async extend(owner: string, ids: number[], until: number): Promise<void> {
    this.extends.push({ ids: [...ids], until });
    for (const r of this.held(owner, ids)) r.next_attempt_at = until;
  }

  async enter(owner: string, ids: number[], state: string, event: string, now: number): Promise<number[]> {
    const held = this.held(owner, ids);
    for (const r of held) {
      Object.assign(r, { state, updated_at: now });
      this.history.push({ id: r.id, state, step: r.step, event, detail: null });
    }
    return held.map((r) => r.id);
  }

  async saveProgress(owner: string, entries: { id: number; json?: string }[], now: number): Promise<number[]> {
    const held = this.held(owner, entries.map((e) => e.id));
    for (const r of held) {
      const json = entries.find((e) => e.id === r.id)!.json;
      if (json !== undefined) r.step_data = json;
      r.updated_at = now;
    }
    return held.map((r) => r.id);
  }

  async settle(owner: string, outcomes: Outcome[], now: number): Promise<number[]> {
    this.settles.push(outcomes.map((o) => ({ ...o })));
    const settled: number[] = [];
    for (const o of outcomes) {
      const [r] = this.held(owner, [o.id]);
      if (!r) continue;
      const attempts = o.attempts === 'reset' ? 0 : o.attempts === 'increment' ? r.attempts + 1 : r.attempts;
      Object.assign(r, { state: o.state, step: o.step, next_attempt_at: o.nextAttemptAt, attempts, reason: o.reason, lease_owner: null, updated_at: now });
      if (o.record !== false) this.history.push({ id: r.id, state: o.state, step: o.step, event: o.event, detail: o.detail });
      settled.push(r.id);
    }
    return settled;
  }

  async release(owner: string, now: number): Promise<number> {
    const held = [...this.rows.values()].filter((r) => r.lease_owner === owner);
    for (const r of held) Object.assign(r, { lease_owner: null, next_attempt_at: now });
    this.releases.push({ owner, released: held.length });
    return held.length;
  }

  async nextWake(): Promise<number | null> {
    const times = [...this.rows.values()].map((r) => r.next_attempt_at).filter((t): t is number => t !== null);
    return times.length === 0 ? null : Math.min(...times);
  }
}
