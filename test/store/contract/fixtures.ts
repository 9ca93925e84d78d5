// What the store contract's tests share: a fake clock's start, ids, hand-off and outcome records, and
// short readers over the OperatorReads port.
import type { HandOffRecord, ListQuery, Outcome } from '../../../src/store/ports.js';
import type { EngineContext } from '../../helpers/for-each-engine.js';

/** A realistic clock value: beyond 2^31, so a 32-bit column or a bigint-as-string would show. */
export const T0 = 1_750_000_000_000;
export const LEASE = 30_000;

let serial = 0;
/** A fresh, valid-looking instance id (unique across the files of one run: the pid is in it). */
export const iid = () => `i-${(0x10000000000000000n + BigInt(process.pid * 100_000 + ++serial) * 7919n).toString(16).slice(-17)}`;

export function handOff(instanceIds: string[], over: Partial<HandOffRecord> = {}): HandOffRecord {
  return {
    region: 'us-east-1',
    instanceIds,
    ipAddress: null,
    project: 'shop',
    component: 'web',
    userData: null,
    requestedBy: null,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    dueAt: T0,
    firstStep: 'terminate',
    firstAttemptAt: T0,
    ...over,
  };
}

export const outcome = (id: number, over: Partial<Outcome> = {}): Outcome => ({
  id,
  state: 'terminated',
  step: 'terminate',
  nextAttemptAt: null,
  attempts: 'keep',
  reason: null,
  event: 'terminate.ok',
  detail: null,
  ...over,
});

/** The row, its history, and a listing's rows, through the OperatorReads port. */
export function readers(ctx: EngineContext) {
  return {
    get: async (id: number) => (await ctx.store.reads.get(id))?.row,
    history: async (id: number) => (await ctx.store.reads.get(id))?.history ?? [],
    list: async (q: Partial<ListQuery>) => (await ctx.store.reads.list({ limit: 50, ...q })).rows,
  };
}
