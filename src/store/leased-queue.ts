/**
 * The leased queue both the terminations and the notification outbox are: `next_attempt_at` is when a row
 * is next due and, while someone holds it, the lease expiry (NULL once done); `lease_owner` who holds it.
 * A holder that dies loses its rows by itself when the lease runs out, the way a queue's visibility
 * timeout works, so one indexed range scan over `next_attempt_at` finds all claimable work.
 */
import type { Kysely } from 'kysely';
import type { Dialect, LeasedTable } from './dialect.js';
import type { Database } from './schema.js';

export class LeasedQueue<Row> {
  // Both tables share the queue's columns; Kysely cannot type a statement generic over the table.
  private readonly db: Kysely<any>;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly table: LeasedTable,
    /** Columns every queue write also sets (terminations: `updated_at`). */
    private readonly stamp: (now: number) => Record<string, number> = () => ({}),
  ) {
    this.db = db;
  }

  /** Claims up to `limit` due rows, oldest due first, for `owner` until `now + leaseMs`. */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<Row[]> {
    const due = this.db.selectFrom(this.table).select('id').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
    return this.dialect.claim(this.db, this.table, due, { lease_owner: owner, next_attempt_at: now + leaseMs, ...this.stamp(now) });
  }

  /** Keeps rows still being worked on from being taken over. */
  async extend(owner: string, ids: number[], until: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable(this.table).set({ next_attempt_at: until }).where('lease_owner', '=', owner).where(this.dialect.idIn('id', ids)).execute();
  }

  /** Makes the rows `owner` (or anyone, for null) holds due again at once; how many. */
  async release(owner: string | null, now: number): Promise<number> {
    let q = this.db
      .updateTable(this.table)
      .set({ lease_owner: null, next_attempt_at: now, ...this.stamp(now) })
      .where('next_attempt_at', 'is not', null);
    q = owner === null ? q.where('lease_owner', 'is not', null) : q.where('lease_owner', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  /** The earliest moment any live row is due (or its lease runs out). */
  async nextWake(): Promise<number | null> {
    const row = await this.db
      .selectFrom(this.table)
      .select('next_attempt_at')
      .where('next_attempt_at', 'is not', null)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    return (row?.next_attempt_at as number | null | undefined) ?? null;
  }
}
