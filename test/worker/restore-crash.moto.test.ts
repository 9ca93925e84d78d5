/**
 * A restore interrupted by `kill -9` between its steps (attached to the group, inside the registration
 * with the load balancers) completes after a restart, with no second AttachInstances: the real process,
 * moto behind a fault proxy that holds RegisterTargets until the process is killed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { instanceStates } from '../helpers/ec2-fixtures.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { classicInstances, createFleet, groupState, registeredTargets } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const REGION = 'us-east-1';
const TOKEN = 'restore-crash-token-0123456789';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

describe('restore across kill -9', { skip: motoSkip() }, () => {
  let moto: Moto;
  let dir: string;
  before(async () => {
    moto = (await startMoto())!;
    dir = mkdtempSync(join(tmpdir(), 'ddsrv-restore-crash-'));
  });
  after(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const termination = async (server: ServerProcess, id: number) => (await (await fetch(`${server.url}/api/v1/terminations/${id}`, { headers })).json()) as { state: string; step: string; reason: string | null; history: { event: string }[] };

  test('killed inside restore_lb after restore_asg: the restart finishes it without attaching again', { timeout: 120_000 }, async (t) => {
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const victim = fleet.instances[0]!;
    const before = await groupState(moto.endpoint, REGION, fleet.group);
    const proxy = await startFaultProxy(moto.endpoint);
    t.after(() => proxy.stop());
    const db = join(dir, 'restore.db');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'defaults:\n  drain:\n    timeout: 20s\n');
    const args = ['--database', db, '--delay', '1h', '--poll-interval', '100ms', '--auth-token', TOKEN, '--config', policy];
    const first = await startServerProcess(args, awsTestEnv(proxy.url));
    const res = await fetch(`${first.url}/delayed-termination`, { method: 'POST', headers, body: JSON.stringify({ ec2_instance_ids: [victim], ec2_region: REGION }) });
    assert.equal(res.status, 200);
    const id = ((await res.json()) as { terminations: { id: number }[] }).terminations[0]!.id;
    await first.until('drained, waiting for its due time', async () => (await termination(first, id)).step === 'terminate', { timeoutMs: 60_000, intervalMs: 200 });

    proxy.inject({ kind: 'stall', ms: Infinity, action: 'RegisterTargets' });
    const cancel = await fetch(`${first.url}/api/v1/terminations/${id}/cancel`, { method: 'POST', headers, body: JSON.stringify({ restore: true }) });
    assert.equal(cancel.status, 200);
    await first.until('inside RegisterTargets', () => proxy.count('RegisterTargets') > 0, { timeoutMs: 20_000 });
    assert.equal(proxy.count('AttachInstances'), 1);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    assert.ok((await groupState(moto.endpoint, REGION, fleet.group)).instances.includes(victim), 'attached before the crash');

    const second = await startServerProcess(args, awsTestEnv(proxy.url));
    try {
      await second.until('restored', async () => (await termination(second, id)).state !== 'restoring', { timeoutMs: 60_000, intervalMs: 200 });
      const done = await termination(second, id);
      assert.equal(done.state, 'restored', done.reason ?? '');
      assert.equal(proxy.count('AttachInstances'), 1, 'no second attach');
      const events = done.history.map((h) => h.event);
      assert.deepEqual(events.filter((e) => e.startsWith('restore_asg.')), ['restore_asg.started', 'restore_asg.ok']);
      assert.equal(events.filter((e) => e === 'restore_lb.started').length, 2, 'restore_lb ran again after the restart');
      const group = await groupState(moto.endpoint, REGION, fleet.group);
      assert.equal(group.desired, before.desired);
      assert.deepEqual(group.instances, before.instances);
      assert.ok((await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn)).includes(victim));
      assert.ok((await classicInstances(moto.endpoint, REGION, fleet.classicName)).includes(victim));
      assert.equal((await instanceStates(moto.endpoint, REGION, [victim]))[victim], 'running');
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });
});
