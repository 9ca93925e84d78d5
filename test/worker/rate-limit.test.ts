import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindow } from '../../src/worker/rate-limit.js';
import { LiveCount } from '../../src/store/live-count.js';

test('grants up to N per rolling minute, then frees slots as they age out', () => {
  const w = new RateWindow(3);
  assert.equal(w.take(2, 0), 2);
  assert.equal(w.take(5, 1000), 1);
  assert.equal(w.take(1, 2000), 0);
  assert.equal(w.nextSlotAt(2000), 60_000);
  assert.equal(w.take(5, 60_000), 2, 'the two from t=0 aged out');
  assert.equal(w.take(5, 61_000), 1);
});

test('the live count is read once, then bumped locally and refreshed in the background', async () => {
  let calls = 0;
  const live = new LiveCount(async () => {
    calls += 1;
    return 10;
  }, 1000);
  assert.equal(await live.current(Date.now()), 10);
  live.added(5);
  assert.equal(await live.current(Date.now()), 15);
  assert.equal(calls, 1);
});

test('a failing count does not throw into requests', async () => {
  const live = new LiveCount(async () => {
    throw new Error('db down');
  }, 0);
  assert.equal(await live.current(Date.now()), 0);
});
