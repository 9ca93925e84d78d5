/**
 * drain_ssm's decisions against scripted SSM answers moto cannot give (moto ends every command at once
 * with Success): Failed, TimedOut, Undeliverable, a refused instance, throttling, our own timeout, with
 * both on_failure values; the look that reads no invocation while nothing ended; the lookup by key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStepData } from '../../src/worker/step-data.js';
import { drainSsmStep } from '../../src/worker/steps/drain-ssm.js';
import { scriptedClient, stepHarness, type SentCommand } from '../helpers/step-harness.js';
import { historyOf } from '../helpers/store-reads.js';

const ID_A = 'i-0aaaaaaaaaaaaaaaa';
const ID_B = 'i-0bbbbbbbbbbbbbbbb';
const policy = (onFailure: 'continue' | 'stop', timeout = '2m') =>
  `defaults:\n  drain:\n    ssm:\n      commands: ["/opt/drain {component}"]\n      timeout: ${timeout}\n      on_failure: ${onFailure}\n`;

interface Script {
  status?: string;
  completed?: number;
  invocation?: (instanceId: string) => Record<string, unknown> | Error;
  send?: (input: Record<string, unknown>) => unknown;
}

function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

/** An SSM client answering from `s` (mutable: tests change it between runs). */
function ssm(sent: SentCommand[], s: Script) {
  return scriptedClient(sent, (name, input) => {
    if (name === 'SendCommand') return s.send ? s.send(input) : { Command: { CommandId: 'cmd-1' } };
    if (name === 'ListCommands') {
      if (input.CommandId) return { Commands: [{ CommandId: input.CommandId, Status: s.status ?? 'InProgress', CompletedCount: s.completed ?? 0 }] };
      return { Commands: [] };
    }
    if (name === 'GetCommandInvocation') {
      const inv = s.invocation?.(input.InstanceId as string) ?? { Status: 'InProgress' };
      if (inv instanceof Error) throw inv;
      return inv;
    }
    throw new Error(`unexpected ${name}`);
  });
}

async function setup(onFailure: 'continue' | 'stop', s: Script, ids = [ID_A], timeout = '2m') {
  const sent: SentCommand[] = [];
  const client = ssm(sent, s);
  const h = await stepHarness({ ssmFor: () => client }, policy(onFailure, timeout), { drainPollMinMs: 5000, drainPollMaxMs: 30_000 });
  const step = h.step(drainSsmStep);
  const rows = await h.rows(ids, {}, { component: 'web; rm -rf /' });
  return { h, step, rows, sent, names: () => sent.map((c) => c.name) };
}

test('one SendCommand with the quoted command, then a look that reads nothing while nothing ended', async () => {
  const t = await setup('continue', {}, [ID_A, ID_B]);
  try {
    const first = await t.h.run(t.step, t.rows);
    assert.deepEqual(t.names(), ['SendCommand']);
    const input = t.sent[0]!.input as { InstanceIds: string[]; DocumentName: string; Parameters: Record<string, string[]>; TimeoutSeconds: number; Comment: string };
    assert.deepEqual(input.InstanceIds, [ID_A, ID_B]);
    assert.equal(input.DocumentName, 'AWS-RunShellScript');
    assert.deepEqual(input.Parameters, { commands: ["/opt/drain 'web; rm -rf /'"], executionTimeout: ['120'] });
    assert.equal(input.TimeoutSeconds, 120);
    assert.match(input.Comment, new RegExp(`^ddsrv drain_ssm [0-9a-f]{12} t=${t.rows[0]!.id}-${t.rows[1]!.id}$`));
    for (const r of first.values()) assert.equal(r.kind, 'wait');
    const saved = readStepData((await t.h.reload(t.rows))[0]!).ssm!;
    assert.equal(saved.commandId, 'cmd-1');
    t.h.clock.now += 5000;
    const second = await t.h.run(t.step, await t.h.reload(t.rows));
    assert.deepEqual(t.names(), ['SendCommand', 'ListCommands'], 'one ListCommands for the command, no GetCommandInvocation');
    for (const r of second.values()) assert.equal(r.kind, 'wait');
  } finally {
    await t.h.close();
  }
});

for (const onFailure of ['continue', 'stop'] as const) {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['Failed', { Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 3, StandardErrorContent: 'drain: queue busy\nsecond line\n' }, /Failed, exit 3: drain: queue busy \| second line/],
    ['TimedOut', { Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ResponseCode: -1, StandardOutputContent: 'still flushing' }, /TimedOut \(ExecutionTimedOut\): still flushing/],
    ['Undeliverable', { Status: 'Failed', StatusDetails: 'Undeliverable' }, /Failed \(Undeliverable\)/],
    ['Cancelled', { Status: 'Cancelled', StatusDetails: 'Cancelled' }, /Cancelled/],
  ];
  for (const [label, invocation, reason] of cases) {
    test(`${label} with on_failure: ${onFailure}`, async () => {
      const t = await setup(onFailure, { status: 'Failed', completed: 1, invocation: () => invocation });
      try {
        await t.h.run(t.step, t.rows);
        t.h.clock.now += 5000;
        const result = (await t.h.run(t.step, await t.h.reload(t.rows))).get(t.rows[0]!.id)!;
        assert.deepEqual(t.names(), ['SendCommand', 'ListCommands', 'GetCommandInvocation']);
        if (onFailure === 'stop') {
          assert.equal(result.kind, 'final');
          assert.equal(result.kind === 'final' && result.state, 'failed');
        } else {
          assert.equal(result.kind, 'advance');
          assert.equal(result.kind === 'advance' && result.step, 'terminate');
        }
        assert.match(result.kind === 'final' || result.kind === 'advance' ? (result.detail ?? '') : '', reason);
        assert.equal(readStepData((await t.h.reload(t.rows))[0]!).ssm!.result, 'failed');
      } finally {
        await t.h.close();
      }
    });
  }

  test(`our own timeout with on_failure: ${onFailure}`, async () => {
    const t = await setup(onFailure, { status: 'InProgress', invocation: () => ({ Status: 'InProgress', StatusDetails: 'InProgress' }) }, [ID_A], '30s');
    try {
      await t.h.run(t.step, t.rows);
      t.h.clock.now += 20_000;
      const waiting = (await t.h.run(t.step, await t.h.reload(t.rows))).get(t.rows[0]!.id)!;
      assert.equal(waiting.kind, 'wait');
      assert.ok(waiting.kind === 'wait' && waiting.at <= t.h.clock.now + 40_000, 'never looks later than the deadline');
      t.h.clock.now += 45_000;
      const result = (await t.h.run(t.step, await t.h.reload(t.rows))).get(t.rows[0]!.id)!;
      assert.equal(result.kind, onFailure === 'stop' ? 'final' : 'advance');
      assert.match((result as { detail: string }).detail, /still InProgress when the wait ended \(drain\.ssm\.timeout 30s\)/);
      assert.deepEqual(t.names(), ['SendCommand', 'ListCommands', 'ListCommands', 'GetCommandInvocation']);
    } finally {
      await t.h.close();
    }
  });
}

test('Success advances, reading only the instances of a command that reported progress', async () => {
  const s: Script = { status: 'InProgress', completed: 1, invocation: (id) => (id === ID_A ? { Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, StandardOutputContent: 'drained 12 jobs' } : { Status: 'InProgress' }) };
  const t = await setup('stop', s, [ID_A, ID_B]);
  try {
    await t.h.run(t.step, t.rows);
    t.h.clock.now += 5000;
    const results = await t.h.run(t.step, await t.h.reload(t.rows));
    assert.equal(results.get(t.rows[0]!.id)!.kind, 'advance');
    assert.match((results.get(t.rows[0]!.id) as { detail: string }).detail, /Success: drained 12 jobs/);
    assert.equal(results.get(t.rows[1]!.id)!.kind, 'wait');
    // The count did not grow since: the next look reads no invocation.
    t.h.clock.now += 5000;
    await t.h.run(t.step, await t.h.reload([t.rows[1]!]));
    assert.deepEqual(t.names(), ['SendCommand', 'ListCommands', 'GetCommandInvocation', 'GetCommandInvocation', 'ListCommands']);
  } finally {
    await t.h.close();
  }
});

test('throttling and 5xx are retried under the shared policy; the next run looks the command up before sending', async () => {
  const s: Script = { send: () => { throw awsError('ThrottlingException', 400, 'Rate exceeded'); } };
  const t = await setup('continue', s);
  try {
    const result = (await t.h.run(t.step, t.rows)).get(t.rows[0]!.id)!;
    assert.equal(result.kind, 'retry');
    assert.match((result as { reason: string }).reason, /SendCommand: ThrottlingException: Rate exceeded/);
    s.send = () => { throw awsError('InternalServerError', 500); };
    const again = (await t.h.run(t.step, await t.h.reload(t.rows))).get(t.rows[0]!.id)!;
    assert.equal(again.kind, 'retry');
    s.send = undefined;
    const third = (await t.h.run(t.step, await t.h.reload(t.rows))).get(t.rows[0]!.id)!;
    assert.equal(third.kind, 'wait');
    assert.deepEqual(t.names(), ['SendCommand', 'ListCommands', 'SendCommand', 'ListCommands', 'SendCommand']);
    assert.equal(readStepData((await t.h.reload(t.rows))[0]!).ssm!.sends, 3);
  } finally {
    await t.h.close();
  }
});

test('a refused instance (InvalidInstanceId) is settled alone; the others are sent again', async () => {
  const s: Script = { send: (input) => ((input.InstanceIds as string[]).includes(ID_B) ? (() => { throw awsError('InvalidInstanceId', 400, `Instances [[${ID_B}]] not in a valid state`); })() : { Command: { CommandId: 'cmd-2' } }) };
  const t = await setup('continue', s, [ID_A, ID_B]);
  try {
    const results = await t.h.run(t.step, t.rows);
    assert.deepEqual(t.sent.filter((c) => c.name === 'SendCommand').map((c) => c.input.InstanceIds), [[ID_A, ID_B], [ID_A]]);
    assert.equal(results.get(t.rows[0]!.id)!.kind, 'wait');
    const refused = results.get(t.rows[1]!.id)!;
    assert.equal(refused.kind, 'advance');
    assert.match((refused as { detail: string }).detail, /SSM refused the instance \(InvalidInstanceId: .*\): its SSM agent is not running/);
  } finally {
    await t.h.close();
  }
});

test('a mark without a CommandId: found by its key is not sent again; not found is sent', async () => {
  const t = await setup('continue', { status: 'Success', completed: 1, invocation: () => ({ Status: 'Success', ResponseCode: 0 }) });
  try {
    const key = '0123456789ab';
    const mark = { key, markedAt: t.h.clock.now, commandId: null, deadline: t.h.clock.now + 150_000, sends: 1 };
    const [row] = await t.h.rows([ID_B], { ssm: mark });
    const listed = { Commands: [{ CommandId: 'cmd-found', Comment: `ddsrv drain_ssm ${key} t=${row!.id}` }] };
    const client = scriptedClient(t.sent, (name, input) => (name === 'ListCommands' && !input.CommandId ? listed : name === 'ListCommands' ? { Commands: [{ CommandId: input.CommandId, Status: 'Success', CompletedCount: 1 }] } : { Status: 'Success', ResponseCode: 0 }));
    const h2 = await stepHarness({ ssmFor: () => client }, policy('continue'));
    try {
      const [again] = await h2.rows([ID_B], { ssm: mark });
      const result = (await h2.run(h2.step(drainSsmStep), [again!])).get(again!.id)!;
      assert.equal(result.kind, 'advance');
      assert.deepEqual(t.sent.map((c) => c.name), ['ListCommands', 'ListCommands', 'GetCommandInvocation'], 'no SendCommand');
      assert.deepEqual((await historyOf(h2.store, again!.id)).map((e) => e.event).filter((e) => e.startsWith('drain_ssm')), ['drain_ssm.found']);
    } finally {
      await h2.close();
    }
    t.sent.length = 0;
    await t.h.run(t.step, [row!]);
    assert.deepEqual(t.names(), ['ListCommands', 'SendCommand'], 'not found: sent');
  } finally {
    await t.h.close();
  }
});

test('--dry-run only says what it would send', async () => {
  const sent: SentCommand[] = [];
  const client = ssm(sent, {});
  const h = await stepHarness({ ssmFor: () => client }, policy('stop'));
  try {
    (h.kit.options as { dryRun: boolean }).dryRun = true;
    const [row] = await h.rows([ID_A], {}, { component: 'web' });
    const result = (await h.run(h.step(drainSsmStep), [row!])).get(row!.id)!;
    assert.deepEqual(sent, []);
    assert.equal(result.kind, 'advance');
    assert.match((result as { detail: string }).detail, /^dry run: would send AWS-RunShellScript \(timeout 2m\): "\/opt\/drain 'web'"; not sent/);
  } finally {
    await h.close();
  }
});
