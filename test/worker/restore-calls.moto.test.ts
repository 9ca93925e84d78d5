/**
 * What a restore costs in AWS calls, per restore step, for one instance and for a batch of 100 (each in
 * an Auto Scaling group, its target group and a classic ELB, drained, then all cancelled with restore
 * before the worker looks again), against moto. Printed (test diagnostics) and asserted:
 *
 *   TEST_FILES=test/worker/restore-calls.moto.test.ts node scripts/run-tests.mjs
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsClients } from '../../src/aws/clients.js';
import { createLogger } from '../../src/logger.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import type { TerminationRow } from '../../src/store/schema.js';
import { Worker } from '../../src/worker/loop.js';
import { pipelineSteps } from '../../src/worker/pipeline.js';
import { RESTORE_STEPS } from '../../src/worker/steps/registry.js';
import { createFleet, groupState } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';

describe('AWS calls of a restore', { skip: motoSkip() }, () => {
  let moto: Moto;
  before(async () => {
    moto = (await startMoto())!;
    Object.assign(process.env, awsTestEnv(moto.endpoint));
  });
  after(() => moto?.stop());

  type Counts = Record<string, Record<string, number>>;

  async function until(svc: TestService, ids: number[], done: (r: TerminationRow) => boolean): Promise<TerminationRow[]> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const rows = (await Promise.all(ids.map((id) => rowOf(svc.store, id)))).map((r) => r!);
      if (rows.every(done)) return rows;
      if (Date.now() > deadline) throw new Error(`not in time: ${JSON.stringify(rows.slice(0, 2))}`);
      await sleep(100);
    }
  }

  async function measure(size: number): Promise<{ counts: Counts; total: number }> {
    await moto.reset();
    const fleet = await createFleet(moto.endpoint, REGION, size);
    const before = await groupState(moto.endpoint, REGION, fleet.group);
    const counts: Counts = Object.fromEntries(RESTORE_STEPS.map((s) => [s.name, {}]));
    const svc = await testService({ delay: '1h' });
    const clients = new AwsClients({ maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 10_000 });
    const worker = () =>
      new Worker(
        svc.store.work,
        pipelineSteps({
          clients,
          policy: new Policy(parsePolicy(''), 0),
          dryRun: false,
          tuning: { drainPollMinMs: 50 },
          countCall: (op, _outcome, step) => {
            const ops = counts[step];
            if (ops) ops[op] = (ops[op] ?? 0) + 1;
          },
        }),
        { leaseMs: 30_000, pollMs: 50, claimLimit: 2000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 3 } },
        createLogger('silent'),
      );
    const drainer = worker();
    const restorer = worker();
    try {
      const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_ids: fleet.instances, ec2_region: REGION } });
      const ids: number[] = res.json().terminations.map((t: { id: number }) => t.id);
      drainer.start();
      await until(svc, ids, (r) => r.step === 'terminate' && r.lease_owner === null);
      await drainer.stop();
      // Every cancel first, then one worker round takes them all as one batch.
      for (const id of ids) assert.equal((await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${id}/cancel`, headers: json, payload: { restore: true } })).statusCode, 200);
      restorer.start();
      const rows = await until(svc, ids, (r) => r.next_attempt_at === null);
      assert.deepEqual([...new Set(rows.map((r) => r.state))], ['restored'], rows[0]!.reason ?? '');
      assert.equal((await groupState(moto.endpoint, REGION, fleet.group)).desired, before.desired);
    } finally {
      await restorer.stop();
      clients.destroy();
      await svc.close();
    }
    const total = Object.values(counts).reduce((n, ops) => n + Object.values(ops).reduce((a, b) => a + b, 0), 0);
    return { counts, total };
  }

  for (const size of [1, 100]) {
    test(`${size} instance(s)`, { timeout: 180_000 }, async (t) => {
      const m = await measure(size);
      t.diagnostic(`${size} instance(s): ${m.total} AWS calls (${(m.total / size).toFixed(2)} per instance)`);
      for (const [step, ops] of Object.entries(m.counts)) t.diagnostic(`  ${step.padEnd(13)} ${Object.entries(ops).map(([op, n]) => `${op} ${n}`).join(', ') || '-'}`);
      assert.deepEqual(m.counts, {
        // DescribeAutoScalingInstances takes 50 ids per call, AttachInstances 20.
        restore_asg: { DescribeInstances: 1, DescribeAutoScalingInstances: Math.ceil(size / 50), DescribeAutoScalingGroups: 1, AttachInstances: Math.ceil(size / 20) },
        restore_lb: { RegisterTargets: 1, RegisterInstancesWithLoadBalancer: 1 },
        restore_wait: {},
      });
    });
  }
});
