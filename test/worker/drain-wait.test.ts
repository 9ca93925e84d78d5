/**
 * The drain wait with scripted load balancer answers (moto deregisters instantly and never reports
 * `draining`): it polls with a growing pause while targets drain, goes on once they are `unused`, gives
 * up at the deadline with what was still draining, and never counts a poll as a failed attempt.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { drainWaitStep, pollDelayMs } from '../../src/worker/steps/drain-wait.js';
import { readStepData, type StepData } from '../../src/worker/step-data.js';
import { scriptedClient, stepHarness, type SentCommand, type StepHarness } from '../helpers/step-harness.js';
import { historyOf } from '../helpers/store-reads.js';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const ID = 'i-0123456789abcdef0';
let h: StepHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const lbData = (now: number, timeoutMs = 600_000, classic: string[] = []): StepData => ({
  lb: { targets: [{ arn: TG, port: 80 }], classic, startedAt: now, deadline: now + timeoutMs },
});

test('pollDelayMs grows with the time waited, within its bounds', () => {
  assert.equal(pollDelayMs(0, 5000, 30_000), 5000);
  assert.equal(pollDelayMs(20_000, 5000, 30_000), 10_000);
  assert.equal(pollDelayMs(600_000, 5000, 30_000), 30_000);
});

test('draining, draining, unused: waits twice (no lease, no attempt, no history per look), then goes on', async () => {
  const states = ['draining', 'draining', 'unused'];
  const sent: SentCommand[] = [];
  h = await stepHarness({
    elbv2For: () =>
      scriptedClient(sent, () => {
        const State = states.shift()!;
        return { TargetHealthDescriptions: [{ Target: { Id: ID, Port: 80 }, TargetHealth: { State } }] };
      }),
  });
  const step = h.step(drainWaitStep);
  const t0 = h.clock.now;
  let [row] = await h.rows([ID], lbData(t0));

  const first = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(first.kind, 'wait');
  assert.equal(first.kind === 'wait' && first.at, t0 + 5000, 'first pause: the minimum');
  assert.equal(first.kind === 'wait' && first.record, false);
  assert.match(first.kind === 'wait' ? first.detail : '', /target group web \(draining\)/);
  assert.equal(readStepData((await h.reload([row!]))[0]!).drain?.startedAt, t0, 'the start is recorded once');

  h.clock.now = t0 + 40_000;
  [row] = await h.reload([row!]);
  const second = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(second.kind, 'wait');
  assert.equal(second.kind === 'wait' && second.at, h.clock.now + 20_000, 'the pause grows: half the time waited');

  h.clock.now = t0 + 70_000;
  [row] = await h.reload([row!]);
  const third = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(third.kind, 'advance');
  assert.equal(third.kind === 'advance' && third.event, 'drain_wait.ok');
  assert.equal(third.kind === 'advance' && third.step, 'terminate', 'no hook in the policy: straight to the termination');
  assert.match(third.kind === 'advance' ? third.detail ?? '' : '', /drained from target group web \(1m10s after deregistration\)/);
  assert.equal(readStepData((await h.reload([row!]))[0]!).drain?.result, 'drained');

  // One DescribeTargetHealth per look, asking only for this batch's targets, on their registered port.
  assert.deepEqual(sent.map((s) => s.name), ['DescribeTargetHealth', 'DescribeTargetHealth', 'DescribeTargetHealth']);
  assert.deepEqual(sent[0]!.input, { TargetGroupArn: TG, Targets: [{ Id: ID, Port: 80 }] });
  const history = await historyOf(h.store, row!.id);
  assert.deepEqual(history.map((e) => e.event), ['drain_wait.started'], 'looks add no history; the loop records the outcome');
});

test('one call per target group for the whole batch', async () => {
  const sent: SentCommand[] = [];
  const ids = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003'];
  h = await stepHarness({
    elbv2For: () =>
      scriptedClient(sent, (_name, input) => ({
        TargetHealthDescriptions: (input.Targets as { Id: string; Port: number }[]).map((t) => ({ Target: t, TargetHealth: { State: 'unused' } })),
      })),
  });
  const rows = await h.rows(ids, lbData(h.clock.now));
  const results = await h.run(h.step(drainWaitStep), rows);
  assert.deepEqual([...results.values()].map((r) => r.kind), ['advance', 'advance', 'advance']);
  assert.equal(sent.length, 1);
  assert.equal((sent[0]!.input.Targets as unknown[]).length, 3);
});

test('a classic load balancer drains while it reports InService "deregistration in progress"', async () => {
  const sent: SentCommand[] = [];
  const answers = [
    { State: 'InService', Description: 'Instance deregistration currently in progress.' },
    { State: 'OutOfService', Description: 'Instance is not currently registered with the LoadBalancer.' },
  ];
  h = await stepHarness({
    elbFor: () => scriptedClient(sent, () => ({ InstanceStates: [{ InstanceId: ID, ...answers.shift()! }] })),
  });
  const step = h.step(drainWaitStep);
  const data: StepData = { lb: { targets: [], classic: ['web-clb'], startedAt: h.clock.now, deadline: h.clock.now + 600_000 } };
  let [row] = await h.rows([ID], data);
  const first = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(first.kind, 'wait');
  assert.match(first.kind === 'wait' ? first.detail : '', /classic load balancer web-clb \(Instance deregistration currently in progress\.\)/);
  h.clock.now += 5000;
  [row] = await h.reload([row!]);
  assert.equal((await h.run(step, [row!])).get(row!.id)!.kind, 'advance');
  assert.deepEqual(sent.map((s) => s.name), ['DescribeInstanceHealth', 'DescribeInstanceHealth']);
});

test('past the deadline it records the timeout, with what still drains, and goes on', async () => {
  h = await stepHarness(
    { elbv2For: () => scriptedClient([], () => ({ TargetHealthDescriptions: [{ Target: { Id: ID, Port: 80 }, TargetHealth: { State: 'draining' } }] })) },
    `defaults:\n  drain:\n    hook:\n      url: "http://{private_ip}:8080/drain"\n`,
  );
  const step = h.step(drainWaitStep);
  const t0 = h.clock.now;
  let [row] = await h.rows([ID], lbData(t0, 60_000));
  const waiting = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(waiting.kind, 'wait');
  h.clock.now = t0 + 55_000;
  [row] = await h.reload([row!]);
  const last = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(last.kind === 'wait' && last.at, t0 + 60_000, 'never looks later than the deadline');
  h.clock.now = t0 + 60_000;
  [row] = await h.reload([row!]);
  const out = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(out.kind, 'advance');
  assert.equal(out.kind === 'advance' && out.event, 'drain_wait.timeout');
  assert.equal(out.kind === 'advance' && out.step, 'drain_hook');
  assert.match(out.kind === 'advance' ? out.detail ?? '' : '', /still draining after 1m \(drain\.timeout\): target group web \(draining\); going on/);
  assert.equal(readStepData((await h.reload([row!]))[0]!).drain?.result, 'timeout');
});

test('a deleted target group holds nothing; a throttled look is retried under the shared policy', async () => {
  let call = 0;
  h = await stepHarness({
    elbv2For: () =>
      scriptedClient([], () => {
        call += 1;
        const err = Object.assign(new Error(call === 1 ? 'Rate exceeded' : 'One or more target groups not found'), {
          name: call === 1 ? 'Throttling' : 'TargetGroupNotFoundException',
          $metadata: { httpStatusCode: 400 },
        });
        throw err;
      }),
  });
  const step = h.step(drainWaitStep);
  let [row] = await h.rows([ID], lbData(h.clock.now));
  const throttled = (await h.run(step, [row!])).get(row!.id)!;
  assert.equal(throttled.kind, 'retry');
  assert.match(throttled.kind === 'retry' ? throttled.reason : '', /Throttling/);
  [row] = await h.reload([row!]);
  assert.equal((await h.run(step, [row!])).get(row!.id)!.kind, 'advance');
});
