/**
 * The isolation algorithm against a scripted EC2 (a plain function that behaves as EC2 does: one bad id
 * fails the call). Pure logic: the real SDK and moto are exercised by the worker integration tests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runIsolated } from '../../src/aws/isolate.js';

const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;
const err = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

function fakeEc2(opts: { missing?: string[]; protectedIds?: string[]; nameCulprits: boolean; throttleFirst?: number }) {
  const calls: string[][] = [];
  let throttles = opts.throttleFirst ?? 0;
  return {
    calls,
    deps: {
      actionName: 'TerminateInstances',
      async call(ids: string[]) {
        calls.push(ids);
        if (throttles-- > 0) throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
        const missing = ids.filter((i) => opts.missing?.includes(i));
        if (missing.length) throw err('InvalidInstanceID.NotFound', opts.nameCulprits ? `The instance IDs '${missing.join(', ')}' do not exist` : 'Some instances do not exist');
        const prot = ids.filter((i) => opts.protectedIds?.includes(i));
        if (prot.length) throw err('OperationNotPermitted', opts.nameCulprits ? `The instance '${prot[0]}' may not be terminated.` : 'Not permitted');
        return 'ok';
      },
      async describe(ids: string[]) {
        return new Map(ids.filter((i) => !opts.missing?.includes(i)).map((i) => [i, 'running']));
      },
    },
  };
}

test('a batch of good ids takes one call', async () => {
  const ids = Array.from({ length: 1000 }, (_, i) => id(i));
  const ec2 = fakeEc2({ nameCulprits: true });
  const results = await runIsolated(ids, ec2.deps);
  assert.equal(ec2.calls.length, 1);
  assert.ok([...results.values()].every((r) => r.kind === 'done'));
});

test('named culprits are settled and the rest go in one more call', async () => {
  const ids = Array.from({ length: 1000 }, (_, i) => id(i));
  const ec2 = fakeEc2({ missing: [id(10), id(500)], protectedIds: [id(20)], nameCulprits: true });
  const results = await runIsolated(ids, ec2.deps);
  assert.equal(results.get(id(10))?.kind, 'gone');
  assert.equal(results.get(id(500))?.kind, 'gone');
  assert.equal(results.get(id(20))?.kind, 'failed');
  assert.equal([...results.values()].filter((r) => r.kind === 'done').length, 997);
  assert.ok(ec2.calls.length <= 3, `calls: ${ec2.calls.length}`);
});

test('unnamed culprits are found by halving, in about log2(n) calls each', async () => {
  const ids = Array.from({ length: 1000 }, (_, i) => id(i));
  const ec2 = fakeEc2({ missing: [id(777)], protectedIds: [id(3)], nameCulprits: false });
  const results = await runIsolated(ids, ec2.deps);
  assert.equal(results.get(id(777))?.kind, 'gone');
  assert.equal(results.get(id(3))?.kind, 'failed');
  assert.equal([...results.values()].filter((r) => r.kind === 'done').length, 998);
  assert.ok(ec2.calls.length <= 2 * 2 * Math.ceil(Math.log2(1000)) + 1, `calls: ${ec2.calls.length}`);
  assert.equal(results.size, 1000);
});

test('a whole-call error marks every id for retry without splitting', async () => {
  const ids = [id(1), id(2), id(3)];
  const ec2 = fakeEc2({ nameCulprits: true, throttleFirst: 1 });
  const results = await runIsolated(ids, ec2.deps);
  assert.equal(ec2.calls.length, 1);
  for (const r of results.values()) {
    assert.equal(r.kind, 'retry');
    assert.ok(r.kind === 'retry' && r.throttled);
  }
});

test('"not found" that DescribeInstances contradicts is retried, not called gone', async () => {
  const ghost = id(9);
  const results = await runIsolated([ghost], {
    actionName: 'TerminateInstances',
    call: async () => {
      throw err('InvalidInstanceID.NotFound', `The instance ID '${ghost}' does not exist`);
    },
    describe: async () => new Map([[ghost, 'pending']]),
  });
  assert.equal(results.get(ghost)?.kind, 'retry');
});
