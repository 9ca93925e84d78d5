/**
 * Reading step_data (pure). Saving it, under the lease and with its history mark, is the store contract's
 * (test/store/contract/step-progress.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStepData } from '../../src/worker/step-data.js';

test('an absent or unreadable document reads as no progress', () => {
  assert.deepEqual(readStepData({ step_data: null }), {});
  assert.deepEqual(readStepData({ step_data: 'not json' }), {});
  assert.deepEqual(readStepData({ step_data: '[1,2]' }), {});
  assert.deepEqual(readStepData({ step_data: '{"lb":{"targets":[],"classic":[],"startedAt":1,"deadline":2}}' }).lb?.deadline, 2);
});
