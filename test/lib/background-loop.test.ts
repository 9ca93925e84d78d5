/**
 * The background loop alone, with injected rounds and sleep plans and a fake clock: no real sleeps, so
 * every "it slept" and "it did not run" below is a fact about the fake timer, not a race.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BackgroundLoop, repeat, type BackgroundLoopOptions } from '../../src/lib/background-loop.js';
import { deferred, FakeClock, flush, settleUntil } from '../helpers/fake-clock.js';

/** A loop whose rounds answer from `results` in turn (then 0), recording when each round started. */
function loopWith(clock: FakeClock, results: (number | Error)[], extra: Partial<BackgroundLoopOptions> = {}) {
  const started: number[] = [];
  const errors: unknown[] = [];
  const loop = new BackgroundLoop({
    name: 'worker',
    round: async () => {
      started.push(clock.now());
      const next = results.shift() ?? 0;
      if (next instanceof Error) throw next;
      return next;
    },
    sleepMs: async () => 500,
    pollMs: 2000,
    onRoundError: (err) => errors.push(err),
    now: clock.now,
    timer: clock,
    ...extra,
  });
  return { loop, started, errors };
}

describe('background loop', () => {
  test('runs a round at start, sleeps as planned after an idle round, and runs again when the sleep ends', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const { loop, started } = loopWith(clock, [0, 0]);
    assert.deepEqual(loop.snapshot(), { state: 'created', lastRoundAt: null, lastError: null });
    loop.start();
    assert.equal(loop.state, 'running');
    await clock.untilWaiting();
    assert.deepEqual(started, [t0]);
    assert.deepEqual(clock.waiting, [500]);
    clock.advance(499);
    await flush();
    assert.deepEqual(started, [t0], 'no round before the sleep ends');
    clock.advance(1);
    await clock.untilWaiting();
    assert.deepEqual(started, [t0, t0 + 500]);
    assert.equal(loop.snapshot().lastRoundAt, t0 + 500);
    await loop.stop();
  });

  test('a round that handled work is followed by another at once, without sleeping', async () => {
    const clock = new FakeClock();
    const { loop, started } = loopWith(clock, [3, 1, 0]);
    loop.start();
    await clock.untilWaiting();
    assert.equal(started.length, 3);
    assert.deepEqual(clock.waiting, [500]);
    await loop.stop();
  });

  test('a poke ends the sleep early', async () => {
    const clock = new FakeClock();
    const { loop, started } = loopWith(clock, []);
    loop.start();
    await clock.untilWaiting();
    loop.poke();
    await settleUntil(() => started.length === 2);
    await clock.untilWaiting();
    assert.deepEqual(clock.waiting, [500], 'the first sleep was cancelled, one new sleep waits');
    await loop.stop();
  });

  test('a poke while the sleep is being planned means no sleep (the plan may not have seen that work)', async () => {
    const clock = new FakeClock();
    const planning = deferred<number>();
    let plans = 0;
    const { loop, started } = loopWith(clock, [], { sleepMs: () => (++plans === 1 ? planning.promise : Promise.resolve(500)) });
    loop.start();
    await settleUntil(() => plans === 1);
    loop.poke();
    planning.resolve(60_000);
    await clock.untilWaiting();
    assert.equal(started.length, 2, 'a second round ran without any time passing');
    assert.deepEqual(clock.waiting, [500]);
    await loop.stop();
  });

  test('a sleep plan that throws sleeps the poll interval', async () => {
    const clock = new FakeClock();
    const { loop } = loopWith(clock, [], { sleepMs: async () => { throw new Error('database gone'); } });
    loop.start();
    await clock.untilWaiting();
    assert.deepEqual(clock.waiting, [2000]);
    await loop.stop();
  });

  test('a round that throws is reported, kept as the last error until a round succeeds, and the loop goes on', async () => {
    const clock = new FakeClock();
    const boom = new Error('connection refused');
    const { loop, started, errors } = loopWith(clock, [boom, 0]);
    loop.start();
    await clock.untilWaiting();
    assert.deepEqual(errors, [boom]);
    assert.equal(loop.snapshot().lastError, 'connection refused');
    assert.equal(loop.state, 'running');
    clock.advance(500);
    await settleUntil(() => started.length === 2);
    await clock.untilWaiting();
    assert.equal(loop.snapshot().lastError, null);
    await loop.stop();
  });

  test('stop wakes the sleep, lets the round in progress finish, then runs onStop once', async () => {
    const clock = new FakeClock();
    const inRound = deferred<number>();
    const order: string[] = [];
    let rounds = 0;
    const loop = new BackgroundLoop({
      name: 'worker',
      round: () => (++rounds === 2 ? inRound.promise.then((n) => (order.push('round finished'), n)) : Promise.resolve(0)),
      sleepMs: async () => 60_000,
      pollMs: 60_000,
      onStop: async () => void order.push('onStop'),
      now: clock.now,
      timer: clock,
    });
    loop.start();
    await clock.untilWaiting();
    loop.poke(); // the second round starts and hangs
    await settleUntil(() => rounds === 2);
    const stopped = loop.stop();
    assert.equal(loop.state, 'stopping');
    assert.equal(loop.stop(), stopped, 'stop twice: the same promise');
    await flush();
    assert.deepEqual(order, [], 'onStop waits for the round');
    inRound.resolve(1);
    await stopped;
    assert.deepEqual(order, ['round finished', 'onStop']);
    assert.equal(loop.state, 'stopped');
    assert.equal(rounds, 2, 'no round after the stop, though the last one handled work');
    assert.deepEqual(clock.waiting, [], 'no sleep left behind');
    await loop.stop();
    assert.equal(order.length, 2, 'onStop ran once');
  });

  test('stop while the sleep is being planned does not wait out the sleep', async () => {
    const clock = new FakeClock();
    const planning = deferred<number>();
    const { loop } = loopWith(clock, [], { sleepMs: () => planning.promise });
    loop.start();
    await flush();
    const stopped = loop.stop();
    planning.resolve(60_000);
    await stopped;
    assert.equal(loop.state, 'stopped');
    assert.deepEqual(clock.waiting, []);
  });

  test('stop before start runs nothing; start twice or after stop is refused', async () => {
    const clock = new FakeClock();
    let onStop = 0;
    const { loop, started } = loopWith(clock, [], { onStop: async () => void onStop++ });
    await loop.stop();
    assert.equal(loop.state, 'stopped');
    assert.equal(onStop, 0);
    assert.equal(started.length, 0);
    assert.throws(() => loop.start(), /worker already stopped/);
    const other = loopWith(clock, []).loop;
    other.start();
    assert.throws(() => other.start(), /worker already running/);
    await other.stop();
  });

  test('runOnce runs a round now, after the one in progress (never two at once), and is refused once stopping', async () => {
    const clock = new FakeClock();
    const first = deferred<number>();
    let active = 0;
    let most = 0;
    let rounds = 0;
    const loop = new BackgroundLoop({
      name: 'notifier',
      round: async () => {
        active++;
        most = Math.max(most, active);
        rounds++;
        const n = rounds === 1 ? await first.promise : 4;
        active--;
        return n;
      },
      sleepMs: async () => 500,
      pollMs: 500,
      now: clock.now,
      timer: clock,
    });
    loop.start(); // the first round hangs
    const once = loop.runOnce();
    await flush();
    assert.equal(rounds, 1, 'runOnce waits for the round in progress');
    first.resolve(0);
    assert.equal(await once, 4);
    assert.equal(most, 1);
    await loop.stop();
    await assert.rejects(loop.runOnce(), /notifier is stopped/);
  });

  test('runOnce on a loop never started: a round on demand, its error thrown and kept', async () => {
    const clock = new FakeClock();
    const { loop } = loopWith(clock, [2, new Error('no database')]);
    assert.equal(await loop.runOnce(), 2);
    assert.equal(loop.snapshot().lastRoundAt, clock.now());
    await assert.rejects(loop.runOnce(), /no database/);
    assert.equal(loop.snapshot().lastError, 'no database');
    assert.equal(loop.state, 'created');
  });
});

describe('repeat', () => {
  test('calls back every interval until cancelled', () => {
    const clock = new FakeClock();
    let calls = 0;
    const cancel = repeat(clock, 100, () => calls++);
    clock.advance(99);
    assert.equal(calls, 0);
    clock.advance(250);
    assert.equal(calls, 3);
    cancel();
    clock.advance(1000);
    assert.equal(calls, 3);
    assert.deepEqual(clock.waiting, []);
  });
});
