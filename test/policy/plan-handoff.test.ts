/**
 * Where a hand-off starts, from its policy and the registry's steps: the first step the policy needs, or
 * the termination at its due time when it needs none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planHandOff } from '../../src/policy/plan-handoff.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { STEPS } from '../../src/worker/steps/registry.js';

const plan = (policy: Policy, doc: { project: string | null; component: string | null }, now: number, dryRun?: boolean) => planHandOff(STEPS, policy, doc, now, dryRun);

test('a hand-off starts at the first step its policy needs; with none, at the termination when due', () => {
  const doc = { project: 'shop', component: 'web' };
  const plain = new Policy(parsePolicy('defaults:\n  delay: 1m\n'), 0);
  assert.deepEqual(plan(plain, doc, 1000), { dueAt: 61_000, firstStep: 'asg_detach', firstAttemptAt: 1000, stepData: null });
  const noDrain = new Policy(parsePolicy('defaults:\n  delay: 1m\n  asg: leave\n  drain: { load_balancers: false }\n'), 0);
  assert.deepEqual(plan(noDrain, doc, 1000), { dueAt: 61_000, firstStep: 'terminate', firstAttemptAt: 61_000, stepData: null });
  const lbOnly = new Policy(parsePolicy('defaults:\n  asg: leave\n'), 5000);
  assert.deepEqual(plan(lbOnly, doc, 0), { dueAt: 5000, firstStep: 'lb_deregister', firstAttemptAt: 0, stepData: null });
  const guarded = new Policy(parsePolicy('defaults: { asg: leave, drain: { load_balancers: false } }\nguard: { protect_tag: keep }\n'), 0);
  assert.equal(plan(guarded, doc, 0).firstStep, 'guard');
  assert.equal(plan(plain, doc, 0, true).stepData, '{"dryRun":true}', 'a dry-run hand-off carries its mark');
});
