import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAwsError, idsNamedIn } from '../../src/aws/errors.js';

const awsError = (name: string, status?: number, message = 'x') =>
  Object.assign(new Error(message), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } });

test('per-instance codes are flagged for isolation', () => {
  assert.equal(classifyAwsError(awsError('InvalidInstanceID.NotFound', 400)).kind, 'not_found');
  assert.equal(classifyAwsError(awsError('OperationNotPermitted', 400)).kind, 'protected');
  assert.ok(classifyAwsError(awsError('InvalidInstanceID.Malformed', 400)).perInstance);
  assert.ok(!classifyAwsError(awsError('RequestLimitExceeded', 503)).perInstance);
});

test('throttling, server errors and network failures are retryable kinds', () => {
  assert.equal(classifyAwsError(awsError('RequestLimitExceeded', 503)).kind, 'throttled');
  assert.equal(classifyAwsError(awsError('SomethingNew', 502)).kind, 'transient');
  assert.equal(classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).kind, 'transient');
  assert.equal(classifyAwsError(awsError('TimeoutError')).kind, 'transient');
  assert.equal(classifyAwsError(awsError('UnauthorizedOperation', 403)).kind, 'access');
  assert.equal(classifyAwsError(awsError('DryRunOperation', 412)).kind, 'dry_run_ok');
  assert.equal(classifyAwsError(awsError('WeirdClientThing', 400)).kind, 'unknown');
});

test('ids named in an error message, limited to the call', () => {
  const ids = ['i-0123456789abcdef0', 'i-0123abcd', 'i-00000000000000001'];
  assert.deepEqual(idsNamedIn("The instance IDs 'i-0123456789abcdef0, i-0123abcd' do not exist", ids), ['i-0123456789abcdef0', 'i-0123abcd']);
  assert.deepEqual(idsNamedIn("The instance 'i-99999999' may not be terminated", ids), []);
  assert.deepEqual(idsNamedIn('no ids here', ids), []);
});
