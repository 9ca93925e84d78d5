import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, parseListen } from '../../src/domain/listen.js';
import { parseSize } from '../../src/domain/size.js';

test('HOST:PORT as the original took it', () => {
  assert.deepEqual(parseListen('localhost:8000'), { host: 'localhost', port: 8000 });
  assert.deepEqual(parseListen('0.0.0.0:8000'), { host: '0.0.0.0', port: 8000 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['8000', 'localhost', 'localhost:', ':8000', 'host:99999', 'a:b', 'a b:80']) {
    assert.throws(() => parseListen(bad), /is not HOST:PORT/, bad);
  }
});

test('loopback addresses', () => {
  assert.ok(isLoopback('127.0.0.1') && isLoopback('localhost') && isLoopback('::1'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1') && !isLoopback('::'));
});

test('sizes', () => {
  assert.equal(parseSize('1MiB'), 1048576);
  assert.equal(parseSize('512KiB'), 524288);
  assert.equal(parseSize('1000'), 1000);
  assert.throws(() => parseSize('1 GiB'), /not a size/);
  assert.throws(() => parseSize('-1'), /not a size/);
});
