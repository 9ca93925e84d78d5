import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';

test('parses every documented duration form', () => {
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(' 10s '), 10_000);
  assert.equal(parseDuration('1.5s'), 1500);
});

test('refuses what is not a duration, saying what is expected', () => {
  for (const bad of ['', 's', '10 s', '10x', '-5s', '5m-', 'abc', '1h 30m', '10S']) {
    assert.throws(() => parseDuration(bad), /is not a duration.*90s/, bad);
  }
});

test('refuses durations beyond ten years (they would overflow dates downstream)', () => {
  assert.equal(parseDuration('3650d'), 3650 * 86_400_000);
  assert.throws(() => parseDuration('3651d'), /longest duration allowed/);
  assert.throws(() => parseDuration('9'.repeat(400)), /longest duration allowed/);
  assert.throws(() => parseDuration('100000000d'), /longest duration allowed/);
});

test('formats durations readably', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(86_400_000 + 1), '1d1ms');
});
