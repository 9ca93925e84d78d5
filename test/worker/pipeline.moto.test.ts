/**
 * The drain pipeline end to end against moto, through the real service (hand-off route, store, worker):
 * detach from the ASG, deregister from a target group and a classic ELB, wait for the drain, call the
 * drain hook (served here), terminate or stop. Also: per-component policy overrides, a failing hook, an
 * instance already gone.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { ec2Client, instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHookServer, type HookServer } from '../helpers/hook-server.js';
import { classicInstances, createFleet, groupState, registeredTargets } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import type { TestService } from '../helpers/service.js';
import { handOff as handOffTo, waitFinal, workerService } from '../helpers/worker-service.js';
import { readStepData } from '../../src/worker/step-data.js';
import { historyOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';

describe('drain pipeline against moto', { skip: motoSkip() }, () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let hook: HookServer;
  before(async () => {
    moto = (await startMoto())!;
    proxy = await startFaultProxy(moto.endpoint);
    hook = await startHookServer();
    Object.assign(process.env, awsTestEnv(proxy.url));
  });
  after(async () => {
    await hook?.stop();
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
    hook.requests.length = 0;
    hook.respond = () => 200;
  });

  /** A service running the given policy file, with fast drain polls and hook retries. */
  const service = (policy: string) => workerService({ maxAttempts: '4' }, policy);
  const handOff = (svc: TestService, ids: string[], extra: Record<string, unknown> = {}) => handOffTo(svc, ids, REGION, extra);

  const events = async (svc: TestService, id: number) => (await historyOf(svc.store, id)).map((h) => h.event);
  const callsWith = (action: string, id: string) => proxy.requests.filter((r) => r.action === action && r.instanceIds.includes(id)).length;

  async function privateIp(id: string): Promise<string> {
    const ec2 = ec2Client(moto.endpoint, REGION);
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      return out.Reservations![0]!.Instances![0]!.PrivateIpAddress!;
    } finally {
      ec2.destroy();
    }
  }

  const hookPolicy = (extra = '') => `
defaults:
  drain:
    timeout: 1m
    hook:
      url: "${hook.base}/drain/{component}?id={instance_id}&ip={private_ip}&region={region}"
      method: POST
      timeout: 5s
      attempts: 2
${extra}`;

  test('an instance in an ASG, a target group and a classic ELB goes through every step in order', async () => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const [victim, keeper] = fleet.instances as [string, string];
    const seen: Record<string, unknown>[] = [];
    hook.respond = async (req) => {
      // What the world looks like while the hook runs.
      seen.push({
        state: (await instanceStates(moto.endpoint, REGION, [victim]))[victim],
        targets: await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn),
        classic: await classicInstances(moto.endpoint, REGION, fleet.classicName),
        group: (await groupState(moto.endpoint, REGION, fleet.group)).instances,
        query: Object.fromEntries(req.url.searchParams),
        path: req.url.pathname,
        body: JSON.parse(req.body),
      });
      return 200;
    };
    const svc = await service(hookPolicy());
    try {
      const [id] = await handOff(svc, [victim], { project: 'shop', component: 'web', ip_address: '203.0.113.9' });
      const [row] = await waitFinal(svc, [id!]);
      assert.equal(row!.state, 'terminated', row!.reason ?? '');
      assert.deepEqual(await events(svc, id!), [
        'asg_detach.started', 'asg_detach.ok',
        'lb_deregister.started', 'lb_deregister.ok',
        'drain_wait.started', 'drain_wait.ok',
        'drain_hook.started', 'drain_hook.ok',
        'terminate.started', 'terminate.ok',
      ]);

      // The hook saw the instance still running, out of both load balancers and out of its group.
      assert.equal(seen.length, 1, 'the hook was called once');
      const at = seen[0]!;
      assert.equal(at.state, 'running');
      assert.deepEqual(at.targets, [keeper], 'the target group holds only the other instance');
      assert.deepEqual(at.classic, [keeper], 'the classic ELB holds only the other instance');
      assert.deepEqual(at.group, [keeper]);
      // Templated from EC2's record, never from the request's ip_address; values encoded.
      assert.deepEqual(at.query, { id: victim, ip: await privateIp(victim), region: REGION });
      assert.notEqual((at.query as { ip: string }).ip, '203.0.113.9');
      assert.equal(at.path, '/drain/web');
      assert.equal((at.body as { instance_id: string }).instance_id, victim);

      // The group ends with no replacement: desired capacity decremented, only the other instance left.
      assert.deepEqual(await groupState(moto.endpoint, REGION, fleet.group), { desired: 1, instances: [keeper] });
      assert.equal((await instanceStates(moto.endpoint, REGION, [keeper]))[keeper], 'running');
      // Each change was made once, with the instance's id.
      assert.equal(callsWith('DetachInstances', victim), 1);
      assert.equal(callsWith('DeregisterTargets', victim), 1);
      assert.equal(proxy.count('DeregisterInstancesFromLoadBalancer'), 1);
      assert.equal(callsWith('TerminateInstances', victim), 1);

      // Progress and outcomes are kept: step_data, and every step's outcome in the history.
      const data = readStepData(row!);
      assert.equal(data.asg?.group, fleet.group);
      assert.equal(data.asg?.detached, true);
      assert.deepEqual(data.lb?.targets.map((t) => t.arn), [fleet.targetGroupArn]);
      assert.deepEqual(data.lb?.classic, [fleet.classicName]);
      assert.equal(data.drain?.result, 'drained');
      assert.equal(data.hook?.result, 'ok');
      assert.equal(data.hook?.lastStatus, 200);
      const history = await historyOf(svc.store, id!);
      assert.match(history.find((h) => h.event === 'asg_detach.ok')!.detail!, new RegExp(`detached from group ${fleet.group}.*no replacement`));
      assert.match(history.find((h) => h.event === 'lb_deregister.ok')!.detail!, /target group .*classic load balancer/);
      assert.match(history.find((h) => h.event === 'drain_hook.ok')!.detail!, /POST http:\/\/127\.0\.0\.1:\d+\/drain\/web answered 200/);
      assert.ok(!history.some((h) => h.detail?.includes('?id=')), 'no query strings in history');
    } finally {
      await svc.close();
    }
  });

  test('a policy override by component: leave the group, skip the load balancers and the hook', async () => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const [batchOne, webOne] = fleet.instances as [string, string];
    const svc = await service(
      hookPolicy(`components:
  batch:
    asg: leave
    drain:
      load_balancers: false
      hook: null
`),
    );
    try {
      const [batchId] = await handOff(svc, [batchOne], { component: 'batch' });
      const [webId] = await handOff(svc, [webOne], { component: 'web' });
      const rows = await waitFinal(svc, [batchId!, webId!]);
      assert.deepEqual(rows.map((r) => r.state), ['terminated', 'terminated']);
      // Its policy needs no drain step: it starts at the termination, when due (as the original server did).
      assert.deepEqual(await events(svc, batchId!), ['terminate.started', 'terminate.ok']);
      assert.ok((await events(svc, webId!)).includes('drain_hook.ok'));
      // No AWS change for the batch instance before its termination; the web one went through it all.
      assert.equal(callsWith('DetachInstances', batchOne), 0);
      assert.equal(callsWith('DeregisterTargets', batchOne), 0);
      assert.equal(callsWith('DetachInstances', webOne), 1);
      assert.deepEqual(hook.requests.map((r) => r.url.searchParams.get('id')), [webOne]);
    } finally {
      await svc.close();
    }
  });

  test('action: stop (by project/component) detaches, deregisters and stops instead of terminating', async () => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const [victim, keeper] = fleet.instances as [string, string];
    const svc = await service(
      hookPolicy(`components:
  shop/cache:
    action: stop
`),
    );
    try {
      const [id] = await handOff(svc, [victim], { project: 'shop', component: 'cache' });
      const [row] = await waitFinal(svc, [id!]);
      assert.equal(row!.state, 'stopped', row!.reason ?? '');
      assert.deepEqual((await events(svc, id!)).slice(-2), ['terminate.started', 'terminate.stopped']);
      assert.equal((await instanceStates(moto.endpoint, REGION, [victim]))[victim], 'stopped');
      assert.equal(callsWith('StopInstances', victim), 1);
      assert.equal(callsWith('TerminateInstances', victim), 0);
      assert.deepEqual(await groupState(moto.endpoint, REGION, fleet.group), { desired: 1, instances: [keeper] });
      assert.deepEqual(await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn), [keeper]);
    } finally {
      await svc.close();
    }
  });

  test('a failing hook is retried, recorded, and then the pipeline goes on (or stops, if the policy says so)', async () => {
    const [goesOn, stops] = (await launchInstances(moto.endpoint, REGION, 2)) as [string, string];
    hook.respond = () => 503;
    const svc = await service(
      hookPolicy(`components:
  strict:
    drain:
      hook:
        url: "${hook.base}/drain?id={instance_id}"
        attempts: 2
        timeout: 5s
        on_failure: stop
`),
    );
    try {
      const [goesOnId] = await handOff(svc, [goesOn], { component: 'web' });
      const [stopsId] = await handOff(svc, [stops], { component: 'strict' });
      const [a, b] = await waitFinal(svc, [goesOnId!, stopsId!]);
      assert.equal(a!.state, 'terminated');
      const evA = await events(svc, goesOnId!);
      assert.deepEqual(evA.filter((e) => e.startsWith('drain_hook')), ['drain_hook.started', 'drain_hook.retry', 'drain_hook.started', 'drain_hook.failed']);
      const failed = (await historyOf(svc.store, goesOnId!)).find((h) => h.event === 'drain_hook.failed')!;
      assert.match(failed.detail!, /failed after 2 calls: POST .* answered 503 .*going on \(on_failure: continue\)/);
      assert.equal(readStepData(a!).hook?.lastStatus, 503);

      assert.equal(b!.state, 'failed');
      assert.match(b!.reason!, /answered 503.*on_failure: stop/);
      assert.equal((await instanceStates(moto.endpoint, REGION, [stops]))[stops], 'running', 'a stopped pipeline leaves the instance running');
      assert.equal(callsWith('TerminateInstances', stops), 0);
      assert.equal(hook.requests.filter((r) => r.url.searchParams.get('id') === goesOn).length, 2);
      assert.equal(hook.requests.filter((r) => r.url.searchParams.get('id') === stops).length, 2);
    } finally {
      await svc.close();
    }
  });

  test('an instance terminated by someone else before the drain ends gone at once, with the reason', async () => {
    const [early] = (await launchInstances(moto.endpoint, REGION, 1)) as [string];
    const ec2 = ec2Client(moto.endpoint, REGION);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [early] }));
    ec2.destroy();
    const svc = await service(hookPolicy());
    try {
      const [id] = await handOff(svc, [early], { component: 'web' });
      const [row] = await waitFinal(svc, [id!]);
      assert.equal(row!.state, 'gone');
      assert.match(row!.reason!, /already terminated|shutting down/);
      assert.deepEqual(await events(svc, id!), ['asg_detach.started', 'asg_detach.gone']);
      assert.equal(proxy.count('TerminateInstances'), 0);
      assert.equal(hook.requests.length, 0);
    } finally {
      await svc.close();
    }
  });
});
