/**
 * The worker's transition lines as a log pipeline reads them: a real worker on a real SQLite store, with
 * scripted steps and a pino logger writing to memory. Failures at error, refusals and persistent retries
 * at warn, every failure line with its reason, and `step` naming the step the event belongs to.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import { Worker } from '../../src/worker/loop.js';
import type { Step, StepResult } from '../../src/worker/steps/step.js';
import { RETRIES_AT_INFO } from '../../src/worker/transition-log.js';
import { testService, type TestService } from '../helpers/service.js';

let svc: TestService | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  await worker?.stop();
  await svc?.close();
  worker = svc = undefined;
});

const LEVEL: Record<number, string> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' };

/** A logger at debug whose JSON lines land in `lines`, with their level as a name. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push({ ...parsed, level: LEVEL[parsed.level as number] });
      }
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** A step whose result for each row is chosen by its instance id (and how often it ran for it). */
function scriptedStep(name: string, script: (instanceId: string, run: number) => StepResult): Step {
  const runs = new Map<string, number>();
  return {
    name,
    rateLimited: false,
    keptByExpedite: false,
    async run(rows) {
      const results = new Map<number, StepResult>();
      for (const row of rows) {
        const n = (runs.get(row.instance_id) ?? 0) + 1;
        runs.set(row.instance_id, n);
        results.set(row.id, script(row.instance_id, n));
      }
      return results;
    },
  };
}

async function handOff(s: TestService, instanceId: string, firstStep: string): Promise<number> {
  const now = Date.now();
  const [scheduled] = await s.store.handOffs.recordHandOffs(
    [{ region: 'eu-west-1', instanceIds: [instanceId], ipAddress: null, project: null, component: 'web', userData: null, requestedBy: null, sourceIp: null, userAgent: null, dueAt: now, firstStep, firstAttemptAt: now }],
    now,
  );
  return scheduled![0]!.id;
}

test('levels, step, next_step and reasons of transition lines', async () => {
  svc = await testService();
  const { log, lines } = memoryLogger();
  const ok = 'i-00000000000000a01';
  const retried = 'i-00000000000000a02';
  const refused = 'i-00000000000000a03';
  const hookFailed = 'i-00000000000000a04';
  const failed = 'i-00000000000000a05';
  const polled = 'i-00000000000000a06';
  const later = Date.now() + 3_600_000;
  const steps = [
    scriptedStep('guard', () => ({ kind: 'final', state: 'refused', event: 'guard.refused', detail: 'lacks the tag team=payments (guard.require_tags)' })),
    scriptedStep('asg_detach', (id, run) =>
      id === ok
        ? { kind: 'advance', state: 'draining', step: 'lb_deregister', at: later, event: 'asg_detach.ok', detail: 'left group web (desired capacity 3 -> 2)' }
        : run <= RETRIES_AT_INFO + 1
          ? { kind: 'retry', event: 'asg_detach.retry', reason: `DetachInstances from web: Throttling: rate exceeded (${run})`, state: 'draining' }
          : { kind: 'advance', state: 'draining', step: 'lb_deregister', at: later, event: 'asg_detach.ok', detail: 'left group web' },
    ),
    scriptedStep('drain_wait', () => ({ kind: 'wait', at: later, event: 'drain_wait.waiting', detail: 'waiting for the drain: tg/web', state: 'draining', record: false })),
    scriptedStep('drain_hook', () => ({
      kind: 'advance',
      state: 'draining',
      step: 'terminate',
      at: later,
      event: 'drain_hook.failed',
      detail: 'the drain hook failed after 3 calls: POST http://127.0.0.1:8/drain failed: ECONNREFUSED; going on (on_failure: continue)',
    })),
    scriptedStep('terminate', () => ({ kind: 'final', state: 'failed', event: 'terminate.failed', detail: 'TerminateInstances: OperationNotPermitted: termination protection is on' })),
  ];
  worker = new Worker(svc.store.work, steps, { leaseMs: 30_000, pollMs: 20, claimLimit: 100, retry: { baseMs: 1, maxMs: 5, maxAttempts: 10 } }, log);
  const ids = {
    ok: await handOff(svc, ok, 'asg_detach'),
    retried: await handOff(svc, retried, 'asg_detach'),
    refused: await handOff(svc, refused, 'guard'),
    hookFailed: await handOff(svc, hookFailed, 'drain_hook'),
    failed: await handOff(svc, failed, 'terminate'),
    polled: await handOff(svc, polled, 'drain_wait'),
  };
  worker.start();
  const transitions = () => lines.filter((l) => l.msg === 'transition');
  const deadline = Date.now() + 10_000;
  while (!transitions().some((l) => l.instance_id === retried && l.event === 'asg_detach.ok')) {
    assert.ok(Date.now() < deadline, `not all transitions in time: ${JSON.stringify(transitions())}`);
    await sleep(20);
  }
  const of = (instanceId: string) => transitions().filter((l) => l.instance_id === instanceId);

  // A step that went well: info, the step it belongs to, where the row goes next, what was done.
  assert.deepEqual(
    of(ok).map((l) => [l.level, l.step, l.next_step, l.event, l.detail]),
    [['info', 'asg_detach', 'lb_deregister', 'asg_detach.ok', 'left group web (desired capacity 3 -> 2)']],
  );
  assert.equal(of(ok)[0]!.id, ids.ok);

  // Retries: the first few at info, later ones at warn, each with its reason and attempt number.
  const retries = of(retried).filter((l) => l.event === 'asg_detach.retry');
  assert.equal(retries.length, RETRIES_AT_INFO + 1);
  assert.deepEqual(retries.map((l) => l.level), [...Array(RETRIES_AT_INFO).fill('info'), 'warn']);
  assert.deepEqual(retries.map((l) => l.attempt), Array.from({ length: RETRIES_AT_INFO + 1 }, (_, i) => i + 1));
  for (const [i, l] of retries.entries()) {
    assert.equal(l.step, 'asg_detach');
    assert.equal(l.next_step, undefined, 'a retry stays on its step');
    assert.equal(l.reason, `DetachInstances from web: Throttling: rate exceeded (${i + 1})`);
    assert.match(String(l.next_attempt_at), /^\d{4}-\d\d-\d\dT/);
  }

  const [refusal] = of(refused);
  assert.deepEqual([refusal!.level, refusal!.step, refusal!.state, refusal!.reason], ['warn', 'guard', 'refused', 'lacks the tag team=payments (guard.require_tags)']);

  // A hook that failed while the termination goes on: a warning that says why.
  const [hook] = of(hookFailed);
  assert.deepEqual([hook!.level, hook!.step, hook!.next_step, hook!.event], ['warn', 'drain_hook', 'terminate', 'drain_hook.failed']);
  assert.match(String(hook!.reason), /failed after 3 calls: POST http:\/\/127\.0\.0\.1:8\/drain failed: ECONNREFUSED/);

  const [failure] = of(failed);
  assert.deepEqual([failure!.level, failure!.step, failure!.state, failure!.reason], ['error', 'terminate', 'failed', 'TerminateInstances: OperationNotPermitted: termination protection is on']);
  assert.equal(failure!.next_step, undefined, 'a final state goes nowhere');

  // A look at a drain that changed nothing is debug (it is not in the history either).
  assert.deepEqual(of(polled).map((l) => [l.level, l.step, l.event]), [['debug', 'drain_wait', 'drain_wait.waiting']]);
});

test('a step that keeps failing ends failed at error, with every attempt in the reason', async () => {
  svc = await testService();
  const { log, lines } = memoryLogger();
  const steps = [scriptedStep('lb_deregister', () => ({ kind: 'retry', event: 'lb_deregister.retry', reason: 'DescribeTargetHealth: AccessDenied: not allowed', state: 'draining' }))];
  worker = new Worker(svc.store.work, steps, { leaseMs: 30_000, pollMs: 20, claimLimit: 100, retry: { baseMs: 1, maxMs: 5, maxAttempts: 2 } }, log);
  await handOff(svc, 'i-00000000000000b01', 'lb_deregister');
  worker.start();
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.state === 'failed')) {
    assert.ok(Date.now() < deadline, 'not failed in time');
    await sleep(20);
  }
  const last = lines.find((l) => l.state === 'failed')!;
  assert.deepEqual([last.level, last.step, last.event], ['error', 'lb_deregister', 'lb_deregister.gave_up']);
  assert.equal(last.reason, 'gave up after 2 attempts: DescribeTargetHealth: AccessDenied: not allowed');
});
