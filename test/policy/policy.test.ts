import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describePolicy, policyText } from '../../src/policy/describe.js';
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

test('bad values are echoed in the message', () => {
  fails('defaults:\n  action: destroy\n', /^p\.yaml:2: defaults\.action: .*expected one of "terminate"\|"stop"; got "destroy"$/);
  fails('components:\n  web:\n    asg: maybe\n', /^p\.yaml:3: components\.web\.asg: .*; got "maybe"$/);
  fails('defaults:\n  drain:\n    load_balancers: sometimes\n', /^p\.yaml:3: defaults\.drain\.load_balancers: .*expected boolean.*; got "sometimes"$/);
  fails('defaults:\n  drain:\n    hook:\n      url: "http://x/"\n      attempts: 50\n', /^p\.yaml:5: defaults\.drain\.hook\.attempts: .*20; got 50$/);
  fails('guard:\n  regions: [moon-1]\n', /^p\.yaml:2: guard\.regions\.0: "moon-1" is not an AWS region name/);
  fails('defaults:\n  drain:\n    hook:\n      url: "ftp://x/"\n', /must start with http:\/\/ or https:\/\/ \(got "ftp:\/\/x\/"\)/);
});

test('min_delay may not exceed max_delay', () => {
  fails('user_data_overrides:\n  delay: true\n  min_delay: 6h\n  max_delay: 15m\n', /^p\.yaml:3: user_data_overrides\.min_delay: min_delay \(6h\) is longer than max_delay \(15m\)/);
  const equal = new Policy(parsePolicy('user_data_overrides:\n  delay: true\n  min_delay: 1h\n  max_delay: 1h\n'), 10_000);
  assert.equal(equal.resolve(null, null, { ddsrv: { delay: '5h' } }).delayMs, 3_600_000);
});

test("a hook on a port Node's fetch refuses is rejected at load, naming the URL and the port", () => {
  fails('defaults:\n  drain:\n    hook:\n      url: "http://{private_ip}:9/drain"\n', /^p\.yaml:4: defaults\.drain\.hook\.url: "http:\/\/\{private_ip\}:9\/drain": port 9 is one Node's fetch refuses to call/);
  fails('components:\n  web:\n    drain:\n      hook:\n        url: "https://127.0.0.1:6667/x?id={instance_id}"\n', /components\.web\.drain\.hook\.url: .*port 6667/);
  fails('defaults:\n  drain:\n    hook:\n      url: "http://{private_ip}:99999/x"\n', /defaults\.drain\.hook\.url: "http:\/\/\{private_ip\}:99999\/x" is not a valid URL/);
  for (const url of ['http://{private_ip}:8080/drain', 'http://{private_ip}/drain', 'https://127.0.0.1:8443/{component}?id={instance_id}']) {
    assert.doesNotThrow(() => parsePolicy(`defaults:\n  drain:\n    hook:\n      url: "${url}"\n`), url);
  }
});

test('check-config prints what a cancel with restore does', () => {
  const waiting = describePolicy(new Policy(parsePolicy('restore:\n  wait_healthy: true\n  timeout: 5m\n'), 10_000), 'p.yaml', 10_000);
  assert.deepEqual(waiting.restore, { wait_healthy: true, timeout: '5m' });
  assert.match(policyText(waiting), /^restore \(a cancel with --restore\): back into groups and load balancers, then wait up to 5m until healthy$/m);
  const plain = describePolicy(new Policy(parsePolicy(''), 10_000), null, 10_000);
  assert.deepEqual(plain.restore, { wait_healthy: false, timeout: '10m' });
  assert.match(policyText(plain), /^restore \(a cancel with --restore\): back into groups and load balancers, not waiting for health checks$/m);
});
