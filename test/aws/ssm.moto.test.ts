/**
 * The SSM wrapper against moto 5.2.1 (docs/aws-calls.md, "SSM", says what moto does differently), and
 * its pure parts: the Comment that carries the key and the termination ids, the reason text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  commandEnded,
  commandProgress,
  commentFor,
  describeInvocation,
  findCommandByKey,
  firstLines,
  getInvocation,
  invocationEnded,
  newCommandKey,
  sendCommand,
} from '../../src/aws/ssm.js';
import { launchInstances } from '../helpers/ec2-fixtures.js';
import { motoSkip, startMoto, type Moto } from '../helpers/moto.js';

test('the Comment: prefix, key, termination ids as ranges, never over 100 characters', () => {
  assert.equal(commentFor('0123456789ab', [14, 12, 13, 20]), 'ddsrv drain_ssm 0123456789ab t=12-14,20');
  const many = commentFor('0123456789ab', Array.from({ length: 50 }, (_, i) => 100_000 + i * 2));
  assert.ok(many.length <= 100, many);
  assert.match(many, /^ddsrv drain_ssm 0123456789ab t=100000,100002,.*,\.\.$/);
  assert.match(newCommandKey(), /^[0-9a-f]{12}$/);
  assert.notEqual(newCommandKey(), newCommandKey());
});

test('the reason: status, details, exit code and the first lines of the error output', () => {
  assert.equal(
    describeInvocation({ status: 'Failed', details: null, exitCode: 3, stderr: 'drain: queue busy\n\nretry later\nline3\nline4\nline5\nline6', stdout: 'ignored' }),
    'Failed, exit 3: drain: queue busy | retry later | line3 | line4 | line5',
  );
  assert.equal(describeInvocation({ status: 'Failed', details: 'Undeliverable', exitCode: null, stderr: '', stdout: '' }), 'Failed (Undeliverable)');
  assert.equal(describeInvocation({ status: 'TimedOut', details: 'ExecutionTimedOut', exitCode: null, stderr: '', stdout: 'half done' }), 'TimedOut (ExecutionTimedOut): half done');
  assert.equal(firstLines('x'.repeat(1000)).length, 300);
});

describe('SSM calls against moto', { skip: motoSkip() }, () => {
  const region = 'us-east-1';
  let moto: Moto;
  let ssm: SSMClient;
  let ids: string[];
  before(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    moto = (await startMoto())!;
    ssm = new SSMClient({ endpoint: moto.endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
    ids = await launchInstances(moto.endpoint, region, 2);
  });
  after(async () => {
    ssm?.destroy();
    await moto?.stop();
  });

  test('send, find again by the key in the Comment, read the progress and each invocation', async () => {
    const calls: string[] = [];
    const count = (op: string) => calls.push(op);
    const key = newCommandKey();
    const markedAt = Date.now();
    const commandId = await sendCommand(ssm, { instanceIds: ids, document: 'AWS-RunShellScript', commands: ['systemctl stop web'], timeoutSeconds: 600, comment: commentFor(key, [1, 2]) }, count);
    assert.equal(await findCommandByKey(ssm, key, 'AWS-RunShellScript', markedAt, count), commandId);
    assert.equal(await findCommandByKey(ssm, newCommandKey(), 'AWS-RunShellScript', markedAt, count), null, 'a key never sent is not found');
    const progress = (await commandProgress(ssm, commandId, count))!;
    assert.equal(progress.status, 'Success', 'moto ends every command at once');
    assert.ok(commandEnded(progress));
    const inv = (await getInvocation(ssm, commandId, ids[0]!, count))!;
    assert.deepEqual(inv, { status: 'Success', details: null, exitCode: 0, stderr: '', stdout: '' });
    assert.ok(invocationEnded(inv));
    assert.equal(await getInvocation(ssm, commandId, 'i-0123456789abcdef0', count), null, 'no invocation for an instance the command does not have');
    assert.equal(await commandProgress(ssm, '00000000-0000-0000-0000-000000000000', count), null, 'an unknown command id');
    assert.deepEqual(calls, ['SendCommand', 'ListCommands', 'ListCommands', 'ListCommands', 'GetCommandInvocation', 'GetCommandInvocation', 'ListCommands']);
  });

  test('more than 50 instances is refused before any call', async () => {
    await assert.rejects(sendCommand(ssm, { instanceIds: Array.from({ length: 51 }, () => ids[0]!), document: 'AWS-RunShellScript', commands: ['true'], timeoutSeconds: 60, comment: '' }), /at most 50/);
  });
});
