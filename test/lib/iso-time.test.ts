import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IsoClock } from '../../src/lib/iso-time.js';

test('formats each time as toISOString does, also when the same time comes again or an earlier one follows', () => {
  const clock = new IsoClock();
  const times = [0, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124, 1_700_000_000_123, 86_400_000 * 365 * 50, 0];
  for (const ms of times) assert.equal(clock.iso(ms), new Date(ms).toISOString(), String(ms));
});

test('each clock remembers only its own last time', () => {
  const a = new IsoClock();
  const b = new IsoClock();
  assert.equal(a.iso(1_000), '1970-01-01T00:00:01.000Z');
  assert.equal(b.iso(2_000), '1970-01-01T00:00:02.000Z');
  assert.equal(a.iso(1_000), '1970-01-01T00:00:01.000Z');
});
