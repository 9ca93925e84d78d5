/**
 * Runs one batch call (TerminateInstances, StopInstances) over many instances so that one bad id never
 * holds back the others. EC2 fails the whole call when a single id is unknown or protected, and
 * terminates none. So:
 *  - a whole-call error (throttling, 5xx, network, IAM) makes every id `retry`;
 *  - a per-instance error that names its culprits (AWS and moto name them in the message) settles those
 *    ids and retries the rest at once; one that names nobody splits the batch in halves.
 * With k bad ids among n, that costs about k * log2(n / k) extra calls at worst, and 2 calls when the
 * culprits are named.
 */
import { classifyAwsError, idsNamedIn, type Classified } from './errors.js';

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
  await settle(ids, deps, results);
  return results;
}

async function settle(ids: string[], deps: IsolationDeps, results: Map<string, InstanceResult>): Promise<void> {
  if (ids.length === 0) return;
  let error: Classified;
  try {
    const detail = await deps.call(ids);
    for (const id of ids) results.set(id, { kind: 'done', detail });
    return;
  } catch (err) {
    error = classifyAwsError(err);
  }
  if (error.kind === 'dry_run_ok') {
    for (const id of ids) results.set(id, { kind: 'done', detail: `dry run: EC2 says ${deps.actionName} would have succeeded; the instance was left alone` });
    return;
  }
  if (!error.perInstance) {
    const reason = `${deps.actionName}: ${error.code}: ${error.message}`;
    for (const id of ids) results.set(id, { kind: 'retry', reason, throttled: error.kind === 'throttled' });
    return;
  }
  const named = ids.length === 1 ? ids : idsNamedIn(error.message, ids);
  if (named.length > 0) {
    await settleCulprits(named, error, deps, results);
    const rest = ids.filter((id) => !results.has(id));
    await settle(rest, deps, results);
    return;
  }
  const half = Math.ceil(ids.length / 2);
  await settle(ids.slice(0, half), deps, results);
  await settle(ids.slice(half), deps, results);
}

/** Ids an error singled out: decide each from the error, confirming "not found" with DescribeInstances. */
async function settleCulprits(ids: string[], error: Classified, deps: IsolationDeps, results: Map<string, InstanceResult>): Promise<void> {
  const what = `${deps.actionName}: ${error.code}: ${error.message}`;
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
