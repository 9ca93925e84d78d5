/**
 * Step 3, `drain_hook`: an HTTP request to the policy's drain hook, once the load balancers have let go
 * of the instance (absent `drain.hook`, the step is skipped). The URL is built from EC2's own record of
 * the instance (one DescribeInstances per 200 ids of the batch: {private_ip}, and an instance that no
 * longer exists ends `gone` here), never from the hand-off's `ip_address`.
 *
 * Each call has the hook's timeout; a non-2xx answer, a timeout or a connection error is retried up to
 * `attempts` calls in all, the pause doubling from `hookRetryBaseMs`, without holding the lease in
 * between. A hook that keeps failing is recorded, then the pipeline goes on (`on_failure: continue`) or
 * the termination ends `failed` with the instance left running (`on_failure: stop`).
 *
 * Called once: before each call the step records "call N started" in step_data and history, under the
 * lease; the outcome clears it. A worker that dies during the call finds the mark on resume and calls
 * again (the only case of a second call after a success); a call cut short twice counts as failed.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { describeInstanceRecords, goneReason, type InstanceRecord } from '../../aws/instances.js';
import type { HookPolicy } from '../../policy/resolve.js';
import type { TerminationRow } from '../../store/schema.js';
import { mapWithLimit } from '../../lib/concurrency.js';
import { buildHookUrl, displayUrl, HookUrlError } from '../hook-url.js';
import { readStepData, type HookProgress, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'drain_hook';
/** Calls cut short by a crash after which the call is no longer retried but counted as failed. */
const MAX_INTERRUPTED = 1;

interface Call {
  row: TerminationRow;
  hook: HookPolicy;
  url: URL;
  progress: HookProgress;
  note: string | null;
}

export const drainHookStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Skipped by an expedite: the operator asked for the termination now, not after the service's drain.
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason: (policy) => (policy.drain.hook === null ? 'no drain hook' : null),
  firstRunDelayMs: () => 0,
  create: (p: StepKit) => {
    const fetchImpl = p.options.fetch ?? fetch;
    return async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const saves: { row: TerminationRow; data: StepData }[] = [];
      const now = ctx.now();
      const todo = p.triage(NAME, rows, now, results, (data) => (data.hook?.result === 'ok' ? `called before a restart (HTTP ${data.hook.lastStatus})` : null));
      const count = p.counter(NAME);

      // EC2's record of each instance, per region.
      const records = new Map<number, InstanceRecord | undefined>();
      await Promise.all(
        [...p.byRegion(todo)].map(async ([region, regionRows]) => {
          try {
            const seen = await describeInstanceRecords(p.clients.ec2For(region), regionRows.map((r) => r.instance_id), count);
            for (const r of regionRows) records.set(r.id, seen.get(r.instance_id));
          } catch (err) {
            const e = classifyAwsError(err);
            for (const r of regionRows) results.set(r.id, { kind: 'retry', event: `${NAME}.retry`, reason: `DescribeInstances: ${e.code}: ${e.message}`, state: 'draining' });
          }
        }),
      );

      const calls: Call[] = [];
      for (const row of todo) {
        if (results.has(row.id)) continue;
        const hook = p.policyFor(row).drain.hook!;
        const data = readStepData(row);
        const progress: HookProgress = data.hook ?? { attempts: 0, inFlightSince: null, lastStatus: null, lastError: null };
        let note: string | null = null;
        if (progress.inFlightSince !== null) {
          // The previous worker died during the call: its outcome is unknown, so it is made again.
          progress.inFlightSince = null;
          progress.interrupted = (progress.interrupted ?? 0) + 1;
          progress.attempts = Math.max(0, progress.attempts - 1);
          note = 'the previous call was cut short by a restart; calling again';
          if (progress.interrupted > MAX_INTERRUPTED) {
            progress.attempts = hook.attempts;
            progress.lastError = `calls were cut short by a restart ${progress.interrupted} times`;
          }
        }
        const record = records.get(row.id);
        const gone = goneReason(record);
        if (gone) {
          results.set(row.id, { kind: 'final', state: 'gone', event: `${NAME}.gone`, detail: gone });
          continue;
        }
        if (progress.attempts >= hook.attempts) {
          giveUp(row, data, progress, hook, progress.lastError ?? 'no call succeeded');
          continue;
        }
        if (record!.state !== 'running') {
          giveUp(row, data, progress, hook, `the instance is ${record!.state}, so its drain endpoint cannot answer; not called`);
          continue;
        }
        let url: URL;
        try {
          url = buildHookUrl(hook.url, { instance_id: row.instance_id, private_ip: record!.privateIp, region: row.region, project: row.project, component: row.component });
        } catch (err) {
          if (!(err instanceof HookUrlError)) throw err;
          giveUp(row, data, progress, hook, `cannot build the hook URL: ${err.message}`);
          continue;
        }
        if (p.dryRun) {
          const d = { ...data, hook: { ...progress, result: 'skipped' } };
          saves.push({ row, data: d });
          results.set(row.id, p.advance(NAME, row, d, now, `${NAME}.dry_run`, `dry run: would call ${hook.method} ${displayUrl(url)}; not called`));
          continue;
        }
        calls.push({ row, hook, url, progress: { ...progress, attempts: progress.attempts + 1, inFlightSince: now }, note });
      }

      // Mark every call as started, under the lease, before making any of them.
      const held = await p.save(
        ctx,
        calls.map((c) => ({ row: c.row, data: { ...readStepData(c.row), hook: c.progress } })),
        {
          state: 'draining',
          step: NAME,
          event: `${NAME}.started`,
          detail: (id) => {
            const c = calls.find((x) => x.row.id === id)!;
            return `call ${c.progress.attempts} of ${c.hook.attempts}: ${c.hook.method} ${displayUrl(c.url)}${c.note ? ` (${c.note})` : ''}`;
          },
        },
      );

      await mapWithLimit(
        calls.filter((c) => held.has(c.row.id)),
        p.tuning.hookConcurrency,
        async (c) => {
          const outcome = await callHook(fetchImpl, c);
          const data = readStepData(c.row);
          const progress: HookProgress = { ...c.progress, inFlightSince: null, lastStatus: outcome.status, lastError: outcome.ok ? null : outcome.what };
          const at = ctx.now();
          if (outcome.ok) {
            const d = { ...data, hook: { ...progress, result: 'ok' } };
            saves.push({ row: c.row, data: d });
            results.set(c.row.id, p.advance(NAME, c.row, d, at, `${NAME}.ok`, `${c.hook.method} ${displayUrl(c.url)} ${outcome.what} (call ${progress.attempts} of ${c.hook.attempts})`));
          } else if (progress.attempts < c.hook.attempts) {
            const pause = Math.min(p.tuning.hookRetryMaxMs, p.tuning.hookRetryBaseMs * 2 ** (progress.attempts - 1));
            saves.push({ row: c.row, data: { ...data, hook: progress } });
            results.set(c.row.id, {
              kind: 'wait',
              at: at + pause,
              event: `${NAME}.retry`,
              detail: `${c.hook.method} ${displayUrl(c.url)} ${outcome.what} (call ${progress.attempts} of ${c.hook.attempts}); next call at ${new Date(at + pause).toISOString()}`,
              state: 'draining',
            });
          } else {
            giveUp(c.row, data, progress, c.hook, `${c.hook.method} ${displayUrl(c.url)} ${outcome.what}`);
          }
        },
      );
      await p.save(ctx, saves);
      return results;

      function giveUp(row: TerminationRow, data: StepData, progress: HookProgress, hook: HookPolicy, why: string) {
        const d = { ...data, hook: { ...progress, inFlightSince: null, result: 'failed' } };
        saves.push({ row, data: d });
        const summary = `the drain hook failed after ${progress.attempts} call${progress.attempts === 1 ? '' : 's'}: ${why}`;
        if (hook.onFailure === 'stop') {
          results.set(row.id, {
            kind: 'final',
            state: 'failed',
            event: `${NAME}.failed`,
            detail: `${summary}; stopping (on_failure: stop): the instance is left running, out of its group and load balancers`,
          });
        } else {
          results.set(row.id, p.advance(NAME, row, d, ctx.now(), `${NAME}.failed`, `${summary}; going on (on_failure: continue)`));
        }
      }
    };
  },
};

interface CallOutcome {
  ok: boolean;
  status: number | null;
  /** "answered 200 in 35 ms", "timed out after 30s", "failed: ECONNREFUSED ..." */
  what: string;
}

async function callHook(fetchImpl: typeof fetch, c: Call): Promise<CallOutcome> {
  const started = Date.now();
  const body =
    c.hook.method === 'POST' || c.hook.method === 'PUT'
      ? JSON.stringify({ instance_id: c.row.instance_id, region: c.row.region, project: c.row.project, component: c.row.component, termination_id: c.row.id })
      : undefined;
  try {
    const res = await fetchImpl(c.url, {
      method: c.hook.method,
      headers: { 'user-agent': 'ddsrv-drain-hook', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body,
      redirect: 'manual', // a redirect could point anywhere: it counts as a failed call
      signal: AbortSignal.timeout(c.hook.timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    const ms = Date.now() - started;
    return { ok: res.status >= 200 && res.status < 300, status: res.status, what: `answered ${res.status} in ${ms} ms` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return { ok: false, status: null, what: `did not answer within ${c.hook.timeoutMs} ms (timeout)` };
    return { ok: false, status: null, what: `failed: ${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}` };
  }
}
