/**
 * The life of a termination. Active states are the worker's to advance; final states never change
 * again. The database keeps the string values, so renaming one is a migration.
 */
export const ACTIVE_STATES = ['pending', 'draining', 'terminating'] as const;
export const FINAL_STATES = ['terminated', 'stopped', 'gone', 'cancelled', 'refused', 'failed', 'dry_run'] as const;

export type ActiveState = (typeof ACTIVE_STATES)[number];
export type FinalState = (typeof FINAL_STATES)[number];
export type State = ActiveState | FinalState;

export const ALL_STATES: readonly State[] = [...ACTIVE_STATES, ...FINAL_STATES];

export function isActive(state: string): state is ActiveState {
  return (ACTIVE_STATES as readonly string[]).includes(state);
}

export function isState(value: string): value is State {
  return (ALL_STATES as readonly string[]).includes(value);
}

/**
 * What a termination does next, in order (worker/pipeline.ts): leave the Auto Scaling group, deregister
 * from the load balancers, wait for the drain, call the drain hook, then terminate (or stop). The state is
 * `draining` from asg_detach to drain_hook and `terminating` in terminate. Each step is stored so a restart
 * resumes where it stopped.
 */
export const STEPS = ['guard', 'asg_detach', 'lb_deregister', 'drain_wait', 'drain_hook', 'terminate'] as const;
export type Step = (typeof STEPS)[number];
