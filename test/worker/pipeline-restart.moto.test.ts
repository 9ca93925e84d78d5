/**
 * Restarts in the middle of the drain pipeline, with a real `ddsrv serve` process killed with SIGKILL:
 * the next process resumes at the step where the first one stopped, a step already done is not repeated,
 * and a drain hook is called again only when the crash cut that very call short.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { openStore } from '../../src/store/open.js';
import { instanceStates } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHookServer, type HookServer } from '../helpers/hook-server.js';
import { createFleet, groupState, registeredTargets } from '../helpers/lb-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const REGION = 'us-east-1';

describe('drain pipeline across kill -9 and restart', { skip: motoSkip() }, () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let hook: HookServer;
  let dir: string;
  let policyFile: string;
  before(async () => {
    moto = (await startMoto())!;
    proxy = await startFaultProxy(moto.endpoint);
    hook = await startHookServer();
    dir = mkdtempSync(join(tmpdir(), 'ddsrv-pipeline-restart-'));
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      `defaults:\n  drain:\n    timeout: 1m\n    hook:\n      url: "${hook.base}/drain?id={instance_id}"\n      timeout: 20s\n`,
    );
  });
  after(async () => {
    await hook?.stop();
    await proxy?.stop();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.requests.length = 0;
    hook.requests.length = 0;
    hook.respond = () => 200;
  });

  const start = (db: string) =>
    startServerProcess(['--database', db, '--config', policyFile, '--delay', '0', '--poll-interval', '100ms', '--retry-base', '100ms'], awsTestEnv(proxy.url));

  async function handOff(server: ServerProcess, id: string): Promise<number> {
    const res = await fetch(`${server.url}/delayed-termination`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ec2_instance_id: id, ec2_region: REGION, component: 'web' }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { terminations: { id: number }[] }).terminations[0]!.id;
  }

  const logged = (server: ServerProcess, event: string) => server.logs.some((l) => l.event === event);
  const callsWith = (action: string, id: string) => proxy.requests.filter((r) => r.action === action && r.instanceIds.includes(id)).length;

  /** The row's history, read from the database once no process holds it. */
  async function history(db: string, id: number) {
    const store = await openStore({ database: db });
    try {
      return (await store.reads.get(id))!;
    } finally {
      await store.close();
    }
  }

  async function kill(server: ServerProcess): Promise<void> {
    server.child.kill('SIGKILL');
    assert.equal(await server.exited, 'SIGKILL');
  }

  async function stop(server: ServerProcess): Promise<void> {
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  }

  test('killed between steps, the next process resumes at the step where it stopped', async () => {
    const db = join(dir, 'between.db');
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const [victim, keeper] = fleet.instances as [string, string];
    // The first process gets through asg_detach and hangs inside lb_deregister's DeregisterTargets (which
    // never reaches moto): killed there, the detach is recorded, the deregistration is not.
    proxy.inject({ kind: 'stall', ms: Infinity, action: 'DeregisterTargets' });
    const first = await start(db);
    const id = await handOff(first, victim);
    await first.until('the stalled DeregisterTargets', () => proxy.count('DeregisterTargets') === 1);
    assert.ok(logged(first, 'asg_detach.ok'));
    await kill(first);
    assert.deepEqual(await registeredTargets(moto.endpoint, REGION, fleet.targetGroupArn), [keeper, victim].sort(), 'still registered');

    const second = await start(db);
    try {
      await second.until('terminate.ok', () => logged(second, 'terminate.ok'));
    } finally {
      await stop(second);
    }
    const { row, history: h } = await history(db, id);
    assert.equal(row.state, 'terminated');
    assert.deepEqual(
      h.map((e) => e.event),
      [
        'asg_detach.started', 'asg_detach.ok',
        'lb_deregister.started', // first process, killed here
        'lb_deregister.started', 'lb_deregister.ok',
        'drain_wait.started', 'drain_wait.ok',
        'drain_hook.started', 'drain_hook.ok',
        'terminate.started', 'terminate.ok',
      ],
    );
    // The detach was not repeated (not even looked up again); the deregistration was made once it could be.
    assert.equal(callsWith('DescribeAutoScalingInstances', victim), 1);
    assert.equal(callsWith('DetachInstances', victim), 1);
    assert.equal(callsWith('DeregisterTargets', victim), 2, 'the stalled call and the one after the restart');
    assert.equal(hook.requests.length, 1);
    assert.deepEqual(await groupState(moto.endpoint, REGION, fleet.group), { desired: 1, instances: [keeper] });
    assert.equal((await instanceStates(moto.endpoint, REGION, [victim]))[victim], 'terminated');
  });

  test('killed during the drain hook call, the hook is called again and nothing before it is repeated', async () => {
    const db = join(dir, 'hook.db');
    const fleet = await createFleet(moto.endpoint, REGION, 2);
    const [victim, keeper] = fleet.instances as [string, string];
    hook.respond = () => (hook.requests.length === 1 ? 'hang' : 200);
    const first = await start(db);
    const id = await handOff(first, victim);
    await first.until('the first hook call', () => hook.requests.length === 1);
    await kill(first);

    const second = await start(db);
    try {
      await second.until('terminate.ok', () => logged(second, 'terminate.ok'));
    } finally {
      await stop(second);
    }
    const { row, history: h } = await history(db, id);
    assert.equal(row.state, 'terminated');
    const events = h.map((e) => e.event);
    assert.deepEqual(events.filter((e) => e.startsWith('drain_hook')), ['drain_hook.started', 'drain_hook.started', 'drain_hook.ok']);
    assert.match(h.filter((e) => e.event === 'drain_hook.started')[1]!.detail!, /cut short by a restart; calling again/);
    assert.equal(events.filter((e) => e === 'asg_detach.ok').length, 1);
    assert.equal(events.filter((e) => e === 'lb_deregister.ok').length, 1);
    assert.equal(hook.requests.length, 2, 'called again, once');
    assert.equal(callsWith('DetachInstances', victim), 1);
    assert.equal(callsWith('DeregisterTargets', victim), 1);
    assert.equal(proxy.count('DeregisterInstancesFromLoadBalancer'), 1);
    assert.deepEqual(await groupState(moto.endpoint, REGION, fleet.group), { desired: 1, instances: [keeper] });
  });
});
