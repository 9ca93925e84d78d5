/**
 * A plausible afternoon on a service (for the screenshots, docs/screenshots/take.ts): pending rows due at
 * different times and handed off in another order, rows draining (one retrying), a row drained and waiting
 * out its delay, rows with nothing to drain, one terminating, and outcomes that ended in another order
 * than their ids, one of them more than 24 h ago.
 */
import type { Seeder } from './seed.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

export interface Afternoon {
  /** In progress, by name: */
  late: number; soon: number; drainWait: number; waiting: number; retrying: number; nothing: number; terminating: number;
  /** Outcomes, in the order of OUTCOMES. */
  ended: number[];
}

/** The outcomes: state, last step, how long ago it ended, reason. */
export const OUTCOMES: [string, string, number, string][] = [
  ['terminated', 'terminate', 4 * MIN, 'TerminateInstances accepted (now shutting-down)'],
  ['failed', 'terminate', 2 * HOUR, 'TerminateInstances: OperationNotPermitted: termination protection is on'],
  ['cancelled', 'drain_wait', 51_000, 'cancelled by bearer: keep it for the load test'],
  ['refused', 'guard', 9 * MIN, 'guard: instance lacks tag team=payments'],
  ['failed', 'drain_hook', 30 * HOUR, 'drain hook answered 500 three times'],
];

export async function scenario(seed: Seeder, now: number): Promise<Afternoon> {
  const at = (ms: number) => now + ms;
  // In progress, handed off in an order unrelated to when they are due.
  const [late, soon] = await seed.handOff(['i-0b1c2d3e4f5a6b701', 'i-0b1c2d3e4f5a6b702'], 'shop', 'web');
  seed.set(late!, { state: 'pending', step: 'terminate', due_at: at(117 * MIN), next_attempt_at: at(117 * MIN) });
  seed.set(soon!, { state: 'pending', step: 'terminate', due_at: at(42 * MIN), next_attempt_at: at(42 * MIN) });
  const [drainWait] = await seed.handOff(['i-0c2d3e4f5a6b7c801'], 'blog', 'web', 'eu-west-1');
  seed.set(drainWait!, { state: 'draining', step: 'drain_wait', due_at: at(70 * MIN), next_attempt_at: at(20_000) });
  seed.history(drainWait!, [
    { at: at(-3 * MIN), state: 'draining', step: 'asg_detach', event: 'asg_detach.ok', detail: 'detached from blog-web-asg (desired capacity 4 -> 3)' },
    { at: at(-3 * MIN), state: 'draining', step: 'lb_deregister', event: 'lb_deregister.ok', detail: 'deregistered from target group blog-web-tg' },
    { at: at(-20_000), state: 'draining', step: 'drain_wait', event: 'drain_wait.waiting', detail: 'waiting for the drain: target group blog-web-tg (draining)' },
  ]);
  const [waiting] = await seed.handOff(['i-0c2d3e4f5a6b7c802'], 'shop', 'api');
  seed.set(waiting!, { state: 'draining', step: 'terminate', due_at: at(25 * MIN), next_attempt_at: at(25 * MIN), step_data: JSON.stringify({ drain: { startedAt: at(-9 * MIN), result: 'drained' } }) });
  seed.history(waiting!, [
    { at: at(-10 * MIN), state: 'draining', step: 'asg_detach', event: 'asg_detach.ok', detail: 'detached from shop-api-asg (desired capacity 6 -> 5)' },
    { at: at(-10 * MIN), state: 'draining', step: 'lb_deregister', event: 'lb_deregister.ok', detail: 'deregistered from target group shop-api-tg' },
    { at: at(-8 * MIN), state: 'draining', step: 'terminate', event: 'drain_wait.ok', detail: `drained; not needed: drain_hook (no drain hook); terminate at ${new Date(at(25 * MIN)).toISOString()} (hand-off + delay; 33m from now)` },
  ]);
  const [retrying] = await seed.handOff(['i-0d3e4f5a6b7c8d901'], 'shop', 'api');
  seed.set(retrying!, { state: 'draining', step: 'lb_deregister', due_at: at(90 * MIN), next_attempt_at: at(40_000), attempts: 2, reason: 'DeregisterTargets: Throttling: Rate exceeded' });
  const [nothing] = await seed.handOff(['i-0d3e4f5a6b7c8d902'], 'blog', 'db', 'us-west-2');
  seed.set(nothing!, { state: 'pending', step: 'terminate', due_at: at(5 * MIN), next_attempt_at: at(5 * MIN) });
  const [terminating] = await seed.handOff(['i-0d3e4f5a6b7c8d903'], 'shop', 'web');
  seed.set(terminating!, { state: 'terminating', step: 'terminate', due_at: at(-10_000), next_attempt_at: at(50_000) });

  // Outcomes, ended in another order than their ids.
  const ended = await seed.handOff(['i-0e4f5a6b7c8d9e001', 'i-0e4f5a6b7c8d9e002', 'i-0e4f5a6b7c8d9e003', 'i-0e4f5a6b7c8d9e004', 'i-0e4f5a6b7c8d9e005'], 'shop', 'web');
  OUTCOMES.forEach(([state, step, ago, reason], i) => {
    const id = ended[i]!;
    seed.set(id, { state, step, next_attempt_at: null, reason, created_at: at(-ago - 2 * HOUR), due_at: at(-ago), updated_at: at(-ago) });
    seed.history(id, [{ at: at(-ago), state, step, event: `${step}.${state === 'terminated' ? 'ok' : state}`, detail: reason }]);
  });
  return { late: late!, soon: soon!, drainWait: drainWait!, waiting: waiting!, retrying: retrying!, nothing: nothing!, terminating: terminating!, ended };
}

