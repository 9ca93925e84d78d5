import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';

const FULL = `
defaults:
  delay: 10s
  asg: detach
  action: terminate
  drain:
    load_balancers: true
    timeout: 10m
    hook:
      url: "http://{private_ip}:8080/drain?id={instance_id}"
      method: POST
      timeout: 30s
components:
  worker:
    delay: 30m
  shop/web:
    action: stop
    drain:
      hook: null
guard:
  require_tags: { team: payments }
  protect_tag: "ddsrv:protect"
`;

test('the documented example parses and resolves per component and project/component', () => {
  const policy = new Policy(parsePolicy(FULL), 5000);
  const base = policy.resolve(null, null);
  assert.equal(base.delayMs, 10_000);
  assert.equal(base.asg, 'detach');
  assert.equal(base.drain.timeoutMs, 600_000);
  assert.deepEqual(base.drain.hook, { url: 'http://{private_ip}:8080/drain?id={instance_id}', method: 'POST', timeoutMs: 30_000, attempts: 3, onFailure: 'continue' });
  assert.equal(policy.resolve('any', 'worker').delayMs, 1_800_000);
  const web = policy.resolve('shop', 'web');
  assert.equal(web.action, 'stop');
  assert.equal(web.drain.hook, null);
  assert.equal(policy.resolve('other', 'web').action, 'terminate');
  assert.deepEqual(policy.guard, { requireTags: { team: 'payments' }, protectTag: 'ddsrv:protect', regions: null, checkTerminationProtection: false });
});

test('an empty file means built-in defaults and --delay', () => {
  const p = new Policy(parsePolicy(''), 7000).resolve(null, null);
  assert.deepEqual(p, { delayMs: 7000, asg: 'detach', action: 'terminate', drain: { loadBalancers: true, timeoutMs: 600_000, hook: null } });
});

function fails(text: string, message: RegExp) {
  assert.throws(() => parsePolicy(text, 'p.yaml'), (err: unknown) => err instanceof PolicyError && message.test(err.message), text);
}

test('errors name the key and the line', () => {
  fails('defaults:\n  delay: soon\n', /^p\.yaml:2: defaults\.delay: 'soon' is not a duration/);
  fails('defaults:\n  delay: 10s\n  dealy: 5m\n', /^p\.yaml:3: defaults\.dealy: unknown key \(allowed here: delay, asg, action, drain\)/);
  fails('components:\n  web:\n    asg: maybe\n', /^p\.yaml:3: components\.web\.asg:/);
  fails('guard:\n  require_tags:\n    team: ""\n', /p\.yaml:3: guard\.require_tags\.team/);
  fails('defaults:\n  drain:\n    hook:\n      url: "http://{ip}/x"\n', /p\.yaml:4: defaults\.drain\.hook\.url: unknown template variable \{ip\}/);
  fails('defaults:\n  drain:\n    hook:\n      url: "{private_ip}/x"\n', /must start with http/);
  fails('nonsense: 1\n', /p\.yaml:1: nonsense: unknown key/);
  fails('defaults: [1\n', /p\.yaml:\d+: not valid YAML/);
  fails('guard:\n  regions: [moon-1]\n', /guard\.regions\.0/);
});

test('user_data may lengthen the delay within bounds, never shorten it', () => {
  const policy = new Policy(parsePolicy('user_data_overrides:\n  delay: true\n  max_delay: 1h\n'), 10_000);
  assert.equal(policy.resolve(null, null, { ddsrv: { delay: '30m' } }).delayMs, 1_800_000);
  assert.equal(policy.resolve(null, null, { ddsrv: { delay: '5h' } }).delayMs, 3_600_000);
  assert.equal(policy.resolve(null, null, { ddsrv: { delay: '1s' } }).delayMs, 10_000);
  assert.equal(policy.resolve(null, null, { ddsrv: { delay: 'garbage' } }).delayMs, 10_000);
  assert.equal(policy.resolve(null, null, 'a string').delayMs, 10_000);
  const unbounded = new Policy(parsePolicy('user_data_overrides:\n  delay: true\n'), 10_000);
  assert.equal(unbounded.resolve(null, null, { ddsrv: { delay: '9'.repeat(400) } }).delayMs, 10_000, 'an absurd delay is ignored');
  const closed = new Policy(parsePolicy(''), 10_000);
  assert.equal(closed.resolve(null, null, { ddsrv: { delay: '30m' } }).delayMs, 10_000);
});
