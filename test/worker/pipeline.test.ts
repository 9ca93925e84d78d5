/**
 * Pipeline decisions with scripted AWS answers, for what moto does not reproduce: AWS's ValidationError
 * when an instance left its group meanwhile, instances that cannot be detached yet, the 20-ids limit of
 * DetachInstances, an unknown target failing a whole DeregisterTargets call. And the timing rule: the
 * termination comes no earlier than hand-off + delay, and no earlier than the drain is done.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { asgDetachStep } from '../../src/worker/steps/asg-detach.js';
import { lbDeregisterStep } from '../../src/worker/steps/lb-deregister.js';
import { readStepData } from '../../src/worker/step-data.js';
import { scriptedClient, stepHarness, type SentCommand, type StepHarness } from '../helpers/step-harness.js';

let h: StepHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `i-${(from + i).toString(16).padStart(17, '0')}`);
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

function ec2Running(sent: SentCommand[]) {
  return scriptedClient(sent, (_name, input) => ({
    Reservations: [{ Instances: ((input.Filters as { Values: string[] }[])[0]!.Values).map((InstanceId) => ({ InstanceId, State: { Name: 'running' }, PrivateIpAddress: '10.0.0.1' })) }],
  }));
}

test('the termination waits out the rest of the delay after the drain, and not longer', async () => {
  h = await stepHarness({});
  const [early] = await h.rows(ids(1), {}, { delayMs: 60_000 });
  const [late] = await h.rows(ids(1, 100), {}, { delayMs: 0 });
  const now = h.clock.now + 5000;
  const a = h.kit.advance('drain_hook', early!, {}, now, 'drain_hook.ok', 'ok');
  assert.equal(a.kind === 'advance' && a.step, 'terminate');
  assert.equal(a.kind === 'advance' && a.at, early!.due_at, 'drained before the due time: waits for it');
  assert.match(a.kind === 'advance' ? a.detail ?? '' : '', /terminate at .* \(hand-off \+ delay; 55s from now\)/);
  const b = h.kit.advance('drain_hook', late!, {}, now, 'drain_hook.ok', 'ok');
  assert.equal(b.kind === 'advance' && b.at, now, 'drained after the due time: at once');
  // Steps the policy does not need are jumped over, and named.
  const c = h.kit.advance('lb_deregister', late!, { lb: { targets: [], classic: [], startedAt: now, deadline: now } }, now, 'lb_deregister.ok', 'in no load balancer');
  assert.equal(c.kind === 'advance' && c.step, 'terminate');
  assert.match(c.kind === 'advance' ? c.detail ?? '' : '', /not needed: drain_wait \(no load balancer held the instance\), drain_hook \(no drain hook\)/);
});

test('asg_detach: one lookup per batch, DetachInstances per group in calls of 20, states handled', async () => {
  const sent: SentCommand[] = [];
  const members = ids(25);
  const [pending, leaving, outside] = ids(3, 500);
  h = await stepHarness({
    ec2For: () => ec2Running(sent),
    autoScalingFor: () =>
      scriptedClient(sent, (name, input) => {
        if (name === 'DescribeAutoScalingInstances') {
          const lifecycle = (id: string) => (id === pending ? 'Pending' : id === leaving ? 'Detaching' : 'InService');
          return { AutoScalingInstances: (input.InstanceIds as string[]).filter((id) => id !== outside).map((InstanceId) => ({ InstanceId, AutoScalingGroupName: 'web', LifecycleState: lifecycle(InstanceId) })) };
        }
        if (name === 'DescribeAutoScalingGroups') return { AutoScalingGroups: [{ AutoScalingGroupName: 'web', LoadBalancerNames: ['clb'], TargetGroupARNs: [] }] };
        return { Activities: [] };
      }),
  });
  const rows = await h.rows([...members, pending!, leaving!, outside!], {});
  const results = await h.run(h.step(asgDetachStep), rows);
  const byInstance = new Map(rows.map((r) => [r.instance_id, results.get(r.id)!]));
  for (const id of members) assert.equal(byInstance.get(id)!.kind, 'advance', id);
  assert.equal(byInstance.get(pending!)!.kind, 'retry');
  assert.match(byInstance.get(pending!)!.kind === 'retry' ? (byInstance.get(pending!) as { reason: string }).reason : '', /lifecycle state Pending/);
  assert.match((byInstance.get(leaving!) as { detail: string }).detail, /already leaving group web \(Detaching\)/);
  assert.match((byInstance.get(outside!) as { detail: string }).detail, /in no Auto Scaling group/);
  assert.deepEqual(
    sent.map((s) => s.name),
    ['DescribeAutoScalingInstances', 'DescribeInstances', 'DescribeAutoScalingGroups', 'DetachInstances', 'DetachInstances'],
  );
  const detaches = sent.filter((s) => s.name === 'DetachInstances');
  assert.deepEqual(detaches.map((s) => (s.input.InstanceIds as string[]).length), [20, 5]);
  assert.ok(detaches.every((s) => s.input.ShouldDecrementDesiredCapacity === true));
  // What the drain wait needs later: the group's classic load balancers.
  const saved = readStepData((await h.reload(rows))[0]!);
  assert.deepEqual(saved.asg, { group: 'web', lifecycle: 'InService', detached: true, classic: ['clb'], targetGroups: [] });
});

test('asg_detach: an instance that left its group meanwhile fails the call (AWS); the rest are detached one by one', async () => {
  const sent: SentCommand[] = [];
  const [a, b, c] = ids(3);
  h = await stepHarness({
    ec2For: () => ec2Running(sent),
    autoScalingFor: () =>
      scriptedClient(sent, (name, input) => {
        if (name === 'DescribeAutoScalingInstances') return { AutoScalingInstances: (input.InstanceIds as string[]).map((InstanceId) => ({ InstanceId, AutoScalingGroupName: 'web', LifecycleState: 'InService' })) };
        if (name === 'DescribeAutoScalingGroups') return { AutoScalingGroups: [{ AutoScalingGroupName: 'web' }] };
        const list = input.InstanceIds as string[];
        if (list.includes(b!)) throw awsError('ValidationError', `The instance ${b} is not part of Auto Scaling group web.`);
        if (list.includes(c!)) throw awsError('ValidationError', 'Desired capacity:0 must be between the specified min size:1 and max size:5');
        return { Activities: [] };
      }),
  });
  const rows = await h.rows([a!, b!, c!], {});
  const results = await h.run(h.step(asgDetachStep), rows);
  const [ra, rb, rc] = rows.map((r) => results.get(r.id)!);
  assert.match((ra as { detail: string }).detail, /^detached from group web/);
  assert.match((rb as { detail: string }).detail, /no longer in group web \(detached by someone else meanwhile\)/);
  assert.equal(rc!.kind, 'retry', 'the group at its minimum size: retried (bounded), never detached without decrementing');
  assert.match((rc as { reason: string }).reason, /min size/);
  assert.deepEqual(sent.filter((s) => s.name === 'DetachInstances').map((s) => (s.input.InstanceIds as string[]).length), [3, 1, 1, 1]);
});

test('lb_deregister: one DeregisterTargets per target group for the batch; an unknown target does not hold back the others', async () => {
  const sent: SentCommand[] = [];
  const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
  const [a, b, gone] = ids(3);
  h = await stepHarness({
    elbv2For: () =>
      scriptedClient(sent, (name, input) => {
        if (name === 'DescribeTargetGroups') return { TargetGroups: [{ TargetGroupArn: TG, TargetType: 'instance' }] };
        if (name === 'DescribeTargetHealth') {
          return { TargetHealthDescriptions: [a, b, gone].map((Id) => ({ Target: { Id, Port: 80 }, TargetHealth: { State: 'healthy' } })).concat([{ Target: { Id: 'i-0fffffffffffffff0', Port: 80 }, TargetHealth: { State: 'healthy' } }]) };
        }
        if ((input.Targets as { Id: string }[]).some((t) => t.Id === gone)) throw awsError('InvalidTargetException', 'The following targets are not in a running state and cannot be deregistered');
        return {};
      }),
    elbFor: () => scriptedClient(sent, () => ({ LoadBalancerDescriptions: [{ LoadBalancerName: 'clb', Instances: [{ InstanceId: a }, { InstanceId: b }] }] })),
  });
  const rows = await h.rows([a!, b!, gone!], {});
  const results = await h.run(h.step(lbDeregisterStep), rows);
  assert.deepEqual(rows.map((r) => results.get(r.id)!.kind), ['advance', 'advance', 'advance']);
  const names = sent.map((s) => s.name);
  assert.deepEqual(names.filter((n) => n.startsWith('Describe')).sort(), ['DescribeLoadBalancers', 'DescribeTargetGroups', 'DescribeTargetHealth']);
  assert.deepEqual(sent.filter((s) => s.name === 'DeregisterTargets').map((s) => (s.input.Targets as unknown[]).length), [3, 1, 1, 1]);
  assert.equal(names.filter((n) => n === 'DeregisterInstancesFromLoadBalancer').length, 1);
  const [da, , dgone] = (await h.reload(rows)).map((r) => readStepData(r).lb!);
  assert.deepEqual(da!.targets, [{ arn: TG, port: 80 }]);
  assert.deepEqual(da!.classic, ['clb']);
  assert.deepEqual(dgone!.targets, [], 'the unknown target has nothing to drain');

  // A second batch within the cache's lifetime does not look the load balancers up again.
  sent.length = 0;
  const more = await h.rows(ids(1, 900), {});
  await h.run(h.step(lbDeregisterStep), more);
  assert.deepEqual(sent.map((s) => s.name), []);
});
