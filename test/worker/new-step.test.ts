/**
 * Adding a step is one file (fixtures/announce-stop.ts) and one line in a registry: the hand-off plan,
 * the jump over steps not needed, and a real worker on a real SQLite store then run it in its place,
 * with no other change.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsClients } from '../../src/aws/clients.js';
import { createLogger } from '../../src/logger.js';
import { planHandOff } from '../../src/policy/plan-handoff.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { Worker } from '../../src/worker/loop.js';
import { pipelineSteps } from '../../src/worker/pipeline.js';
import { StepKit } from '../../src/worker/step-kit.js';
import { STEPS } from '../../src/worker/steps/registry.js';
import { scriptedClient, stepHarness, type SentCommand, type StepHarness } from '../helpers/step-harness.js';
import { announceStopStep } from './fixtures/announce-stop.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

// The registry with the new step's one line, just before the termination.
const WITH_ANNOUNCE = [...STEPS.slice(0, -1), announceStopStep, STEPS.at(-1)!];

const STOP_ONLY = 'defaults: { asg: leave, drain: { load_balancers: false }, action: stop }\n';
const doc = { project: null, component: null };

let h: StepHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

test('the plan and the jump over unneeded steps include the new step where its rule needs it', () => {
  const stop = new Policy(parsePolicy(STOP_ONLY), 0);
  const terminate = new Policy(parsePolicy('defaults: { asg: leave, drain: { load_balancers: false } }\n'), 0);
  assert.equal(planHandOff(WITH_ANNOUNCE, stop, doc, 0).firstStep, 'announce_stop');
  assert.equal(planHandOff(WITH_ANNOUNCE, terminate, doc, 0).firstStep, 'terminate', 'not needed: jumped over');
  assert.equal(planHandOff(STEPS, stop, doc, 0).firstStep, 'terminate', 'the registry without the line knows nothing of it');

  const kit = new StepKit({ clients: {} as AwsClients, policy: new Policy(parsePolicy('defaults: { action: stop }\n'), 0), dryRun: false }, WITH_ANNOUNCE);
  const row = { id: 1, instance_id: 'i-1', region: 'us-east-1', project: null, component: null, user_data: null, due_at: 0 } as Parameters<StepKit['advance']>[1];
  const next = kit.advance('drain_hook', row, {}, 0, 'drain_hook.skipped', 'no drain hook');
  assert.equal(next.kind === 'advance' && next.step, 'announce_stop');
  const last = kit.advance('announce_stop', row, {}, 0, 'announce_stop.ok', 'announced');
  assert.equal(last.kind === 'advance' && last.step, 'terminate');
});

test('a real worker runs the new step in its place, then stops the instance', async () => {
  const sent: SentCommand[] = [];
  const ec2 = scriptedClient(sent, (name, input) => {
    assert.equal(name, 'StopInstances', 'no guard configured, no drain: only the stop');
    return { StoppingInstances: (input.InstanceIds as string[]).map((InstanceId) => ({ InstanceId, CurrentState: { Name: 'stopping' } })) };
  });
  h = await stepHarness({});
  const clients = { ec2For: () => ec2 } as unknown as AwsClients;
  const policy = new Policy(parsePolicy(STOP_ONLY), 0);
  const now = Date.now();
  const plan = planHandOff(WITH_ANNOUNCE, policy, doc, now);
  const handedOff = await h.store.handOffs.recordHandOffs(
    [
      {
        region: 'us-east-1',
        instanceIds: ['i-0000000000000abcd'],
        ipAddress: null,
        project: null,
        component: null,
        userData: null,
        requestedBy: null,
        sourceIp: null,
        userAgent: null,
        dueAt: plan.dueAt,
        firstStep: plan.firstStep,
        firstAttemptAt: plan.firstAttemptAt,
      },
    ],
    now,
  );
  const scheduled = handedOff[0]![0]!;
  const worker = new Worker(
    h.store.work,
    pipelineSteps({ clients, policy, dryRun: false }, WITH_ANNOUNCE),
    { leaseMs: 30_000, pollMs: 20, claimLimit: 100, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 3 } },
    createLogger('silent'),
  );
  worker.start();
  try {
    const deadline = Date.now() + 10_000;
    while ((await rowOf(h.store, scheduled.id))?.next_attempt_at !== null) {
      if (Date.now() > deadline) throw new Error('not done in time');
      await sleep(20);
    }
  } finally {
    await worker.stop();
  }
  const row = (await rowOf(h.store, scheduled.id))!;
  assert.equal(row.state, 'stopped');
  const events = (await historyOf(h.store, row.id)).map((e) => e.event);
  assert.deepEqual(events.slice(events.indexOf('announce_stop.ok')), ['announce_stop.ok', 'terminate.started', 'terminate.stopped']);
  assert.deepEqual(sent.map((s) => s.name), ['StopInstances']);
});
