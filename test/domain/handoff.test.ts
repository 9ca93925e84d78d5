import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandOffError, parseHandOff } from '../../src/domain/handoff.js';
import { isRegion } from '../../src/domain/ec2-names.js';

const ID = 'i-0123456789abcdef0';
const OLD_ID = 'i-0123abcd';

function rejects(body: unknown, code: string, message?: RegExp) {
  assert.throws(
    () => parseHandOff(body),
    (err: unknown) => err instanceof HandOffError && err.code === code && (!message || message.test(err.message)),
    `expected ${code} for ${JSON.stringify(body)?.slice(0, 80)}`,
  );
}

test('the documented single-instance form', () => {
  const doc = parseHandOff({ ec2_region: 'eu-west-1', ec2_instance_id: ID, ip_address: '10.1.2.3', project: 'shop', component: 'web', user_data: { a: [1] } });
  assert.deepEqual(doc, { region: 'eu-west-1', instanceIds: [ID], ipAddress: '10.1.2.3', project: 'shop', component: 'web', userData: '{"a":[1]}', userDataValue: { a: [1] } });
});

test('region defaults to us-east-1; 8-digit ids; unknown fields ignored', () => {
  const doc = parseHandOff({ ec2_instance_id: OLD_ID, future_field: { x: 1 } });
  assert.equal(doc.region, 'us-east-1');
  assert.deepEqual(doc.instanceIds, [OLD_ID]);
  assert.equal(doc.userData, null);
  assert.equal(parseHandOff({ ec2_instance_id: ID, ec2_region: null }).region, 'us-east-1');
});

test('user_data may be any JSON value, null and strings included', () => {
  assert.equal(parseHandOff({ ec2_instance_id: ID, user_data: null }).userData, 'null');
  assert.equal(parseHandOff({ ec2_instance_id: ID, user_data: 'x' }).userData, '"x"');
  assert.equal(parseHandOff({ ec2_instance_id: ID, user_data: 3 }).userData, '3');
});

test('the list form is used when present, deduplicated in order', () => {
  const ids = [ID, OLD_ID, ID];
  assert.deepEqual(parseHandOff({ ec2_instance_ids: ids }).instanceIds, [ID, OLD_ID]);
  assert.deepEqual(parseHandOff({ ec2_instance_ids: [ID, OLD_ID], ec2_instance_id: OLD_ID }).instanceIds, [ID, OLD_ID]);
});

test('1,000 ids are accepted, 1,001 are not', () => {
  const ids = Array.from({ length: 1001 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
  assert.equal(parseHandOff({ ec2_instance_ids: ids.slice(0, 1000) }).instanceIds.length, 1000);
  rejects({ ec2_instance_ids: ids }, 'too_many_instance_ids', /at most 1000/);
});

test('malformed documents are refused with a code naming the problem', () => {
  rejects(null, 'invalid_document');
  rejects([], 'invalid_document');
  rejects('i-0123abcd', 'invalid_document');
  rejects(42, 'invalid_document');
  rejects({}, 'missing_instance_id');
  rejects({ ec2_instance_id: null }, 'missing_instance_id');
  rejects({ ec2_instance_id: 'i-xyz' }, 'invalid_instance_id', /"i-xyz" is not an EC2 instance id/);
  rejects({ ec2_instance_id: 'i-0123456789ABCDEF0' }, 'invalid_instance_id');
  rejects({ ec2_instance_id: 'i-0123456789abcdef' }, 'invalid_instance_id'); // 16 digits
  rejects({ ec2_instance_id: ` ${ID}` }, 'invalid_instance_id');
  rejects({ ec2_instance_id: 12345678 }, 'invalid_instance_id', /must be a string/);
  rejects({ ec2_instance_id: [ID] }, 'invalid_instance_id');
  rejects({ ec2_instance_ids: [] }, 'empty_instance_ids');
  rejects({ ec2_instance_ids: ID }, 'invalid_instance_id', /list/);
  rejects({ ec2_instance_ids: [ID, 7] }, 'invalid_instance_id', /ec2_instance_ids\[1\]/);
  rejects({ ec2_instance_ids: [ID, 'i-bad'] }, 'invalid_instance_id', /"i-bad"/);
  rejects({ ec2_instance_ids: [ID], ec2_instance_id: OLD_ID }, 'conflicting_instance_ids');
  rejects({ ec2_instance_id: ID, ec2_region: 'moon-1' }, 'invalid_region', /"moon-1"/);
  rejects({ ec2_instance_id: ID, ec2_region: 'US-EAST-1' }, 'invalid_region');
  rejects({ ec2_instance_id: ID, ec2_region: '' }, 'invalid_region');
  rejects({ ec2_instance_id: ID, ec2_region: 5 }, 'invalid_region');
  rejects({ ec2_instance_id: ID, project: 5 }, 'invalid_field', /project/);
  rejects({ ec2_instance_id: ID, component: 'x'.repeat(256) }, 'invalid_field', /component/);
});

test('region names of every partition', () => {
  for (const r of ['us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-4', 'il-central-1', 'us-isob-east-1', 'ca-west-1']) {
    assert.ok(isRegion(r), r);
  }
  for (const r of ['us-east', 'useast-1', 'us-east-1a', 'us-middle-1', 'u-east-1', 'us-east-123']) assert.ok(!isRegion(r), r);
});
