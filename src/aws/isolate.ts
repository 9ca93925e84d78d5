/**
 * One bad item must never hold back the others in a batch call: AWS fails a whole TerminateInstances,
 * DeregisterTargets or DescribeTargetHealth when a single id in it is unknown or protected. `isolate`
 * calls the batch, and on failure lets the caller say which items the error settles (blames) and how to
 * split the rest for another try. `runIsolated` is that for EC2's instance actions:
 *  - a whole-call error (throttling, 5xx, network, IAM) makes every id `retry`;
 *  - a per-instance error that names its culprits (AWS and moto name them in the message) settles those
 *    ids and retries the rest at once; one that names nobody splits the batch in halves.
 * With k bad ids among n, that costs about k * log2(n / k) extra calls at worst, and 2 calls when the
 * culprits are named.
 */
import { groupBy } from '../lib/group-by.js';
import { classifyAwsError, idsNamedIn, type Classified } from './errors.js';

/** What a failed batch call means: the items it settles with that error, and the parts to call again. */
export interface BatchFailure<T> {
  blame: T[];
  retry: T[][];
}

/** Blames every item (the error is the batch's, or the batch is a single item). */
export const blameAll = <T>(batch: T[]): BatchFailure<T> => ({ blame: batch, retry: [] });
/** Calls each item alone (the error means one of them is bad, without saying which). */
export const oneByOne = <T>(batch: T[]): BatchFailure<T> => (batch.length === 1 ? blameAll(batch) : { blame: [], retry: batch.map((item) => [item]) });

/** One by one when `test` says the error may be a single item's fault, else the error is every item's. */
export const splitWhen =
  (test: (err: unknown) => boolean) =>
  <T>(err: unknown, batch: T[]): BatchFailure<T> =>
    test(err) ? oneByOne(batch) : blameAll(batch);

/**
 * Calls `call` for the whole batch, then for the parts `onFailure` asks for, one after the other.
 * Returns the error of each blamed item; items absent from the map went through.
 */
export async function isolate<T>(items: T[], call: (batch: T[]) => Promise<void>, onFailure: (err: unknown, batch: T[]) => BatchFailure<T>): Promise<Map<T, unknown>> {
  const errors = new Map<T, unknown>();
  const attempt = async (batch: T[]): Promise<void> => {
    if (batch.length === 0) return;
    try {
      await call(batch);
      return;
    } catch (err) {
      const { blame, retry } = onFailure(err, batch);
      for (const item of blame) errors.set(item, err);
      for (const part of retry) await attempt(part);
    }
  };
  await attempt(items);
  return errors;
}

export type InstanceResult =
  | { kind: 'done'; detail: string }
  | { kind: 'gone'; detail: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'retry'; reason: string; throttled: boolean };

export interface IsolationDeps {
  /** The batch call; resolves when EC2 accepted every id, throws the SDK's error otherwise. */
  call(ids: string[]): Promise<string>;
  /** EC2's view of instances it says are missing: id -> state name, absent ids left out. */
  describe(ids: string[]): Promise<Map<string, string>>;
  actionName: string;
}

export async function runIsolated(ids: string[], deps: IsolationDeps): Promise<Map<string, InstanceResult>> {
  const results = new Map<string, InstanceResult>();
  const classified = new Map<unknown, Classified>();
  const classify = (err: unknown) => classified.get(err) ?? classified.set(err, classifyAwsError(err)).get(err)!;
  const errors = await isolate(
    ids,
    async (batch) => {
      const detail = await deps.call(batch);
      for (const id of batch) results.set(id, { kind: 'done', detail });
    },
    (err, batch) => {
      const error = classify(err);
      if (error.kind === 'dry_run_ok' || !error.perInstance || batch.length === 1) return blameAll(batch);
      const named = idsNamedIn(error.message, batch);
      if (named.length > 0) return { blame: named, retry: [batch.filter((id) => !named.includes(id))] };
      const half = Math.ceil(batch.length / 2);
      return { blame: [], retry: [batch.slice(0, half), batch.slice(half)] };
    },
  );
  // One decision (and at most one DescribeInstances) per error, for all the ids it blamed.
  for (const [err, entries] of groupBy(errors, ([, e]) => e)) await settleBlamed(entries.map(([id]) => id), classify(err), deps, results);
  return results;
}

/** Ids an error settled: decide each from the error, confirming "not found" with DescribeInstances. */
async function settleBlamed(ids: string[], error: Classified, deps: IsolationDeps, results: Map<string, InstanceResult>): Promise<void> {
  const what = `${deps.actionName}: ${error.code}: ${error.message}`;
  if (error.kind === 'dry_run_ok') {
    for (const id of ids) results.set(id, { kind: 'done', detail: `dry run: EC2 says ${deps.actionName} would have succeeded; the instance was left alone` });
    return;
  }
  if (!error.perInstance) {
    for (const id of ids) results.set(id, { kind: 'retry', reason: what, throttled: error.kind === 'throttled' });
    return;
  }
  switch (error.kind) {
    case 'not_found': {
      // "Not found" can mean "not propagated yet": believe it only when DescribeInstances agrees.
      const seen = await deps.describe(ids);
      for (const id of ids) {
        const state = seen.get(id);
        if (state === undefined) results.set(id, { kind: 'gone', detail: 'EC2 has no such instance (confirmed with DescribeInstances)' });
        else if (state === 'terminated') results.set(id, { kind: 'gone', detail: 'the instance was already terminated' });
        else results.set(id, { kind: 'retry', reason: `${what} (yet DescribeInstances sees it ${state}: not propagated yet?)`, throttled: false });
      }
      return;
    }
    case 'protected':
      for (const id of ids) {
        results.set(id, {
          kind: 'failed',
          reason: `${what}. Termination protection (DisableApiTermination) or a similar EC2 setting forbids it: not retried; clear the setting and hand the instance off again`,
        });
      }
      return;
    case 'malformed':
      for (const id of ids) results.set(id, { kind: 'failed', reason: what });
      return;
    default:
      for (const id of ids) results.set(id, { kind: 'retry', reason: what, throttled: false });
  }
}
