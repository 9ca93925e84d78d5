/**
 * drain_ssm end to end against moto 5.2.1 (which ends every command at once with Success), through the
 * fault proxy that counts every call: 60 instances in 2 SendCommand calls, then terminated; the AWS calls
 * per 1 and per 100 instances (docs/aws-calls.md); a `kill -9` after the send or during it never sends
 * the command a second time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ListCommandsCommand, SSMClient, type Command } from '@aws-sdk/client-ssm';
import { openStore } from '../../src/store/open.js';
import { instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { handOff, waitFinal, workerService } from '../helpers/worker-service.js';
import { historyOf, rowOf } from '../helpers/store-reads.js';

const REGION = 'us-east-1';
const POLICY = `defaults:
  asg: leave
  drain:
    load_balancers: false
    ssm:
      commands: ["systemctl stop shop-{component}", "/opt/shop/bin/drain --wait"]
      timeout: 1m
`;

describe('drain_ssm against moto', { skip: motoSkip() }, () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let ssm: SSMClient;
  let dir: string;
  before(async () => {
    moto = (await startMoto())!;
    proxy = await startFaultProxy(moto.endpoint);
    Object.assign(process.env, awsTestEnv(proxy.url));
    ssm = new SSMClient({ endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    dir = mkdtempSync(join(tmpdir(), 'ddsrv-ssm-'));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
  });
  after(async () => {
    ssm?.destroy();
    await proxy?.stop();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });

  /** Our commands in moto (moto lists every command; ours carry the key in the Comment). */
  async function ourCommands(): Promise<Command[]> {
    const out = await ssm.send(new ListCommandsCommand({}));
    return (out.Commands ?? []).filter((c) => c.Comment?.startsWith('ddsrv drain_ssm '));
  }
  const ssmCalls = () => {
    const counts: Record<string, number> = {};
    for (const r of proxy.requests) counts[r.action] = (counts[r.action] ?? 0) + 1;
    return counts;
  };

  test('60 instances handed off together: 2 SendCommand calls with the configured document and commands, then terminated', async () => {
    const before = (await ourCommands()).length;
    const ids = await launchInstances(moto.endpoint, REGION, 60);
    const svc = await workerService({}, POLICY);
    try {
      const rows = await waitFinal(svc, await handOff(svc, ids, REGION, { component: 'web' }), 60_000);
      assert.deepEqual([...new Set(rows.map((r) => r.state))], ['terminated']);
      const sends = proxy.requests.filter((r) => r.action === 'SendCommand');
      assert.deepEqual(sends.map((r) => r.instanceIds.length).sort(), [10, 50]);
      assert.deepEqual(sends.flatMap((r) => r.instanceIds).sort(), [...ids].sort());
      const commands = (await ourCommands()).slice(before);
      assert.equal(commands.length, 2);
      for (const c of commands) {
        assert.equal(c.DocumentName, 'AWS-RunShellScript');
        assert.deepEqual(c.Parameters, { commands: ["systemctl stop shop-'web'", '/opt/shop/bin/drain --wait'], executionTimeout: ['60'] });
      }
      assert.ok(Object.values(await instanceStates(moto.endpoint, REGION, ids)).every((s) => s === 'terminated'));
      const events = (await historyOf(svc.store, rows[0]!.id)).map((e) => e.event);
      assert.deepEqual(events, ['drain_ssm.sending', 'drain_ssm.sent', 'drain_ssm.ok', 'terminate.started', 'terminate.ok']);
    } finally {
      await svc.close();
    }
  });

  test('AWS calls for 1 and for 100 instances', async () => {
    const svc = await workerService({}, POLICY);
    try {
      for (const [n, expected] of [
        [1, { SendCommand: 1, ListCommands: 1, GetCommandInvocation: 1, TerminateInstances: 1 }],
        [100, { SendCommand: 2, ListCommands: 2, GetCommandInvocation: 100, TerminateInstances: 1 }],
      ] as const) {
        const ids = await launchInstances(moto.endpoint, REGION, n);
        proxy.requests.length = 0;
        await waitFinal(svc, await handOff(svc, ids, REGION, { component: 'web' }), 60_000);
        assert.deepEqual(ssmCalls(), expected, `${n} instance(s)`);
      }
    } finally {
      await svc.close();
    }
  });

  const start = (db: string) => startServerProcess(['--database', db, '--config', join(dir, 'policy.yaml'), '--delay', '0', '--poll-interval', '100ms', '--retry-base', '100ms'], awsTestEnv(proxy.url));
  async function killed(server: ServerProcess): Promise<void> {
    server.child.kill('SIGKILL');
    assert.equal(await server.exited, 'SIGKILL');
  }
  async function finish(db: string, id: number): Promise<{ state: string; events: string[] }> {
    const second = await start(db);
    try {
      await second.until('terminate.ok', () => second.logs.some((l) => l.event === 'terminate.ok'), { timeoutMs: 30_000 });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const store = await openStore({ database: db });
    try {
      return { state: (await rowOf(store, id))!.state, events: (await historyOf(store, id)).map((e) => e.event) };
    } finally {
      await store.close();
    }
  }
  /** The row's history events, from the running server's operator API. */
  async function eventsNow(server: ServerProcess, id: number): Promise<string[]> {
    const res = await fetch(`${server.url}/api/v1/terminations/${id}`);
    const body = (await res.json()) as { history?: { event: string }[] };
    return (body.history ?? []).map((e) => e.event);
  }
  async function handOffTo(server: ServerProcess, instanceId: string): Promise<number> {
    const res = await fetch(`${server.url}/delayed-termination`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ec2_instance_id: instanceId, ec2_region: REGION, component: 'web' }) });
    assert.equal(res.status, 200);
    return ((await res.json()) as { terminations: { id: number }[] }).terminations[0]!.id;
  }

  test('kill -9 after SendCommand, before the command ended: the next process looks, and does not send again', async () => {
    const [instance] = await launchInstances(moto.endpoint, REGION, 1);
    const db = join(dir, 'after-send.db');
    const before = (await ourCommands()).length;
    proxy.inject({ kind: 'stall', ms: Infinity, action: 'ListCommands' }); // the first process never learns the outcome
    const first = await start(db);
    let id: number;
    try {
      id = await handOffTo(first, instance!);
      // Sent, and the first look at it is in flight (and never answered): killed there.
      await first.until('drain_ssm.sent', async () => (await eventsNow(first, id)).includes('drain_ssm.sent'));
      await first.until('the first look', () => proxy.count('ListCommands') === 1, { timeoutMs: 15_000 });
    } finally {
      await killed(first);
    }
    const { state, events } = await finish(db, id);
    assert.equal(state, 'terminated');
    assert.deepEqual(events.filter((e) => e.startsWith('drain_ssm')), ['drain_ssm.sending', 'drain_ssm.sent', 'drain_ssm.ok']);
    assert.equal(proxy.count('SendCommand'), 1);
    assert.equal((await ourCommands()).length - before, 1, 'one command in moto');
  });

  test('kill -9 during SendCommand (AWS ran it, the answer was lost): found by its key, not sent again', async () => {
    const [instance] = await launchInstances(moto.endpoint, REGION, 1);
    const db = join(dir, 'during-send.db');
    const before = (await ourCommands()).length;
    proxy.inject({ kind: 'stall', ms: 1500, action: 'SendCommand' }); // reaches moto after the process is gone
    const first = await start(db);
    let id: number;
    try {
      id = await handOffTo(first, instance!);
      await first.until('the SendCommand in flight', () => proxy.count('SendCommand') === 1);
    } finally {
      await killed(first);
    }
    const mine = async () => (await ourCommands()).slice(before);
    for (let i = 0; (await mine()).length === 0; i++) {
      assert.ok(i < 100, 'the stalled SendCommand reached moto');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { state, events } = await finish(db, id);
    assert.equal(state, 'terminated');
    assert.deepEqual(events.filter((e) => e.startsWith('drain_ssm')), ['drain_ssm.sending', 'drain_ssm.found', 'drain_ssm.ok']);
    assert.equal(proxy.count('SendCommand'), 1, 'the second process did not send');
    assert.equal((await mine()).length, 1);
  });
});
