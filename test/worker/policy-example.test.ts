/** The documented policy examples are valid policy files. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadPolicyFile, parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';

test('deploy/policy.example.yaml is valid and resolves as its comments say', () => {
  const policy = new Policy(loadPolicyFile('deploy/policy.example.yaml'), 10_000);
  assert.equal(policy.resolve('shop', 'cache').action, 'stop');
  assert.equal(policy.resolve('shop', 'cache').drain.hook, null);
  const worker = policy.resolve(null, 'worker');
  assert.equal(worker.delayMs, 30 * 60_000);
  assert.equal(worker.drain.loadBalancers, false);
  assert.equal(worker.drain.hook?.onFailure, 'stop');
  assert.equal(policy.resolve(null, 'legacy').asg, 'leave');
  assert.equal(policy.resolve(null, 'web', { ddsrv: { delay: '1h' } }).delayMs, 3_600_000);
});

test('the README policy reference example is valid', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Policy file reference'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the section has a YAML example');
  const policy = new Policy(parsePolicy(yaml!), 10_000);
  assert.equal(policy.resolve(null, 'worker').drain.loadBalancers, false);
  assert.equal(policy.resolve('shop', 'cache').action, 'stop');
});
