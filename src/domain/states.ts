/**
 * The life of a termination. Active states are the worker's to advance; final states never change
 * again. The database keeps the string values, so renaming one is a migration.
 */
export const ACTIVE_STATES = ['pending', 'draining', 'terminating', 'restoring'] as const;
/** `restored`: cancelled, and what the drain had done was undone (the instance serves again). */
export const FINAL_STATES = ['terminated', 'stopped', 'gone', 'cancelled', 'restored', 'refused', 'failed', 'dry_run'] as const;

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

