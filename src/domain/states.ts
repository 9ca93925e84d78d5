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
 * Temporary (issue 15): the step names for store/operator.ts only, until the operator's decisions move
 * to src/operator/ and ask worker/steps/registry.ts (the list of steps) instead. A test keeps the two equal.
 */
export const STEPS = ['guard', 'asg_detach', 'lb_deregister', 'drain_wait', 'drain_hook', 'drain_ssm', 'terminate'] as const;
