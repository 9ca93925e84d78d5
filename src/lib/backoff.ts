/**
 * One retry policy for every step: exponential backoff with "equal jitter" (half fixed, half random),
 * bounded in delay and in attempts. Pure, so it is unit-tested with a fixed random number.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts of one step before the termination is given up as `failed`. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 2000, maxMs: 300_000, maxAttempts: 10 };

/** Delay before the next try, after `failures` failed tries (1 for the first failure). */
export function backoffMs(policy: RetryPolicy, failures: number, random: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export function exhausted(policy: RetryPolicy, failures: number): boolean {
  return failures >= policy.maxAttempts;
}
