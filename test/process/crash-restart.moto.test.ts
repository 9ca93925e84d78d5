/**
 * Durability and restart safety with a real process: hand-offs acknowledged just before a `kill -9`
 * are still executed after a restart; SIGTERM stops cleanly with exit 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { startServerProcess } from '../helpers/server-process.js';

const REGION = 'us-east-1';

describe('crash and restart', { skip: motoSkip() }, () => {
  let moto: Moto;
  let dir: string;
  before(async () => {
    moto = (await startMoto())!;
    dir = mkdtempSync(join(tmpdir(), 'ddsrv-crash-'));
  });
  after(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('hand-offs acknowledged before kill -9 are executed after a restart', async () => {
    const db = join(dir, 'crash.db');
    const env = awsTestEnv(moto.endpoint);
    const instances = await launchInstances(moto.endpoint, REGION, 12);
    const first = await startServerProcess(['--database', db, '--delay', '2s', '--poll-interval', '100ms', '--log-level', 'info'], env);
    // Twelve concurrent hand-offs, so they share group commits.
    const responses = await Promise.all(
      instances.map((id) =>
        fetch(`${first.url}/delayed-termination`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ec2_instance_id: id, ec2_region: REGION }) }),
      ),
    );
    assert.deepEqual(responses.map((r) => r.status), Array(12).fill(200));
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    const before = await instanceStates(moto.endpoint, REGION, instances);
    assert.ok(Object.values(before).every((s) => s === 'running'), 'nothing was terminated before the crash');

    const second = await startServerProcess(['--database', db, '--delay', '2s', '--poll-interval', '100ms'], env);
    try {
      // EC2 shows an instance terminated as soon as TerminateInstances returns; the server records the result
      // and only then logs it (asynchronously), so wait for both.
      const oks = () => second.logs.filter((l) => l.event === 'terminate.ok').length;
      const done = async () => {
        const states = await instanceStates(moto.endpoint, REGION, instances);
        return Object.values(states).every((s) => s === 'terminated') && oks() >= 12;
      };
      await second.until('all 12 instances terminated and logged', done, { intervalMs: 300 });
      assert.equal(oks(), 12);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });

  test('work leased by a killed process is taken up by the next one', async (t) => {
    const db = join(dir, 'lease.db');
    const instances = await launchInstances(moto.endpoint, REGION, 3);
    // EC2 stalls: the first process claims the work and hangs inside TerminateInstances, lease held.
    const proxy = await startFaultProxy(moto.endpoint);
    t.after(() => proxy.stop()); // also when the test fails early: an open proxy would keep this file running
    proxy.inject({ kind: 'stall', ms: Infinity, action: 'TerminateInstances' });
    const first = await startServerProcess(['--database', db, '--delay', '0', '--poll-interval', '100ms', '--lease', '1h'], awsTestEnv(proxy.url));
    const res = await fetch(`${first.url}/delayed-termination`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ec2_instance_ids: instances, ec2_region: REGION }),
    });
    assert.equal(res.status, 200);
    await first.until('the stalled TerminateInstances', () => proxy.count('TerminateInstances') > 0, { timeoutMs: 10_000 });
    assert.equal(proxy.count('TerminateInstances'), 1, 'the first process is inside the call');
    first.child.kill('SIGKILL');
    await first.exited;
    await proxy.stop();

    const second = await startServerProcess(['--database', db, '--delay', '0', '--poll-interval', '100ms', '--retry-base', '100ms'], awsTestEnv(moto.endpoint));
    try {
      assert.ok(second.logs.some((l) => l.msg === 'took back work leased by a previous run' && l.released === 3), 'the held leases were taken back');
      const oks = () => second.logs.filter((l) => l.event === 'terminate.ok').length;
      await second.until('3 terminate.ok lines', () => oks() >= 3);
      assert.equal(oks(), 3);
      const states = await instanceStates(moto.endpoint, REGION, instances);
      assert.ok(Object.values(states).every((s) => s === 'terminated'), JSON.stringify(states));
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });
});
