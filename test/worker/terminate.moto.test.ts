/**
 * The worker against a real moto_server, through the fault-injecting proxy: batching, isolation of bad
 * ids, confirmation of "not found", retries through throttling, 5xx, dropped connections and stalls.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { json, type TestService } from '../helpers/service.js';
import { handOff as handOffTo, waitFinal, workerService } from '../helpers/worker-service.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';
const skip = motoSkip();

describe('terminate step against moto', { skip }, () => {
  let moto: Moto;
  let proxy: FaultProxy;
  before(async () => {
    moto = (await startMoto())!;
    proxy = await startFaultProxy(moto.endpoint);
    Object.assign(process.env, awsTestEnv(proxy.url));
  });
  after(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });

  const service = (flags: Parameters<typeof workerService>[0] = {}) => workerService(flags);
  const handOff = (svc: TestService, ids: string[]) => handOffTo(svc, ids, REGION);

  test('handed-off instances are terminated in one call, with their history', async () => {
    const svc = await service();
    try {
      const instances = await launchInstances(moto.endpoint, REGION, 5);
      const ids = await handOff(svc, instances);
      const rows = await waitFinal(svc, ids);
      assert.deepEqual(rows.map((r) => r.state), Array(5).fill('terminated'));
      const states = await instanceStates(moto.endpoint, REGION, instances);
      assert.ok(Object.values(states).every((s) => s === 'terminated' || s === 'shutting-down'), JSON.stringify(states));
      assert.equal(proxy.count('TerminateInstances'), 1);
      const history = await historyOf(svc.store, ids[0]!);
      // The drain steps run first (nothing to detach or deregister here), then the termination.
      assert.deepEqual(history.map((h) => h.event), ['asg_detach.started', 'asg_detach.ok', 'lb_deregister.started', 'lb_deregister.ok', 'terminate.started', 'terminate.ok']);
    } finally {
      await svc.close();
    }
  });

  test('a protected instance and an unknown id do not hold back the rest of the batch', async () => {
    const svc = await service();
    try {
      const good = await launchInstances(moto.endpoint, REGION, 20);
      const [guarded] = await launchInstances(moto.endpoint, REGION, 1, { terminationProtection: true });
      const unknown = 'i-0ffffffffffffffff';
      const ids = await handOff(svc, [...good.slice(0, 10), guarded!, unknown, ...good.slice(10)]);
      const rows = await waitFinal(svc, ids);
      const byInstance = new Map(rows.map((r) => [r.instance_id, r]));
      for (const id of good) assert.equal(byInstance.get(id)?.state, 'terminated', id);
      assert.equal(byInstance.get(unknown)?.state, 'gone');
      assert.match(byInstance.get(unknown)!.reason!, /DescribeInstances/);
      assert.equal(byInstance.get(guarded!)?.state, 'failed');
      assert.match(byInstance.get(guarded!)!.reason!, /OperationNotPermitted/);
      assert.equal((await instanceStates(moto.endpoint, REGION, [guarded!]))[guarded!], 'running');
      // one failing call, then the culprits settled, then the rest in one call: no retry storm
      assert.ok(proxy.count('TerminateInstances') <= 5, `TerminateInstances calls: ${proxy.count('TerminateInstances')}`);
    } finally {
      await svc.close();
    }
  });

  test('throttling, 5xx, dropped connections and stalls are retried until it works', async () => {
    const svc = await service();
    try {
      const instances = await launchInstances(moto.endpoint, REGION, 3);
      proxy.inject(
        { kind: 'status', status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', action: 'TerminateInstances' },
        { kind: 'status', status: 500, code: 'InternalError', action: 'TerminateInstances' },
        { kind: 'drop', action: 'TerminateInstances' },
        { kind: 'stall', ms: 4000, action: 'TerminateInstances' },
      );
      const ids = await handOff(svc, instances);
      const rows = await waitFinal(svc, ids);
      assert.deepEqual(rows.map((r) => r.state), ['terminated', 'terminated', 'terminated']);
      assert.equal(proxy.requests.filter((r) => r.action === 'TerminateInstances' && r.fault).length, 4);
      const events = (await historyOf(svc.store, ids[0]!)).map((h) => h.event);
      assert.equal(events.filter((e) => e === 'terminate.retry').length, 4, events.join(','));
      assert.equal(rows[0]!.attempts, 4);
    } finally {
      await svc.close();
    }
  });

  test('retries are bounded: a call that keeps failing ends in failed with the reason', async () => {
    const svc = await service({ maxAttempts: '3' });
    try {
      const instances = await launchInstances(moto.endpoint, REGION, 2);
      const fault = { kind: 'status', status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', action: 'TerminateInstances' } as const;
      proxy.inject(fault, fault, fault);
      const ids = await handOff(svc, instances);
      const rows = await waitFinal(svc, ids);
      for (const r of rows) {
        assert.equal(r.state, 'failed');
        assert.match(r.reason!, /gave up after 3 attempts: .*RequestLimitExceeded/);
      }
      assert.equal(proxy.count('TerminateInstances'), 3, 'the two instances were retried together, in one call each time');
      assert.equal((await instanceStates(moto.endpoint, REGION, instances))[instances[0]!], 'running');
    } finally {
      await svc.close();
    }
  });

  test('the per-minute ceiling lets N through and defers the rest without failing them', async () => {
    const svc = await service({ maxTerminationsPerMinute: '2' });
    try {
      const instances = await launchInstances(moto.endpoint, REGION, 3);
      const ids = await handOff(svc, instances);
      const deadline = Date.now() + 10_000;
      let rows = await Promise.all(ids.map((id) => rowOf(svc.store, id)));
      while (rows.filter((r) => r?.state === 'terminated').length < 2 && Date.now() < deadline) {
        await sleep(50);
        rows = await Promise.all(ids.map((id) => rowOf(svc.store, id)));
      }
      assert.equal(rows.filter((r) => r?.state === 'terminated').length, 2);
      const waiting = rows.find((r) => r?.state !== 'terminated')!;
      assert.equal(waiting.state, 'draining', 'drained, waiting for its termination slot');
      assert.equal(waiting.attempts, 0);
      assert.ok(waiting.next_attempt_at! > Date.now() + 30_000, 'waits for the next window');
      assert.deepEqual((await historyOf(svc.store, waiting.id)).map((h) => h.event).slice(-1), ['terminate.deferred']);
    } finally {
      await svc.close();
    }
  });

  test('dry run asks EC2 and leaves the instance running', async () => {
    const svc = await service({ dryRun: true });
    try {
      const instances = await launchInstances(moto.endpoint, REGION, 1);
      const rows = await waitFinal(svc, await handOff(svc, instances));
      assert.equal(rows[0]!.state, 'dry_run');
      assert.equal((await instanceStates(moto.endpoint, REGION, instances))[instances[0]!], 'running');
    } finally {
      await svc.close();
    }
  });

  test('a hand-off made under --dry-run is never acted on for real after a restart without it', async () => {
    const instances = await launchInstances(moto.endpoint, REGION, 1);
    const dir = mkdtempSync(join(tmpdir(), 'ddsrv-rehearsal-'));
    const database = join(dir, 'ddsrv.db');
    const rehearsal = await service({ dryRun: true, delay: '1h', database });
    const [id] = await handOff(rehearsal, instances);
    await rehearsal.close();
    // The same database, served for real.
    const real = await service({ database, delay: '0' });
    try {
      await real.app.inject({ method: 'POST', url: `/api/v1/terminations/${id}/expedite`, headers: json, payload: {} });
      const [row] = await waitFinal(real, [id!]);
      assert.equal(row!.state, 'dry_run');
      assert.match(row!.reason!, /handed off while the server ran with --dry-run/);
      assert.equal((await instanceStates(moto.endpoint, REGION, instances))[instances[0]!], 'running');
      assert.equal(proxy.count('TerminateInstances'), 0);
      assert.equal(proxy.count('DetachInstances'), 0);
    } finally {
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
