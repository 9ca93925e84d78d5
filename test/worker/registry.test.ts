/**
 * The registry is the only list of steps: its order, what each step declares, and the skip rules the
 * planning reads from them, per policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { DEFAULT_TUNING, whySkipped } from '../../src/worker/step-kit.js';
import type { StepData } from '../../src/worker/step-data.js';
import { STEPS, stepNamed } from '../../src/worker/steps/registry.js';

const names = STEPS.map((s) => s.name);

test('the steps, in order; names unique; the action step last and alone', () => {
  assert.deepEqual(names, ['guard', 'asg_detach', 'lb_deregister', 'drain_wait', 'drain_hook', 'drain_ssm', 'terminate']);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(STEPS.filter((s) => s.phase === 'action').map((s) => s.name), ['terminate']);
  assert.equal(STEPS.at(-1)!.phase, 'action');
  for (const name of names) assert.equal(stepNamed(name)?.name, name);
  assert.equal(stepNamed('no_such_step'), undefined);
});

test('every step declares its rules', () => {
  for (const s of STEPS) {
    assert.match(s.name, /^[a-z][a-z0-9_]*$/, s.name);
    assert.ok(s.phase === 'drain' || s.phase === 'action', s.name);
    assert.equal(typeof s.keptByExpedite, 'boolean', s.name);
    assert.equal(typeof s.rateLimited, 'boolean', s.name);
    assert.ok(Object.hasOwn(s, 'stateIfThrown'), `${s.name} says which state a throw leaves its rows in`);
    assert.ok(s.stateIfThrown === undefined || typeof s.stateIfThrown === 'string', s.name);
    assert.equal(typeof s.skipReason, 'function', s.name);
    assert.equal(typeof s.create, 'function', s.name);
    assert.ok(s.firstRunDelayMs(DEFAULT_TUNING) >= 0, s.name);
  }
  const declared = (field: 'keptByExpedite' | 'rateLimited') => STEPS.filter((s) => s[field]).map((s) => s.name);
  assert.deepEqual(declared('keptByExpedite'), ['guard', 'asg_detach', 'lb_deregister', 'terminate']);
  assert.deepEqual(declared('rateLimited'), ['terminate']);
  assert.deepEqual(STEPS.filter((s) => s.stateIfThrown !== undefined).map((s) => [s.name, s.stateIfThrown]), [['terminate', 'terminating']]);
  assert.equal(stepNamed('drain_wait')!.firstRunDelayMs({ ...DEFAULT_TUNING, drainPollMinMs: 1234 }), 1234, 'the first look at a drain waits');
});

/** Each step's skip reason (null: needed) for a policy file and the row's progress. */
function skips(yaml: string, data: StepData = {}): Record<string, string | null> {
  const policy = new Policy(parsePolicy(yaml), 0);
  const effective = policy.resolve(null, null);
  return Object.fromEntries(STEPS.map((s) => [s.name, whySkipped(s, effective, data, policy)]));
}

test('skip rules per policy and progress', () => {
  assert.deepEqual(skips(''), { guard: 'no guard configured', asg_detach: null, lb_deregister: null, drain_wait: null, drain_hook: 'no drain hook', drain_ssm: 'no drain.ssm', terminate: null });
  assert.deepEqual(skips('guard: { protect_tag: keep }\ndefaults: { drain: { hook: { url: "http://127.0.0.1:8080/d" } } }\n'), {
    guard: null,
    asg_detach: null,
    lb_deregister: null,
    drain_wait: null,
    drain_hook: null,
    drain_ssm: 'no drain.ssm',
    terminate: null,
  });
  assert.equal(skips('defaults: { drain: { ssm: { commands: ["true"] } } }\n').drain_ssm, null);
  assert.deepEqual(skips('defaults: { asg: leave, drain: { load_balancers: false } }\n'), {
    guard: 'no guard configured',
    asg_detach: 'asg: leave',
    lb_deregister: 'drain.load_balancers: false',
    drain_wait: 'drain.load_balancers: false',
    drain_hook: 'no drain hook',
    drain_ssm: 'no drain.ssm',
    terminate: null,
  });
  const nothingHeld = { lb: { targets: [], classic: [], startedAt: 0, deadline: 0 } };
  assert.equal(skips('', nothingHeld).drain_wait, 'no load balancer held the instance');
  // An expedite skips what the steps do not keep; the kept ones and the termination still run.
  const expedited = skips('guard: { protect_tag: keep }\ndefaults: { drain: { hook: { url: "http://127.0.0.1:8080/d" } } }\n', { expedited: true });
  assert.deepEqual(expedited, { guard: null, asg_detach: null, lb_deregister: null, drain_wait: 'expedited by an operator', drain_hook: 'expedited by an operator', drain_ssm: 'expedited by an operator', terminate: null });
});
