/**
 * The restore steps with scripted AWS clients (the harness's real SQLite store, a fake clock): throttling
 * during a restore retries without losing what was done, the calls of a batch of 100, a group gone, and the
 * wait until healthy (moto never reports a registered target `healthy` on its own schedule).
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { TerminationRow } from '../../src/store/schema.js';
import type { StepData } from '../../src/worker/step-data.js';
import { RESTORE_STEPS } from '../../src/worker/steps/registry.js';
import { readRestoreData, RestoreKit } from '../../src/worker/steps/restore-kit.js';
import type { Step } from '../../src/worker/steps/step.js';
import { scriptedClient, stepHarness, type SentCommand, type StepHarness } from '../helpers/step-harness.js';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${(0x100000 + i).toString(16).padStart(17, '0')}`);
const drainedData = (): StepData => ({
  asg: { group: 'web-asg', lifecycle: 'InService', detached: true, classic: [], targetGroups: [TG] },
  lb: { targets: [{ arn: TG, port: 8080 }], classic: ['legacy'], startedAt: 0, deadline: 0 },
});
const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

let h: StepHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** EC2 and Auto Scaling answering for `members` (in no group until attached) of a group with room for `max`. */
function awsScript(sent: SentCommand[], opts: { max?: number; throttle?: (name: string, n: number) => boolean; groupGone?: boolean; health?: () => string } = {}) {
  const attached = new Set<string>();
  const calls = new Map<string, number>();
  const answer = (name: string, input: Record<string, any>) => {
    const n = (calls.get(name) ?? 0) + 1;
    calls.set(name, n);
    if (opts.throttle?.(name, n)) throw throttle();
    switch (name) {
      case 'DescribeInstances':
        return { Reservations: [{ Instances: input.Filters[0].Values.map((InstanceId: string) => ({ InstanceId, State: { Name: 'running' } })) }] };
      case 'DescribeAutoScalingInstances':
        return { AutoScalingInstances: input.InstanceIds.filter((id: string) => attached.has(id)).map((InstanceId: string) => ({ InstanceId, AutoScalingGroupName: 'web-asg', LifecycleState: 'InService' })) };
      case 'DescribeAutoScalingGroups':
        return { AutoScalingGroups: opts.groupGone ? [] : [{ AutoScalingGroupName: 'web-asg', MinSize: 0, MaxSize: opts.max ?? 1000, DesiredCapacity: attached.size, Instances: [...attached].map((InstanceId) => ({ InstanceId })) }] };
      case 'AttachInstances':
        for (const id of input.InstanceIds) attached.add(id);
        return {};
      case 'DescribeTargetHealth':
        return { TargetHealthDescriptions: input.Targets.map((t: { Id: string; Port?: number }) => ({ Target: t, TargetHealth: { State: opts.health?.() ?? 'healthy' } })) };
      default:
        return {};
    }
  };
  const client = () => scriptedClient(sent, answer);
  return { clients: { ec2For: client, autoScalingFor: client, elbv2For: client, elbFor: client }, attached };
}

function restoreSteps(harness: StepHarness): Record<string, Step> {
  const kit = new RestoreKit(harness.kit, RESTORE_STEPS);
  return Object.fromEntries(RESTORE_STEPS.map((d) => [d.name, { name: d.name, keptByExpedite: false, rateLimited: false, run: d.create(kit) }]));
}

const count = (sent: SentCommand[], name: string) => sent.filter((c) => c.name === name).length;

test('throttled during the restore: the row retries in `restoring`; nothing is attached twice and the restore completes', async () => {
  const sent: SentCommand[] = [];
  const aws = awsScript(sent, { throttle: (name, n) => (name === 'AttachInstances' && n === 1) || (name === 'RegisterInstancesWithLoadBalancer' && n === 1) });
  h = await stepHarness(aws.clients);
  const steps = restoreSteps(h);
  let [row] = await h.rows(ids(1), drainedData());

  const first = (await h.run(steps.restore_asg!, [row!])).get(row!.id)!;
  assert.equal(first.kind, 'retry');
  assert.equal(first.kind === 'retry' && first.state, 'restoring');
  assert.match(first.kind === 'retry' ? first.reason : '', /AttachInstances to web-asg: Throttling: Rate exceeded/);
  [row] = await h.reload([row!]);
  assert.equal(readRestoreData(row!).restore, undefined, 'nothing recorded as done');
  const second = (await h.run(steps.restore_asg!, [row!])).get(row!.id)!;
  assert.equal(second.kind === 'advance' && second.step, 'restore_lb');
  // Run again as after a restart that lost the result: step_data says done, no AWS call at all.
  const before = sent.length;
  [row] = await h.reload([row!]);
  assert.equal((await h.run(steps.restore_asg!, [row!])).get(row!.id)!.kind, 'advance');
  assert.equal(sent.length, before);
  assert.equal(count(sent, 'AttachInstances'), 2, 'the throttled call and the one that went through');

  const lbThrottled = (await h.run(steps.restore_lb!, [row!])).get(row!.id)!;
  assert.equal(lbThrottled.kind, 'retry');
  assert.match(lbThrottled.kind === 'retry' ? lbThrottled.reason : '', /RegisterInstancesWithLoadBalancer with legacy: Throttling/);
  [row] = await h.reload([row!]);
  const done = (await h.run(steps.restore_lb!, [row!])).get(row!.id)!;
  assert.equal(done.kind, 'final');
  assert.equal(done.kind === 'final' && done.state, 'restored');
  assert.match(done.kind === 'final' ? done.detail : '', /put back: Auto Scaling group web-asg, target group web \(port 8080\), classic load balancer legacy/);
  const registered = sent.filter((c) => c.name === 'RegisterTargets').map((c) => c.input.Targets);
  assert.deepEqual(registered.at(-1), [{ Id: ids(1)[0], Port: 8080 }], 'on the recorded port');
});

test('already back in its group (a restart after the call): not attached again', async () => {
  const sent: SentCommand[] = [];
  const aws = awsScript(sent);
  h = await stepHarness(aws.clients);
  const [row] = await h.rows(ids(1), drainedData());
  aws.attached.add(ids(1)[0]!);
  const out = (await h.run(restoreSteps(h).restore_asg!, [row!])).get(row!.id)!;
  assert.equal(out.kind === 'advance' && out.detail, 'already in group web-asg (InService): not attached again');
  assert.equal(count(sent, 'AttachInstances'), 0);
});

test('a restore of 100 instances of one group: the calls it makes', async () => {
  const sent: SentCommand[] = [];
  h = await stepHarness(awsScript(sent).clients);
  const steps = restoreSteps(h);
  let rows = await h.rows(ids(100), drainedData());
  const asg = await h.run(steps.restore_asg!, rows);
  assert.ok([...asg.values()].every((r) => r.kind === 'advance'));
  rows = await h.reload(rows);
  const lb = await h.run(steps.restore_lb!, rows);
  assert.ok([...lb.values()].every((r) => r.kind === 'final' && r.state === 'restored'));
  const byName = Object.fromEntries([...new Set(sent.map((c) => c.name))].map((n) => [n, count(sent, n)]));
  assert.deepEqual(byName, { DescribeInstances: 1, DescribeAutoScalingInstances: 2, DescribeAutoScalingGroups: 1, AttachInstances: 5, RegisterTargets: 1, RegisterInstancesWithLoadBalancer: 1 });
  assert.ok(sent.filter((c) => c.name === 'AttachInstances').every((c) => (c.input.InstanceIds as string[]).length === 20));
});

test('room for some under the maximum: those are attached, the rest fail naming the group; a group gone fails naming it', async () => {
  const sent: SentCommand[] = [];
  h = await stepHarness(awsScript(sent, { max: 3 }).clients);
  const rows = await h.rows(ids(5), drainedData());
  const out = await h.run(restoreSteps(h).restore_asg!, rows);
  const attached = sent.filter((c) => c.name === 'AttachInstances').flatMap((c) => c.input.InstanceIds as string[]);
  assert.equal(attached.length, 3);
  const reloaded = await h.reload(rows);
  const problems = reloaded.map((r) => readRestoreData(r).restore!.problems);
  assert.equal(problems.filter((p) => p.length === 0).length, 3);
  assert.deepEqual(problems.filter((p) => p.length > 0), [Array(1).fill('Auto Scaling group web-asg is at its maximum size (3, desired capacity 0)'), ['Auto Scaling group web-asg is at its maximum size (3, desired capacity 0)']]);
  assert.ok([...out.values()].every((r) => r.kind === 'advance'), 'the load balancers are still restored');

  await h.close();
  const gone: SentCommand[] = [];
  h = await stepHarness(awsScript(gone, { groupGone: true }).clients);
  const steps = restoreSteps(h);
  let [row] = await h.rows(ids(1), { asg: drainedData().asg });
  const res = (await h.run(steps.restore_asg!, [row!])).get(row!.id)!;
  assert.equal(res.kind === 'final' && res.state, 'failed', 'nothing else to put back');
  assert.match(res.kind === 'final' ? res.detail : '', /could not put back: Auto Scaling group web-asg no longer exists; nothing was put back/);
  [row] = await h.reload([row!]);
});

test('restore.wait_healthy: looks until healthy; not healthy by restore.timeout: failed naming the target group', async () => {
  let health = 'initial';
  const sent: SentCommand[] = [];
  h = await stepHarness(awsScript(sent, { health: () => health }).clients, 'restore: { wait_healthy: true, timeout: 1m }\n', { drainPollMinMs: 1000, drainPollMaxMs: 5000 });
  const steps = restoreSteps(h);
  const lbOnly: StepData = { lb: drainedData().lb! };
  let [row] = await h.rows(ids(1), lbOnly);
  const lb = (await h.run(steps.restore_lb!, [row!])).get(row!.id)!;
  assert.equal(lb.kind === 'advance' && lb.step, 'restore_wait');
  [row] = await h.reload([row!]);
  const waiting = (await h.run(steps.restore_wait!, [row!])).get(row!.id)!;
  assert.equal(waiting.kind, 'wait');
  assert.match(waiting.kind === 'wait' ? waiting.detail : '', /waiting until healthy: target group web \(initial\)/);
  health = 'healthy';
  h.clock.now += 2000;
  [row] = await h.reload([row!]);
  const ok = (await h.run(steps.restore_wait!, [row!])).get(row!.id)!;
  assert.equal(ok.kind === 'final' && ok.state, 'restored');
  assert.match(ok.kind === 'final' ? ok.detail : '', /healthy in every target group/);

  health = 'unhealthy';
  let [late] = await h.rows(ids(2).slice(1), { ...lbOnly, restore: { done: ['target group web (port 8080)'], problems: [], registered: [{ arn: TG, port: 8080 }] } } as StepData);
  await h.run(steps.restore_wait!, [late!]);
  h.clock.now += 61_000;
  [late] = await h.reload([late!]);
  const timeout = (await h.run(steps.restore_wait!, [late!])).get(late!.id)!;
  assert.equal(timeout.kind === 'final' && timeout.state, 'failed');
  assert.match(timeout.kind === 'final' ? timeout.detail : '', /not healthy after 1m \(restore\.timeout\): target group web \(unhealthy\)/);
});

test('without restore.wait_healthy the wait is not needed', async () => {
  h = await stepHarness(awsScript([]).clients);
  const [row] = await h.rows(ids(1), { lb: drainedData().lb! });
  const out = (await h.run(restoreSteps(h).restore_lb!, [row! as TerminationRow])).get(row!.id)!;
  assert.equal(out.kind === 'final' && out.state, 'restored');
});

test('the registry: restore steps apart from the termination order, each declared; the first with something to put back', async () => {
  const { STEPS, firstRestoreStep, stepNamed } = await import('../../src/worker/steps/registry.js');
  assert.deepEqual(RESTORE_STEPS.map((s) => s.name), ['restore_asg', 'restore_lb', 'restore_wait']);
  for (const s of RESTORE_STEPS) {
    assert.equal(s.phase, 'restore');
    assert.equal(s.keptByExpedite, false);
    assert.equal(s.rateLimited, false, 'a restore never terminates: the ceiling does not count it');
    assert.equal(STEPS.some((t) => t.name === s.name) || stepNamed(s.name) !== undefined, false);
  }
  const { asg, lb } = drainedData();
  assert.equal(firstRestoreStep({ asg, lb })?.name, 'restore_asg');
  assert.equal(firstRestoreStep({ lb })?.name, 'restore_lb');
  assert.equal(firstRestoreStep({ asg: { ...asg!, detached: false } }), undefined);
  assert.equal(firstRestoreStep({}), undefined);
});
