import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, exhausted } from '../../src/lib/backoff.js';

const policy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 };

test('doubles per failure between half and all of the ceiling, capped', () => {
  assert.equal(backoffMs(policy, 1, 0), 500);
  assert.equal(backoffMs(policy, 1, 1), 1000);
  assert.equal(backoffMs(policy, 3, 0.5), 3000);
  assert.equal(backoffMs(policy, 30, 1), 60_000);
  assert.equal(backoffMs(policy, 30, 0), 30_000);
});

test('gives up after maxAttempts failures', () => {
  assert.ok(!exhausted(policy, 4));
  assert.ok(exhausted(policy, 5));
});
