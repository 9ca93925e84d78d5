/**
 * Measures what the drain pipeline costs in AWS calls, per step, for one instance and for a batch of 100
 * (each in an Auto Scaling group, a target group and a classic ELB, with a drain hook), against moto.
 * The figures are printed (test diagnostics) and asserted, so a change that makes a step chattier fails
 * here. docs/aws-calls.md reports them:
 *
 *   TEST_FILES=test/worker/aws-calls.moto.test.ts node scripts/run-tests.mjs
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsClients } from '../../src/aws/clients.js';
import { createLogger } from '../../src/logger.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { Worker } from '../../src/worker/loop.js';
import { pipelineSteps } from '../../src/worker/pipeline.js';
import { STEPS } from '../../src/worker/steps/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHookServer, type HookServer } from '../helpers/hook-server.js';
import { createFleet } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { json, testService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';

describe('AWS calls per instance, per step', { skip: motoSkip() }, () => {
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

  type Counts = Record<string, Record<string, number>>;
  const PIPELINE = STEPS.map((s) => s.name);

  /** Hands off `size` instances of a fresh fleet in one document and counts every AWS call by step. */
  async function measure(size: number): Promise<{ counts: Counts; total: number; hookCalls: number }> {
    await moto.reset(); // one target group and one classic ELB in the region: the index costs what it costs
    const fleet = await createFleet(moto.endpoint, REGION, size);
    proxy.requests.length = 0;
    hook.requests.length = 0;
    const counts = Object.fromEntries(PIPELINE.map((s) => [s, {}])) as Counts;
    const svc = await testService({ delay: '0' });
    const clients = new AwsClients({ maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 10_000 });
    const policy = new Policy(parsePolicy(`defaults:\n  drain:\n    hook:\n      url: "${hook.base}/drain?id={instance_id}&ip={private_ip}"\n`), 0);
    const worker = new Worker(
      svc.store.work,
      pipelineSteps({
        clients,
        policy,
        dryRun: false,
        tuning: { drainPollMinMs: 50 },
        countCall: (op, _outcome, step) => {
          const ops = counts[step]!;
          ops[op] = (ops[op] ?? 0) + 1;
        },
      }),
      { leaseMs: 30_000, pollMs: 50, claimLimit: 2000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 3 } },
      createLogger('silent'),
    );
    try {
      const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_ids: fleet.instances, ec2_region: REGION, component: 'web' } });
      assert.equal(res.statusCode, 200);
      const ids: number[] = res.json().terminations.map((t: { id: number }) => t.id);
      worker.start();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const rows = await Promise.all(ids.map((id) => rowOf(svc.store, id)));
        if (rows.every((r) => r?.next_attempt_at === null)) {
          assert.deepEqual([...new Set(rows.map((r) => r!.state))], ['terminated'], JSON.stringify(rows.filter((r) => r!.state !== 'terminated').slice(0, 2)));
          break;
        }
        if (Date.now() > deadline) throw new Error('not done in time');
        await sleep(100);
      }
    } finally {
      await worker.stop();
      clients.destroy();
      await svc.close();
    }
    const total = Object.values(counts).reduce((n, ops) => n + Object.values(ops).reduce((a, b) => a + b, 0), 0);
    assert.equal(total, proxy.requests.length, 'every AWS request was counted, none twice');
    return { counts, total, hookCalls: hook.requests.length };
  }

  function report(t: TestContext, size: number, m: { counts: Counts; total: number; hookCalls: number }) {
    t.diagnostic(`${size} instance(s): ${m.total} AWS calls (${(m.total / size).toFixed(2)} per instance), ${m.hookCalls} hook call(s)`);
    for (const step of PIPELINE) {
      const ops = Object.entries(m.counts[step]!).map(([op, n]) => `${op} ${n}`);
      t.diagnostic(`  ${step.padEnd(13)} ${ops.join(', ') || '-'}`);
    }
  }

  test('one instance', async (t) => {
    const m = await measure(1);
    report(t, 1, m);
    assert.deepEqual(m.counts, {
      guard: {}, // no guard configured: no look-up
      asg_detach: { DescribeAutoScalingInstances: 1, DescribeAutoScalingGroups: 1, DetachInstances: 1 },
      lb_deregister: { DescribeTargetGroups: 1, DescribeTargetHealth: 1, DescribeLoadBalancers: 1, DeregisterTargets: 1, DeregisterInstancesFromLoadBalancer: 1 },
      drain_wait: { DescribeTargetHealth: 1, DescribeInstanceHealth: 1 },
      drain_hook: { DescribeInstances: 1 },
      drain_ssm: {}, // no drain.ssm in this policy (its calls: test/worker/drain-ssm.moto.test.ts)
      terminate: { TerminateInstances: 1 },
    });
    assert.equal(m.hookCalls, 1);
  });

  test('a batch of 100 instances handed off together', async (t) => {
    const m = await measure(100);
    report(t, 100, m);
    assert.deepEqual(m.counts, {
      guard: {},
      // 100 ids: DescribeAutoScalingInstances takes 50 per call, DetachInstances 20; all InService, so no DescribeInstances.
      asg_detach: { DescribeAutoScalingInstances: 2, DescribeAutoScalingGroups: 1, DetachInstances: 5 },
      lb_deregister: { DescribeTargetGroups: 1, DescribeTargetHealth: 1, DescribeLoadBalancers: 1, DeregisterTargets: 1, DeregisterInstancesFromLoadBalancer: 1 },
      drain_wait: { DescribeTargetHealth: 1, DescribeInstanceHealth: 1 },
      drain_hook: { DescribeInstances: 1 },
      drain_ssm: {},
      terminate: { TerminateInstances: 1 },
    });
    assert.equal(m.hookCalls, 100);
  });
});
