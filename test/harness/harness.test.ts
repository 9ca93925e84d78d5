// Tests of the integration-test harness itself (moto.ts, ec2-fixtures.ts, fault-proxy.ts) against a real
// moto_server, plus measurements of how moto answers the calls the worker depends on. The measured facts
// are asserted, so a moto upgrade that changes them fails here first, and printed as test diagnostics.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeInstanceAttributeCommand,
  type EC2Client,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2ClientConfig,
} from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsTestEnv, motoSkip, processGroupAlive, startMoto, type Moto } from '../helpers/moto.js';
import { ec2Client, findAmi, instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const REGION = 'us-east-1';
const UNKNOWN_ID = 'i-0123456789abcdef0';

type SdkError = Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };

async function failure(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('expected the call to fail');
}

function describeError(e: SdkError): string {
  return `name=${e.name} status=${e.$metadata?.httpStatusCode} code=${e.code ?? ''} message=${JSON.stringify(e.message)}`;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

describe('motoSkip and startMoto without moto_server', () => {
  const saved = { PATH: process.env.PATH, CI: process.env.CI };
  const restore = (): void => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };

  test('locally: a skip message saying how to install, and startMoto() gives undefined', async () => {
    try {
      process.env.PATH = '/nonexistent';
      delete process.env.CI;
      const skip = motoSkip();
      assert.equal(typeof skip, 'string');
      assert.match(skip as string, /pip install 'moto\[server\]'/);
      assert.equal(await startMoto(), undefined);
    } finally {
      restore();
    }
  });

  test('under CI=true: both throw instead of skipping', async () => {
    try {
      process.env.PATH = '/nonexistent';
      process.env.CI = 'true';
      assert.throws(() => motoSkip(), /moto_server is not on PATH/);
      await assert.rejects(startMoto(), /CI=true/);
    } finally {
      restore();
    }
  });
});

describe('moto harness', { skip: motoSkip() }, () => {
  let moto: Moto;
  let proxy: FaultProxy;

  before(async () => {
    const started = await startMoto();
    assert.ok(started, 'moto_server is on PATH, so it must start');
    moto = started;
    proxy = await startFaultProxy(moto.endpoint);
  });
  after(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    proxy.requests.length = 0; // every test consumes the faults it injects

  });

  describe('moto lifecycle', () => {
    test('stop() leaves no process behind and closes the port', async () => {
      const m = await startMoto();
      assert.ok(m);
      assert.ok(await answers(m.endpoint));
      assert.ok(processGroupAlive(m.pgid));
      await m.stop();
      assert.equal(processGroupAlive(m.pgid), false);
      assert.equal(await answers(m.endpoint), false);
      await m.stop(); // idempotent
    });

    test('a SIGKILLed test process does not orphan moto', async () => {
      const motoTs = new URL('../helpers/moto.ts', import.meta.url).href;
      const code = `import { startMoto } from ${JSON.stringify(motoTs)};
        const m = await startMoto();
        console.log(JSON.stringify({ pgid: m.pgid, endpoint: m.endpoint }));
        setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const { pgid, endpoint } = JSON.parse(line.toString()) as { pgid: number; endpoint: string };
      assert.ok(await answers(endpoint));
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.ok(await waitFor(() => !processGroupAlive(pgid), 5000), 'moto group still alive 5 s after its parent died');
      assert.equal(await answers(endpoint), false);
    });

    test('reset() forgets every instance', async () => {
      const ids = await launchInstances(moto.endpoint, REGION, 2);
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['running', 'running']);
      await moto.reset();
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['absent', 'absent']);
    });

    test('awsTestEnv() lets a child process reach moto with a default-configured client', async () => {
      const code = `import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
        const out = await new EC2Client({}).send(new DescribeInstancesCommand({}));
        console.log(out.Reservations.flatMap((r) => r.Instances).length);`;
      await launchInstances(moto.endpoint, REGION, 3);
      const env = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...awsTestEnv(moto.endpoint) };
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (c: Buffer) => (out += c));
      child.stderr!.on('data', (c: Buffer) => (err += c));
      const [status] = (await once(child, 'exit')) as [number];
      assert.equal(status, 0, err);
      assert.equal(out.trim(), '3');
      assert.equal(err, '', 'no Node-version warning, no credential noise');
    });
  });

  describe('ec2 fixtures', () => {
    test('tags, termination protection and absent ids', async () => {
      const ec2 = ec2Client(moto.endpoint, REGION);
      const [tagged] = await launchInstances(moto.endpoint, REGION, 1, { tags: { team: 'a', Name: 'web' } });
      const [locked] = await launchInstances(moto.endpoint, REGION, 1, { terminationProtection: true });
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [tagged!] }));
      const tags = Object.fromEntries((out.Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
      assert.deepEqual(tags, { team: 'a', Name: 'web' });
      const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: locked!, Attribute: 'disableApiTermination' }));
      assert.equal(attr.DisableApiTermination?.Value, true);
      assert.deepEqual(await instanceStates(moto.endpoint, REGION, [tagged!, UNKNOWN_ID]), { [tagged!]: 'running', [UNKNOWN_ID]: 'absent' });
      ec2.destroy();
    });

    test('2,000 instances launch, 1,000 terminate in one call (timings)', async (t) => {
      let start = Date.now();
      const ids = await launchInstances(moto.endpoint, REGION, 2000);
      const launchMs = Date.now() - start;
      assert.equal(new Set(ids).size, 2000);
      const ec2 = ec2Client(moto.endpoint, REGION, { maxAttempts: 1 });
      start = Date.now();
      const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.slice(0, 1000) }));
      const terminateMs = Date.now() - start;
      assert.equal(out.TerminatingInstances?.length, 1000);
      start = Date.now();
      const states = await instanceStates(moto.endpoint, REGION, ids);
      const describeMs = Date.now() - start;
      const counts: Record<string, number> = {};
      for (const s of Object.values(states)) counts[s] = (counts[s] ?? 0) + 1;
      assert.deepEqual(counts, { terminated: 1000, running: 1000 });
      // moto has no 1,000-id cap (AWS has): 1,001 ids in one call succeed.
      const over = await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.slice(999, 2000) }));
      assert.equal(over.TerminatingInstances?.length, 1001);
      t.diagnostic(`RunInstances 2,000 (2 calls of 1,000): ${launchMs} ms; TerminateInstances 1,000 ids: ${terminateMs} ms; instanceStates 2,000 ids (10 filtered DescribeInstances): ${describeMs} ms`);
      ec2.destroy();
    });
  });

  describe('fault proxy', () => {
    const client = (extra: Partial<EC2ClientConfig> = {}) => ec2Client(proxy.url, REGION, { maxAttempts: 1, ...extra });

    test('passes requests through and records action and instance ids', async () => {
      const ids = await launchInstances(moto.endpoint, REGION, 5);
      const ec2 = client();
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.slice(0, 2) }));
      assert.deepEqual(await instanceStates(moto.endpoint, REGION, ids), {
        [ids[0]!]: 'terminated', [ids[1]!]: 'terminated', [ids[2]!]: 'running', [ids[3]!]: 'running', [ids[4]!]: 'running',
      });
      assert.deepEqual(proxy.requests, [{ action: 'TerminateInstances', instanceIds: ids.slice(0, 2) }]);
      assert.equal(proxy.count('TerminateInstances'), 1);
      ec2.destroy();
    });

    test('status 503 RequestLimitExceeded is seen by the SDK as throttling, and nothing reaches moto', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 1);
      const ec2 = client();
      proxy.inject({ kind: 'status', status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', action: 'TerminateInstances' });
      const e = await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
      t.diagnostic(describeError(e));
      assert.equal(e.name, 'RequestLimitExceeded');
      assert.equal(e.$metadata?.httpStatusCode, 503);
      assert.equal(e.message, 'Request limit exceeded.');
      assert.deepEqual(proxy.requests, [{ action: 'TerminateInstances', instanceIds: ids, fault: 'status' }]);
      assert.deepEqual(await instanceStates(moto.endpoint, REGION, ids), { [ids[0]!]: 'running' });
      ec2.destroy();
    });

    test('faults are consumed in order, only by matching actions; the SDK retries past them by default', async () => {
      const ids = await launchInstances(moto.endpoint, REGION, 1);
      proxy.inject(
        { kind: 'status', status: 500, code: 'InternalError', action: 'TerminateInstances' },
        { kind: 'status', status: 503, code: 'RequestLimitExceeded', action: 'TerminateInstances' },
      );
      const ec2 = ec2Client(proxy.url, REGION, { maxAttempts: 3 });
      await ec2.send(new DescribeInstancesCommand({})); // not TerminateInstances: untouched
      const e = await failure(client().send(new TerminateInstancesCommand({ InstanceIds: ids })));
      assert.equal(e.name, 'InternalError');
      assert.equal(e.$metadata?.httpStatusCode, 500);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })); // 503 then success
      assert.deepEqual(
        proxy.requests.map((r) => [r.action, r.fault]),
        [['DescribeInstances', undefined], ['TerminateInstances', 'status'], ['TerminateInstances', 'status'], ['TerminateInstances', undefined]],
      );
      assert.equal(proxy.count('TerminateInstances'), 3);
      assert.deepEqual(await instanceStates(moto.endpoint, REGION, ids), { [ids[0]!]: 'terminated' });
      ec2.destroy();
    });

    test('drop: the SDK sees a connection error', async (t) => {
      proxy.inject({ kind: 'drop' });
      const e = await failure(client().send(new DescribeInstancesCommand({})));
      t.diagnostic(describeError(e));
      assert.equal(e.code, 'ECONNRESET');
      assert.equal(e.$metadata?.httpStatusCode, undefined);
      assert.equal(proxy.requests[0]?.fault, 'drop');
    });

    test('stall beyond requestTimeout (with throwOnRequestTimeout): the SDK times out, yet moto executes the request afterwards', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 1);
      proxy.inject({ kind: 'stall', ms: 600 });
      const ec2 = client({ requestHandler: new NodeHttpHandler({ requestTimeout: 150, throwOnRequestTimeout: true }) });
      const start = Date.now();
      const e = await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
      const waited = Date.now() - start;
      t.diagnostic(`${describeError(e)} after ${waited} ms`);
      assert.equal(e.name, 'TimeoutError');
      assert.equal(e.code, 'ETIMEDOUT');
      assert.ok(waited < 600, `timed out after ${waited} ms`);
      assert.deepEqual(await instanceStates(moto.endpoint, REGION, ids), { [ids[0]!]: 'running' });
      // The proxy forwards the stalled request once the stall ends: the call the client gave up on happens.
      assert.ok(await waitFor(async () => (await instanceStates(moto.endpoint, REGION, ids))[ids[0]!] === 'terminated', 3000));
      ec2.destroy();
    });

    test('requestTimeout WITHOUT throwOnRequestTimeout only logs a warning: the call waits out the stall', async (t) => {
      proxy.inject({ kind: 'stall', ms: 500 });
      const warnings: string[] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (msg: unknown) => void warnings.push(String(msg)) };
      const ec2 = client({ requestHandler: new NodeHttpHandler({ requestTimeout: 150, logger }) });
      const start = Date.now();
      const out = await ec2.send(new DescribeInstancesCommand({}));
      const waited = Date.now() - start;
      t.diagnostic(`succeeded after ${waited} ms; warning: ${warnings[0]}`);
      assert.deepEqual(out.Reservations, []);
      assert.ok(waited >= 500);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /throwOnRequestTimeout=true/);
      ec2.destroy();
    });

    test('socketTimeout (idle socket) also turns a stall into a TimeoutError', async (t) => {
      proxy.inject({ kind: 'stall', ms: 600 });
      const ec2 = client({ requestHandler: new NodeHttpHandler({ socketTimeout: 150 }) });
      const e = await failure(ec2.send(new DescribeInstancesCommand({})));
      t.diagnostic(describeError(e));
      assert.equal(e.name, 'TimeoutError');
      assert.match(e.message, /socket timed out after 150 ms of inactivity/);
      ec2.destroy();
    });

    test('a finite stall within the timeout just delays the answer', async () => {
      proxy.inject({ kind: 'stall', ms: 300, action: 'DescribeInstances' });
      const start = Date.now();
      const out = await client().send(new DescribeInstancesCommand({}));
      assert.ok(Date.now() - start >= 300);
      assert.deepEqual(out.Reservations, []);
    });

    test('stop() closes a proxy holding an infinite stall', async () => {
      const own = await startFaultProxy(moto.endpoint);
      own.inject({ kind: 'stall', ms: Infinity });
      const ec2 = ec2Client(own.url, REGION, { maxAttempts: 1 });
      const pending = failure(ec2.send(new DescribeInstancesCommand({})));
      assert.ok(await waitFor(() => own.requests.length === 1, 3000));
      const start = Date.now();
      await own.stop();
      assert.ok(Date.now() - start < 1000);
      const e = await pending;
      assert.equal(e.code, 'ECONNRESET');
      ec2.destroy();
    });
  });

  describe('moto facts the worker design depends on', () => {
    let shared: EC2Client | undefined;
    const ec2 = (): EC2Client => (shared ??= ec2Client(moto.endpoint, REGION, { maxAttempts: 1 }));
    after(() => shared?.destroy());

    test('TerminateInstances with an unknown well-formed id: whole call fails, none terminated', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 2);
      const e = await failure(ec2().send(new TerminateInstancesCommand({ InstanceIds: [ids[0]!, UNKNOWN_ID, ids[1]!] })));
      t.diagnostic(describeError(e));
      assert.equal(e.name, 'InvalidInstanceID.NotFound');
      assert.equal(e.$metadata?.httpStatusCode, 400);
      assert.equal(e.message, `The instance ID '${UNKNOWN_ID}' does not exist`);
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['running', 'running']);
    });

    test('TerminateInstances with a malformed id: NotFound (AWS says Malformed), none terminated', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 2);
      for (const bad of ['i-xyz', 'not-an-id']) {
        const e = await failure(ec2().send(new TerminateInstancesCommand({ InstanceIds: [ids[0]!, bad, ids[1]!] })));
        t.diagnostic(`${bad}: ${describeError(e)}`);
        assert.equal(e.name, 'InvalidInstanceID.NotFound');
        assert.equal(e.$metadata?.httpStatusCode, 400);
        assert.equal(e.message, `The instance ID '${bad}' does not exist`);
      }
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['running', 'running']);
    });

    test('TerminateInstances with a protected instance: fails, but ids BEFORE it are terminated (not atomic)', async (t) => {
      const [a, b] = await launchInstances(moto.endpoint, REGION, 2);
      const [locked] = await launchInstances(moto.endpoint, REGION, 1, { terminationProtection: true });
      const e = await failure(ec2().send(new TerminateInstancesCommand({ InstanceIds: [a!, locked!, b!] })));
      t.diagnostic(describeError(e));
      assert.equal(e.name, 'OperationNotPermitted');
      assert.equal(e.$metadata?.httpStatusCode, 400);
      assert.equal(e.message, `The instance '${locked}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`);
      const states = await instanceStates(moto.endpoint, REGION, [a!, locked!, b!]);
      t.diagnostic(`after: ${JSON.stringify(states)}`);
      assert.deepEqual(states, { [a!]: 'terminated', [locked!]: 'running', [b!]: 'running' });
    });

    test('RunInstances ignores DisableApiTermination in moto (the fixture uses ModifyInstanceAttribute)', async () => {
      const ImageId = await findAmi(moto.endpoint, REGION);
      const out = await ec2().send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1, DisableApiTermination: true }));
      const id = out.Instances![0]!.InstanceId!;
      const attr = await ec2().send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'disableApiTermination' }));
      assert.equal(attr.DisableApiTermination?.Value, false);
    });

    test('DescribeInstances: an instance-id filter omits unknown ids; InstanceIds fails on them', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 2);
      const out = await ec2().send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [ids[0]!, UNKNOWN_ID, 'bogus', ids[1]!] }] }));
      const found = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId).sort();
      assert.deepEqual(found, [...ids].sort());
      const e = await failure(ec2().send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!, UNKNOWN_ID] })));
      t.diagnostic(`InstanceIds with an unknown id: ${describeError(e)}`);
      assert.equal(e.name, 'InvalidInstanceID.NotFound');
      assert.equal(e.$metadata?.httpStatusCode, 400);
    });

    test('DryRun: DryRunOperation 412 without checking ids or protection, nothing terminated', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 1);
      const [locked] = await launchInstances(moto.endpoint, REGION, 1, { terminationProtection: true });
      for (const batch of [ids, [UNKNOWN_ID], [locked!]]) {
        const e = await failure(ec2().send(new TerminateInstancesCommand({ InstanceIds: batch, DryRun: true })));
        t.diagnostic(`${batch.join(',')}: ${describeError(e)}`);
        assert.equal(e.name, 'DryRunOperation');
        assert.equal(e.$metadata?.httpStatusCode, 412);
        assert.equal(e.message, 'Request would have succeeded, but DryRun flag is set.');
      }
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['running']);
    });

    test('terminated state is immediate in DescribeInstances; terminating again succeeds', async (t) => {
      const ids = await launchInstances(moto.endpoint, REGION, 1);
      const first = await ec2().send(new TerminateInstancesCommand({ InstanceIds: ids }));
      const again = await ec2().send(new TerminateInstancesCommand({ InstanceIds: ids }));
      const show = (o: typeof first) => o.TerminatingInstances?.map((i) => `${i.PreviousState?.Name}->${i.CurrentState?.Name}`).join();
      t.diagnostic(`first: ${show(first)}; again: ${show(again)}`);
      assert.equal(show(first), 'running->shutting-down');
      assert.equal(show(again), 'terminated->shutting-down');
      assert.deepEqual(Object.values(await instanceStates(moto.endpoint, REGION, ids)), ['terminated']);
    });
  });
});
