/**
 * `drain_ssm`: the policy's drain commands (`drain.ssm`), run on the instance through SSM Run Command
 * once the load balancers have let go of it and after the drain hook; skipped without `drain.ssm`.
 *
 * Rows with the same resolved commands share a SendCommand (at most 50 instances; drain-ssm-send.ts):
 * marked before the call, CommandId saved after. A row found with a mark and no CommandId (the worker
 * died during the call, or the call's answer was lost) looks the command up by the key in its Comment
 * (ListCommands) and only sends when it was never sent. Then each look (drain-ssm-poll.ts), with the
 * pause growing from drainPollMinMs to drainPollMaxMs and no lease held in between, until the instance's
 * invocation ends: Success goes on; Failed, TimedOut, Cancelled, Undeliverable, a refused instance, or
 * `drain.ssm.timeout` passing follow `on_failure` (continue: go on; stop: the termination ends `failed`,
 * the instance left running), with the status and the first lines of the error output in the reason.
 * Throttling, 5xx and network errors are retried under the shared retry policy. Under --dry-run nothing
 * is sent: the history says what would be.
 */
import { classifyAwsError } from '../../aws/errors.js';
import { findCommandByKey } from '../../aws/ssm.js';
import { formatDuration } from '../../domain/duration.js';
import { renderCommands, SsmCommandError } from '../../policy/ssm-command.js';
import type { SsmPolicy } from '../../policy/resolve.js';
import type { TerminationRow } from '../../store/schema.js';
import { readStepData, type SsmProgress, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import { pollDelayMs } from './drain-wait.js';
import { pollAll, type Waiting } from './drain-ssm-poll.js';
import { sendAll, type Outgoing } from './drain-ssm-send.js';
import type { StepDefinition, StepResult } from './step.js';

const NAME = 'drain_ssm';

export const drainSsmStep: StepDefinition = {
  name: NAME,
  phase: 'drain',
  // Skipped by an expedite, as the drain hook: the operator asked for the termination now.
  keptByExpedite: false,
  rateLimited: false,
  stateIfThrown: undefined,
  skipReason: (policy) => (policy.drain.ssm ? null : 'no drain.ssm'),
  firstRunDelayMs: () => 0,
  create: (kit: StepKit) =>
    async function run(rows, ctx) {
      const results = new Map<number, StepResult>();
      const saves: { row: TerminationRow; data: StepData }[] = [];
      const todo = kit.triage(NAME, rows, ctx.now(), results, (data) => (data.ssm?.result ? `ran before a restart (${data.ssm.result})` : null));
      const count = kit.counter(NAME);
      const policyOf = (row: TerminationRow) => kit.policyFor(row).drain.ssm!;

      const giveUp = (row: TerminationRow, progress: SsmProgress | undefined, why: string) => {
        const data = { ...readStepData(row), ssm: { ...(progress ?? emptyProgress(ctx.now())), result: 'failed' } };
        saves.push({ row, data });
        const summary = `the SSM drain command failed on ${row.instance_id}: ${why}`;
        results.set(
          row.id,
          policyOf(row).onFailure === 'stop'
            ? { kind: 'final', state: 'failed', event: `${NAME}.failed`, detail: `${summary}; stopping (on_failure: stop): the instance is left running, out of its group and load balancers` }
            : kit.advance(NAME, row, data, ctx.now(), `${NAME}.failed`, `${summary}; going on (on_failure: continue)`),
        );
      };

      // Rows whose previous worker marked a SendCommand and did not learn its CommandId: look it up.
      const waiting: Waiting[] = [];
      const outgoing: Outgoing[] = [];
      const marked = groupByKey(todo.filter((r) => readStepData(r).ssm && readStepData(r).ssm!.commandId === null));
      await Promise.all(
        [...marked.values()].map(async (group) => {
          const progress = readStepData(group[0]!).ssm!;
          try {
            const commandId = await findCommandByKey(kit.clients.ssmFor(group[0]!.region), progress.key, policyOf(group[0]!).document, progress.markedAt, count);
            if (commandId === null) return; // never sent: sent below
            for (const row of group) waiting.push({ row, progress: { ...readStepData(row).ssm!, commandId } });
            const found = group.map((row) => ({ row, data: { ...readStepData(row), ssm: { ...readStepData(row).ssm!, commandId } } }));
            await kit.save(ctx, found, { state: 'draining', step: NAME, event: `${NAME}.found`, detail: () => `command ${commandId} (key ${progress.key}) was sent before a restart; not sent again` });
          } catch (err) {
            const e = classifyAwsError(err);
            for (const row of group) results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: `ListCommands: ${e.code}: ${e.message}`, state: 'draining' });
          }
        }),
      );

      const found = new Set(waiting.map((w) => w.row.id));
      for (const row of todo) {
        if (results.has(row.id) || found.has(row.id)) continue;
        const progress = readStepData(row).ssm;
        if (progress?.commandId) {
          waiting.push({ row, progress });
          continue;
        }
        const ssm = policyOf(row);
        let commands: string[];
        try {
          commands = renderCommands(ssm.commands, ssm.document, { instance_id: row.instance_id, region: row.region, project: row.project, component: row.component });
        } catch (err) {
          if (!(err instanceof SsmCommandError)) throw err;
          giveUp(row, progress, `cannot build the command: ${err.message}`);
          continue;
        }
        if (kit.dryRun) {
          const data = { ...readStepData(row), ssm: { ...emptyProgress(ctx.now()), result: 'skipped' } };
          saves.push({ row, data });
          results.set(row.id, kit.advance(NAME, row, data, ctx.now(), `${NAME}.dry_run`, `dry run: would send ${describeSend(ssm, commands)}; not sent`));
          continue;
        }
        outgoing.push({ row, ssm, commands });
      }

      const sent = await sendAll(kit, ctx, NAME, outgoing);
      for (const o of outgoing) {
        const refused = sent.refused.get(o.row.id);
        const retry = sent.retry.get(o.row.id);
        if (refused !== undefined) giveUp(o.row, readStepData(o.row).ssm, refused);
        else if (retry !== undefined) results.set(o.row.id, { kind: 'retry', event: `${NAME}.retry`, reason: retry, state: 'draining' });
      }
      const justSent = outgoing.filter((o) => sent.sent.has(o.row.id));
      if (justSent.length > 0) {
        const entries = justSent.map((o) => ({ row: o.row, data: { ...readStepData(o.row), ssm: sent.sent.get(o.row.id)! } }));
        await kit.save(ctx, entries, { state: 'draining', step: NAME, event: `${NAME}.sent`, detail: (id) => `command ${sent.sent.get(id)!.commandId} (key ${sent.sent.get(id)!.key})` });
        for (const o of justSent) results.set(o.row.id, look(o.row, sent.sent.get(o.row.id)!, 'sent; first look', ctx.now() + kit.tuning.drainPollMinMs));
      }

      // Commands sent before this run: look at them.
      const now = ctx.now();
      const polled = await pollAll((region) => kit.clients.ssmFor(region), waiting, now, count);
      for (const { row, progress } of waiting) {
        const outcome = polled.get(row.id)!;
        if (outcome.kind === 'success') {
          const data = { ...readStepData(row), ssm: { ...progress, result: 'ok' } };
          saves.push({ row, data });
          results.set(row.id, kit.advance(NAME, row, data, now, `${NAME}.ok`, `command ${progress.commandId} on ${row.instance_id}: ${outcome.detail} (${formatDuration(Math.max(0, now - progress.markedAt))} after sending)`));
        } else if (outcome.kind === 'failed') {
          giveUp(row, progress, `command ${progress.commandId}: ${outcome.why} (drain.ssm.timeout ${formatDuration(policyOf(row).timeoutMs)})`);
        } else if (outcome.kind === 'retry') {
          results.set(row.id, { kind: 'retry', event: `${NAME}.retry`, reason: outcome.reason, state: 'draining' });
        } else {
          if (outcome.progress) saves.push({ row, data: { ...readStepData(row), ssm: outcome.progress } });
          const next = Math.min(progress.deadline, now + pollDelayMs(now - progress.markedAt, kit.tuning.drainPollMinMs, kit.tuning.drainPollMaxMs));
          results.set(row.id, look(row, progress, outcome.status, next));
        }
      }
      await kit.save(ctx, saves);
      return results;
    },
};

function look(row: TerminationRow, progress: SsmProgress, status: string, at: number): StepResult {
  return {
    kind: 'wait',
    at,
    event: `${NAME}.waiting`,
    detail: `SSM command ${progress.commandId} on ${row.instance_id}: ${status}; next look at ${new Date(at).toISOString()}, giving up at ${new Date(progress.deadline).toISOString()}`,
    state: 'draining',
    record: false,
  };
}

function emptyProgress(now: number): SsmProgress {
  return { key: '', markedAt: now, commandId: null, deadline: now, sends: 0 };
}

function groupByKey(rows: TerminationRow[]): Map<string, TerminationRow[]> {
  const out = new Map<string, TerminationRow[]>();
  for (const row of rows) {
    const key = `${row.region} ${readStepData(row).ssm!.key}`;
    out.set(key, [...(out.get(key) ?? []), row]);
  }
  return out;
}

function describeSend(ssm: SsmPolicy, commands: string[]): string {
  return `${ssm.document} (timeout ${formatDuration(ssm.timeoutMs)}): ${commands.map((c) => JSON.stringify(c)).join(', ')}`;
}
