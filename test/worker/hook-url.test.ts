/** Drain hook URLs: templated from EC2's record, values encoded, the host never chosen by a value. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import { buildHookUrl, displayUrl, hostTemplateProblem, HookUrlError } from '../../src/worker/hook-url.js';

const vars = { instance_id: 'i-0123456789abcdef0', private_ip: '10.1.2.3', region: 'eu-west-1', project: 'shop', component: 'web' };

test('every variable is substituted, {private_ip} in the host', () => {
  const url = buildHookUrl('http://{private_ip}:8080/drain/{project}/{component}?id={instance_id}&r={region}', vars);
  assert.equal(url.href, 'http://10.1.2.3:8080/drain/shop/web?id=i-0123456789abcdef0&r=eu-west-1');
});

test('values are percent-encoded: they cannot add path segments, queries or fragments', () => {
  const url = buildHookUrl('https://drain.internal/x/{component}?c={component}', { ...vars, component: '../../admin?x=1#frag' });
  assert.equal(url.host, 'drain.internal');
  assert.equal(url.pathname, '/x/..%2F..%2Fadmin%3Fx%3D1%23frag');
  assert.equal(url.searchParams.get('c'), '../../admin?x=1#frag');
  assert.equal(url.hash, '');
});

test('a value cannot change the host: only {private_ip} may appear there', () => {
  for (const template of ['http://{component}.internal/drain', 'http://host:{project}/x', 'http://{instance_id}@10.0.0.1/x', 'https://x{region}/']) {
    assert.match(hostTemplateProblem(template) ?? '', /may not be used in the host part/, template);
    assert.throws(() => buildHookUrl(template, vars), HookUrlError);
  }
  assert.equal(hostTemplateProblem('http://{private_ip}:8080/drain?id={instance_id}'), null);
  // An "@" in a value stays in the path, encoded.
  assert.equal(buildHookUrl('http://10.0.0.1/{component}', { ...vars, component: 'evil.com@x' }).host, '10.0.0.1');
});

test('the policy file refuses such a template at start-up', () => {
  assert.throws(
    () => parsePolicy('defaults:\n  drain:\n    hook:\n      url: "http://{component}.svc/drain"\n', 'p.yaml'),
    (err: unknown) => err instanceof PolicyError && /p\.yaml:4: defaults\.drain\.hook\.url: \{component\} may not be used in the host part/.test(err.message),
  );
});

test('the private address must be an IP address from EC2; IPv6 is bracketed', () => {
  assert.throws(() => buildHookUrl('http://{private_ip}/x', { ...vars, private_ip: null }), /no private IP address/);
  assert.throws(() => buildHookUrl('http://{private_ip}/x', { ...vars, private_ip: 'evil.com' }), /not an IP address/);
  assert.equal(buildHookUrl('http://{private_ip}:8080/x', { ...vars, private_ip: 'fd00::1' }).host, '[fd00::1]:8080');
});

test('missing project or component become empty; history shows no query string', () => {
  const url = buildHookUrl('http://{private_ip}/drain?p={project}&c={component}&token=s3cret', { ...vars, project: null, component: null });
  assert.equal(url.search, '?p=&c=&token=s3cret');
  assert.equal(displayUrl(url), 'http://10.1.2.3/drain');
});

test('a value cannot move the path: one that makes a segment `.` or `..` is refused, however spelled', () => {
  const template = 'http://{private_ip}:8080/svc/drain/{component}/ack';
  for (const component of ['.', '..']) {
    assert.throws(() => buildHookUrl(template, { ...vars, component }), (e: unknown) => e instanceof HookUrlError && /dot segment/.test((e as Error).message), component);
  }
  // Two values that only together make `..`, in one segment.
  assert.throws(() => buildHookUrl('http://{private_ip}/svc/{project}{component}/ack', { ...vars, project: '.', component: '.' }), /dot segment/);
  // Percent signs are encoded, so `%2e%2e` stays a literal name; dots among other characters are a name too.
  assert.equal(buildHookUrl(template, { ...vars, component: '%2e%2e' }).pathname, '/svc/drain/%252e%252e/ack');
  assert.equal(buildHookUrl(template, { ...vars, component: '...' }).pathname, '/svc/drain/.../ack');
  assert.equal(buildHookUrl(template, { ...vars, component: 'web.v2' }).pathname, '/svc/drain/web.v2/ack');
  // In the query a value is only a value.
  assert.equal(buildHookUrl('http://{private_ip}/svc/ack?c={component}', { ...vars, component: '..' }).search, '?c=..');
  // The template's own dot segments are the operator's choice, and resolved as usual.
  assert.equal(buildHookUrl('http://{private_ip}/svc/../ack/{component}', vars).pathname, '/ack/web');
});
