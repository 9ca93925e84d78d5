/**
 * Cancel with restore end to end against moto, through the real service: an ASG member in a target group
 * on a non-default port and in a classic ELB is handed off with a long delay, drained, then cancelled with
 * restore: it is back in its group (desired capacity as before the hand-off, nothing extra launched), in
 * both target groups on their ports and in the classic ELB, running, `restored`. A group at its maximum
 * size: `failed` naming the group, the load balancers still restored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateTargetGroupCommand, DescribeTargetHealthCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ec2Client, instanceStates } from '../helpers/ec2-fixtures.js';
import { asgClient, classicInstances, createFleet, elbv2Client, groupState, registeredTargets, type Fleet } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { json } from '../helpers/service.js';
import type { TestService } from '../helpers/service.js';
import { waitFinal, workerService } from '../helpers/worker-service.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';
const TOKEN = 'moto-restore-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const POLICY = 'defaults:\n  drain:\n    timeout: 5s\n';

describe('cancel with restore against moto', { skip: motoSkip() }, () => {
  let moto: Moto;
  let svc: TestService;
  before(async () => {
    moto = (await startMoto())!;
    Object.assign(process.env, awsTestEnv(moto.endpoint));
    svc = await workerService({ delay: '1h', authToken: TOKEN }, POLICY);
  });
  after(async () => {
    await svc?.close();
    await moto?.stop();
  });

  /** A second target group (default port 80) holding `id` on port 8080 only. */
  async function altTargetGroup(id: string): Promise<string> {
    const ec2 = ec2Client(moto.endpoint, REGION);
    const elbv2 = elbv2Client(moto.endpoint, REGION);
    try {
      const vpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs![0]!.VpcId!;
      const name = `alt-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
      const arn = (await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpc, TargetType: 'instance' }))).TargetGroups![0]!.TargetGroupArn!;
      await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id, Port: 8080 }] }));
      return arn;
    } finally {
      ec2.destroy();
      elbv2.destroy();
    }
  }

  async function targetPorts(arn: string, id: string): Promise<number[]> {
    const elbv2 = elbv2Client(moto.endpoint, REGION);
    try {
      const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
      return (out.TargetHealthDescriptions ?? []).filter((d) => d.Target?.Id === id && d.TargetHealth?.State !== 'unused' && d.TargetHealth?.State !== 'draining').map((d) => d.Target!.Port!);
    } finally {
      elbv2.destroy();
    }
  }

  async function handOffAndDrain(fleet: Fleet, victim: string): Promise<number> {
    const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth }, payload: { ec2_instance_ids: [victim], ec2_region: REGION } });
    assert.equal(res.statusCode, 200, res.body);
    const id = res.json().terminations[0].id as number;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = await rowOf(svc.store, id);
      // Drained: waiting at the terminate step for its due time, an hour away.
      if (row?.step === 'terminate' && row.lease_owner === null) break;
      if (Date.now() > deadline) throw new Error(`not drained in time: ${row?.state} ${row?.step} ${row?.reason}`);
      await sleep(50);
    }
    assert.ok(!(await groupState(moto.endpoint, REGION, fleet.group)).instances.includes(victim), 'detached');
    assert.ok(!(await classicInstances(moto.endpoint, REGION, fleet.classicName)).includes(victim), 'out of the classic ELB');
    return id;
  }

  const cancelRestore = (id: number) => svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${id}/cancel`, headers: { ...json, ...auth }, payload: { restore: true, reason: 'rollback' } });
  const events = async (id: number) => (await historyOf(svc.store, id)).map((h) => h.event);

  test('drained, then cancelled with restore: back in its group, its target groups on their ports and its classic ELB', { timeout: 90_000 }, async () => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const victim = fleet.instances[0]!;
    const alt = await altTargetGroup(victim);
    const before = await groupState(moto.endpoint, REGION, fleet.group);
    const id = await handOffAndDrain(fleet, victim);
    assert.equal((await groupState(moto.endpoint, REGION, fleet.group)).desired, before.desired - 1);
    assert.deepEqual(await targetPorts(alt, victim), [], 'out of the second target group');

    const res = await cancelRestore(id);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().state, 'restoring');
    assert.equal(res.json().history.at(-1).event, 'cancelled.restore');
    assert.match(res.json().history.at(-1).detail, new RegExp(`detached from Auto Scaling group ${fleet.group}`));

    const [row] = await waitFinal(svc, [id]);
    assert.equal(row!.state, 'restored', row!.reason ?? '');
    const after = await groupState(moto.endpoint, REGION, fleet.group);
    assert.equal(after.desired, before.desired, 'desired capacity as before the hand-off');
    assert.deepEqual(after.instances, before.instances, 'back in the group, nothing extra launched');
    assert.ok((await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn)).includes(victim), 'in the group target group');
    assert.deepEqual(await targetPorts(alt, victim), [8080], 'in the second target group on its own port');
    assert.ok((await classicInstances(moto.endpoint, REGION, fleet.classicName)).includes(victim), 'in the classic ELB');
    assert.equal((await instanceStates(moto.endpoint, REGION, [victim]))[victim], 'running');

    const history = await events(id);
    assert.deepEqual(history.slice(history.indexOf('cancelled.restore')), ['cancelled.restore', 'restore_asg.started', 'restore_asg.ok', 'restore_lb.started', 'restored']);
    const last = (await historyOf(svc.store, id)).at(-1)!;
    assert.match(last.detail!, new RegExp(`Auto Scaling group ${fleet.group}`));
    assert.match(last.detail!, /target group alt-[^ ]+ \(port 8080\)/);
    assert.match(last.detail!, new RegExp(`classic load balancer ${fleet.classicName}`));

    const again = await cancelRestore(id);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().state, 'restored');
    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    assert.match(metrics, /^ddsrv_terminations_finished_total\{state="restored"\} 1$/m);
    assert.match(metrics, /^ddsrv_aws_calls_total\{operation="AttachInstances",outcome="ok"\} 1$/m);
  });

  test('a group at its maximum size: failed naming it, the load balancers still restored', { timeout: 90_000 }, async () => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const victim = fleet.instances[0]!;
    const id = await handOffAndDrain(fleet, victim);
    const asg = asgClient(moto.endpoint, REGION);
    try {
      await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: fleet.group, MaxSize: 1 }));
    } finally {
      asg.destroy();
    }
    assert.equal((await cancelRestore(id)).statusCode, 200);
    const [row] = await waitFinal(svc, [id]);
    assert.equal(row!.state, 'failed');
    assert.match(row!.reason!, new RegExp(`could not put back: Auto Scaling group ${fleet.group} is at its maximum size \\(1`));
    assert.match(row!.reason!, new RegExp(`put back: target group ${fleet.group}.*classic load balancer ${fleet.classicName}`));
    assert.ok(!(await groupState(moto.endpoint, REGION, fleet.group)).instances.includes(victim), 'not attached');
    assert.ok((await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn)).includes(victim));
    assert.ok((await classicInstances(moto.endpoint, REGION, fleet.classicName)).includes(victim));
    assert.equal((await instanceStates(moto.endpoint, REGION, [victim]))[victim], 'running', 'restore never terminates');
  });
});
