/**
 * The Worker alone: an in-memory WorkQueue, scripted steps and a fake clock, rounds driven by the test
 * (`runOnce`). Retry and backoff, giving up, the termination-rate ceiling, lease loss, the heartbeat, a
 * step that throws, an unknown step, and the leases a stop gives back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import type { Outcome } from '../../src/store/ports.js';
import type { TerminationRow } from '../../src/store/schema.js';
import { backoffMs, type RetryPolicy } from '../../src/lib/backoff.js';
import { Worker, type WorkerOptions } from '../../src/worker/loop.js';
import { RateWindow } from '../../src/worker/rate-limit.js';
import type { Step, StepResult } from '../../src/worker/steps/step.js';
import { deferred, FakeClock, flush, settleUntil } from '../helpers/fake-clock.js';
import { MemoryWorkQueue } from '../helpers/memory-work-queue.js';

const RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 3 };

/** A step answering every row with `answer`; `ran` gets the rows of each call. */
function step(name: string, answer: (row: TerminationRow) => StepResult | undefined, extra: Partial<Step> = {}) {
  const ran: TerminationRow[][] = [];
  const s: Step = {
    name,
    rateLimited: false,
    keptByExpedite: false,
    async run(rows) {
      ran.push(rows);
      const results = new Map<number, StepResult>();
      for (const r of rows) {
        const result = answer(r);
        if (result) results.set(r.id, result);
      }
      return results;
    },
    ...extra,
  };
  return { step: s, ran };
}

/** A worker over an in-memory queue; `steps` may be made from the queue (to interfere with it). */
function setup(steps: Step[] | ((queue: MemoryWorkQueue) => Step[]), options: Partial<WorkerOptions> = {}, soleWriter = false) {
  const clock = new FakeClock();
  const queue = new MemoryWorkQueue(soleWriter);
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('silent').child({});
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    (log as any)[level] = (obj: Record<string, unknown>, msg: string) => lines.push({ ...obj, level, msg });
  }
  const outcomes: Outcome[] = [];
  const randoms: number[] = [];
  const worker = new Worker(
    queue,
    typeof steps === 'function' ? steps(queue) : steps,
    {
      leaseMs: 30_000, pollMs: 5000, claimLimit: 100, retry: RETRY, now: clock.now, timer: clock,
      random: () => randoms.shift() ?? 0.5, onOutcome: (_row, o) => outcomes.push(o), ...options,
    },
    log,
  );
  return { clock, queue, lines, outcomes, randoms, worker };
}

describe('worker', () => {
  test('a retry backs off with one jitter for the rows that failed together, growing with each failure', async () => {
    const flaky = step('asg_detach', () => ({ kind: 'retry', event: 'asg_detach.retry', reason: 'Throttling' }));
    const { clock, queue, randoms, worker } = setup([flaky.step]);
    const [a, b] = [queue.add('asg_detach', clock.now()), queue.add('asg_detach', clock.now())];
    randoms.push(0.25, 0.75);
    assert.equal(await worker.runOnce(), 2);
    const first = clock.now() + backoffMs(RETRY, 1, 0.25);
    for (const id of [a.id, b.id]) {
      const r = queue.row(id);
      assert.deepEqual([r.state, r.step, r.attempts, r.next_attempt_at, r.reason, r.lease_owner], ['pending', 'asg_detach', 1, first, 'Throttling', null]);
    }
    assert.equal(queue.history.at(-1)!.detail, `Throttling; attempt 2 at ${new Date(first).toISOString()}`);
    clock.advance(first - clock.now());
    assert.equal(await worker.runOnce(), 2);
    assert.deepEqual([a.id, b.id].map((id) => queue.row(id).next_attempt_at), Array(2).fill(clock.now() + backoffMs(RETRY, 2, 0.75)));
    assert.deepEqual(randoms, [], 'one random number per step and round');
  });

  test('gives up after maxAttempts: failed, with the reason', async () => {
    const flaky = step('lb_deregister', () => ({ kind: 'retry', event: 'lb_deregister.retry', reason: 'TargetGroupNotFound' }));
    const { clock, queue, outcomes, worker } = setup([flaky.step]);
    const row = queue.add('lb_deregister', clock.now(), { state: 'draining', attempts: RETRY.maxAttempts - 1 });
    await worker.runOnce();
    const r = queue.row(row.id);
    assert.deepEqual([r.state, r.next_attempt_at, r.attempts, r.reason], ['failed', null, 3, 'gave up after 3 attempts: TargetGroupNotFound']);
    assert.equal(outcomes[0]!.event, 'lb_deregister.gave_up');
  });

  test('the rate ceiling defers what exceeds it (attempts kept, not failed); the step decides, not its name', async () => {
    const done = (r: TerminationRow): StepResult => ({ kind: 'final', state: 'terminated', event: `${r.step}.ok`, detail: 'ok' });
    const limited = step('retire', done, { rateLimited: true });
    const named = step('terminate', done); // named like the real one, but not rate-limited
    const { clock, queue, outcomes, worker } = setup([limited.step, named.step], { terminationRate: new RateWindow(2) });
    const t0 = clock.now();
    const rows = [1, 2, 3].map(() => queue.add('retire', t0, { state: 'draining', attempts: 1 }));
    const others = [1, 2, 3].map(() => queue.add('terminate', t0));
    assert.equal(await worker.runOnce(), 6);
    assert.deepEqual(limited.ran.map((b) => b.map((r) => r.id)), [[rows[0]!.id, rows[1]!.id]]);
    assert.equal(named.ran[0]!.length, 3, 'a step that is not rate-limited is not held back');
    const deferred = queue.row(rows[2]!.id);
    assert.deepEqual([deferred.state, deferred.step, deferred.attempts, deferred.next_attempt_at], ['draining', 'retire', 1, t0 + 60_000]);
    assert.match(deferred.reason!, /--max-terminations-per-minute ceiling is reached; waiting until /);
    assert.equal(queue.history.find((h) => h.id === deferred.id)!.event, 'retire.deferred');
    assert.equal(outcomes.length, 5, 'a deferral is no outcome');
    assert.ok(others.every((r) => queue.row(r.id).state === 'terminated'));
  });

  test('a row whose lease was lost before settling: a warning, and no outcome reported', async () => {
    let lostId = 0;
    const { clock, queue, lines, outcomes, worker } = setup((q) => [
      step('guard', (r) => {
        if (r.id === lostId) q.rows.get(r.id)!.lease_owner = 'another-worker'; // its lease ran out meanwhile
        return { kind: 'advance', state: 'pending', step: 'asg_detach', at: 0, event: 'guard.ok', detail: null };
      }).step,
    ]);
    const [kept, lost] = [queue.add('guard', clock.now()), queue.add('guard', clock.now())];
    lostId = lost.id;
    await worker.runOnce();
    assert.deepEqual(outcomes.map((o) => o.id), [kept.id]);
    assert.equal(queue.row(lost.id).lease_owner, 'another-worker');
    assert.equal(queue.row(lost.id).step, 'guard', 'the other worker\'s row is left alone');
    const warning = lines.find((l) => l.msg === 'lease lost before the result was recorded; another worker has the row');
    assert.deepEqual([warning?.level, warning?.id, warning?.instance_id], ['warn', lost.id, lost.instance_id]);
  });

  test('a long step keeps its leases: extended every third of the lease until it finishes', async () => {
    const running = deferred();
    let started = false;
    const slow: Step = {
      name: 'drain_wait',
      rateLimited: false,
      keptByExpedite: false,
      async run(rows) {
        started = true;
        await running.promise;
        return new Map(rows.map((r) => [r.id, { kind: 'wait', at: 0, event: 'drain_wait.waiting', detail: 'still draining' } as StepResult]));
      },
    };
    const { clock, queue, worker } = setup([slow], { leaseMs: 3000 });
    const ids = [queue.add('drain_wait', clock.now()).id, queue.add('drain_wait', clock.now()).id];
    const round = worker.runOnce();
    await settleUntil(() => started);
    clock.advance(999);
    assert.deepEqual(queue.extends, []);
    clock.advance(1);
    clock.advance(1000);
    assert.deepEqual(queue.extends, [{ ids, until: clock.now() - 1000 + 3000 }, { ids, until: clock.now() + 3000 }]);
    assert.equal(queue.row(ids[0]!).next_attempt_at, clock.now() + 3000);
    running.resolve();
    await round;
    assert.deepEqual(clock.waiting, [], 'the heartbeat stops with the round');
  });

  test('a step that throws: its rows retry; a step that names a state for that keeps its rows there', async () => {
    const broken = step('asg_detach', () => { throw new Error('socket hang up'); });
    const irreversible = step('terminate', () => { throw new Error('EC2 said nothing'); }, { stateIfThrown: 'terminating' });
    const fine = step('guard', () => ({ kind: 'advance', state: 'pending', step: 'asg_detach', at: 0, event: 'guard.ok', detail: null }));
    const { clock, queue, lines, worker } = setup([broken.step, irreversible.step, fine.step]);
    const a = queue.add('asg_detach', clock.now(), { state: 'draining' });
    const t = queue.add('terminate', clock.now(), { state: 'draining' });
    const g = queue.add('guard', clock.now());
    assert.equal(await worker.runOnce(), 3);
    assert.deepEqual([queue.row(a.id).state, queue.row(a.id).attempts, queue.row(a.id).reason], ['draining', 1, 'asg_detach: socket hang up']);
    assert.equal(queue.history.find((h) => h.id === a.id)!.event, 'asg_detach.error');
    assert.deepEqual([queue.row(t.id).state, queue.row(t.id).attempts, queue.row(t.id).reason], ['terminating', 1, 'terminate: EC2 said nothing']);
    assert.equal(queue.row(g.id).step, 'asg_detach', 'the other steps of the round settle as usual');
    assert.deepEqual(lines.filter((l) => l.msg === 'step failed').map((l) => l.step).sort(), ['asg_detach', 'terminate']);
  });

  test('a row on a step this version does not know fails at once', async () => {
    const { clock, queue, outcomes, worker } = setup([]);
    const row = queue.add('restore', clock.now());
    await worker.runOnce();
    assert.deepEqual([queue.row(row.id).state, queue.row(row.id).next_attempt_at], ['failed', null]);
    assert.deepEqual([outcomes[0]!.event, outcomes[0]!.detail], ['unknown_step', "no step named 'restore' in this version"]);
  });

  test('sleeps until the next row is due (a little after, to take its neighbours too), at most pollMs', async () => {
    const { clock, queue, worker } = setup([]);
    worker.start();
    await clock.untilWaiting();
    assert.deepEqual(clock.waiting, [5000], 'nothing scheduled: the poll interval');
    queue.add('guard', clock.now() + 400);
    worker.poke();
    await settleUntil(() => clock.waiting.length === 1 && clock.waiting[0] !== 5000);
    assert.deepEqual(clock.waiting, [900]);
    await worker.stop();
  });

  test('on a store it alone writes (SQLite) it sleeps until the next row is due, at most 60 s, not pollMs', async () => {
    const { clock, queue, worker } = setup([], {}, true);
    worker.start();
    await clock.untilWaiting();
    assert.deepEqual(clock.waiting, [60_000], 'nothing scheduled: the ceiling, not the 5 s poll');
    queue.add('guard', clock.now() + 30_000);
    worker.poke();
    await settleUntil(() => clock.waiting.length === 1 && clock.waiting[0] !== 60_000);
    assert.deepEqual(clock.waiting, [30_500], 'due in 30 s: then, plus the coalesce window');
    const rounds = worker.lastRoundAt;
    clock.advance(1000);
    worker.wakeBy(clock.now() + 40_000);
    await flush();
    assert.equal(worker.lastRoundAt, rounds, 'a row due after the planned wake does not wake it');
    queue.add('terminate', clock.now() + 10_000);
    worker.wakeBy(clock.now() + 10_000);
    await settleUntil(() => clock.waiting.length === 1 && clock.waiting[0] === 10_500);
    assert.notEqual(worker.lastRoundAt, rounds, 'a hand-off due sooner than the planned wake wakes it');
    assert.deepEqual(clock.waiting, [10_500], 'and it replans for that row');
    await worker.stop();
  });

  test('a round that fails (the database unreachable) is logged and shown in the snapshot; the worker goes on', async () => {
    const { clock, queue, lines, worker } = setup([]);
    queue.failNextClaim = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    worker.start();
    await clock.untilWaiting();
    assert.deepEqual([worker.snapshot().state, worker.snapshot().lastError], ['running', 'connect ECONNREFUSED 127.0.0.1:5432']);
    assert.ok(lines.some((l) => l.msg === 'worker round failed' && l.level === 'error'));
    clock.advance(5000);
    await settleUntil(() => worker.snapshot().lastError === null);
    await worker.stop();
  });

  test('stop lets the batch in progress finish, then gives back every lease the worker still holds', async () => {
    const running = deferred();
    const order: string[] = [];
    const partial: Step = {
      name: 'guard',
      rateLimited: false,
      keptByExpedite: true,
      async run(rows) {
        await running.promise;
        order.push('step finished');
        // Only the first row gets a result: the second stays leased to this worker.
        return new Map([[rows[0]!.id, { kind: 'advance', state: 'pending', step: 'asg_detach', at: 0, event: 'guard.ok', detail: null }]]);
      },
    };
    const { clock, queue, lines, worker } = setup([partial]);
    const [, held] = [queue.add('guard', clock.now()), queue.add('guard', clock.now())];
    worker.start();
    await settleUntil(() => queue.row(held.id).lease_owner === worker.owner);
    const stopped = worker.stop();
    assert.equal(worker.state, 'stopping');
    running.resolve();
    await stopped;
    assert.equal(worker.state, 'stopped');
    assert.deepEqual(queue.releases, [{ owner: worker.owner, released: 1 }]);
    assert.deepEqual([queue.row(held.id).lease_owner, queue.row(held.id).next_attempt_at], [null, clock.now()]);
    assert.deepEqual(order, ['step finished']);
    assert.ok(lines.some((l) => l.msg === 'released leases' && l.released === 1));
  });
});
