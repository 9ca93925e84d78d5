/**
 * Runs one pipeline step by hand against a real SQLite store and scripted AWS clients, with a fake clock:
 * for unit tests of a step's decisions (the drain wait's polling, for instance) where moto cannot produce
 * the AWS behaviour (moto never reports `draining`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsClients } from '../../src/aws/clients.js';
import { createLogger } from '../../src/logger.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { openStore } from '../../src/store/open.js';
import type { Store, TerminationRow } from '../../src/store/ports.js';
import { stepOf } from '../../src/worker/pipeline.js';
import { StepKit, type PipelineTuning } from '../../src/worker/step-kit.js';
import { STEPS } from '../../src/worker/steps/registry.js';
import type { StepData } from '../../src/worker/step-data.js';
import type { Step, StepContext, StepDefinition, StepResult } from '../../src/worker/steps/step.js';

export const OWNER = 'test-owner';

/** What a scripted client was asked: the command's class name and its input. */
export interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

/** A client whose `send` answers from `script` (throw to simulate an AWS error). */
export function scriptedClient(sent: SentCommand[], script: (name: string, input: Record<string, unknown>) => unknown) {
  return {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push({ name, input: command.input });
      return script(name, command.input);
    },
  };
}

export interface StepHarness {
  store: Store;
  clock: { now: number };
  ctx: StepContext;
  kit: StepKit;
  /** The step as the worker would run it, over this harness's toolkit. */
  step(definition: StepDefinition): Step;
  /** Records a hand-off of `ids` (due at clock + delayMs), claims it, and sets its step_data. */
  rows(ids: string[], data: StepData, opts?: { delayMs?: number; component?: string }): Promise<TerminationRow[]>;
  /** The rows as the store has them now (fresh step_data). */
  reload(rows: TerminationRow[]): Promise<TerminationRow[]>;
  run(step: Step, rows: TerminationRow[]): Promise<Map<number, StepResult>>;
  close(): Promise<void>;
}

export async function stepHarness(clients: Partial<Record<keyof AwsClients, () => unknown>>, policyYaml = '', tuning: Partial<PipelineTuning> = {}): Promise<StepHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-step-'));
  const store = await openStore({ database: join(dir, 'step.db') });
  const clock = { now: 1_800_000_000_000 };
  const ctx: StepContext = { owner: OWNER, queue: store.work, log: createLogger('silent'), now: () => clock.now };
  const kit = new StepKit({ clients: clients as unknown as AwsClients, policy: new Policy(parsePolicy(policyYaml), 0), dryRun: false, tuning }, STEPS);
  const reload = async (rows: TerminationRow[]) => Promise.all(rows.map(async (r) => (await store.reads.get(r.id))!.row));
  return {
    store,
    clock,
    ctx,
    kit,
    step: (definition) => stepOf(definition, kit),
    async rows(ids, data, opts = {}) {
      await store.handOffs.recordHandOffs(
        [
          {
            region: 'us-east-1',
            instanceIds: ids,
            ipAddress: null,
            project: null,
            component: opts.component ?? null,
            userData: null,
            requestedBy: null,
            sourceIp: null,
            userAgent: null,
            dueAt: clock.now + (opts.delayMs ?? 0),
            firstStep: 'asg_detach',
            firstAttemptAt: clock.now,
          },
        ],
        clock.now,
      );
      const claimed = await store.work.claim(OWNER, clock.now, 3_600_000, 10_000);
      await store.work.saveProgress(OWNER, claimed.map((r) => ({ id: r.id, json: JSON.stringify(data) })), clock.now);
      return reload(claimed);
    },
    reload,
    run(step, rows) {
      return step.run(rows, ctx);
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
