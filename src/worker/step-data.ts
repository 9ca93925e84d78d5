/**
 * What each pipeline step remembers about a termination (the `step_data` column), so that a restarted
 * worker resumes a step without repeating what is done and the history can say what happened.
 */
import type { TerminationRow } from '../store/schema.js';

export interface AsgProgress {
  /** The group the instance was in when the step looked, or null when it was in none. */
  group: string | null;
  lifecycle: string | null;
  detached: boolean;
  /** Load balancers attached to the group: AWS drains the instance from them itself on detach. */
  classic: string[];
  targetGroups: string[];
}

export interface LbTarget {
  arn: string;
  port: number | null;
}

export interface LbProgress {
  /** Target groups holding the instance (deregistered by us, or already draining). */
  targets: LbTarget[];
  /** Classic Load Balancers it was deregistered from (or drained from by its group). */
  classic: string[];
  /** When deregistration finished, and when waiting for the drain gives up. */
  startedAt: number;
  deadline: number;
}

export interface DrainProgress {
  startedAt: number;
  /** Set when the drain wait ended: `drained`, `timeout`, `nothing`. */
  result?: string;
}

export interface HookProgress {
  /** Calls started so far (one cut short by a crash is taken back and made again). */
  attempts: number;
  /** Calls cut short by a crash (the second one counts as a failed hook: drain-hook.ts MAX_INTERRUPTED). */
  interrupted?: number;
  /** Set just before each call, under the lease; cleared by the call's outcome. */
  inFlightSince: number | null;
  lastStatus: number | null;
  lastError: string | null;
  /** `ok`, `failed`, `skipped` once the step is over. */
  result?: string;
}

export interface SsmProgress {
  /** The key in the command's Comment (aws/ssm.ts); a new one for each SendCommand. */
  key: string;
  /** Set just before SendCommand, under the lease: a restart that finds it without a commandId looks the command up. */
  markedAt: number;
  commandId: string | null;
  /** When the step stops waiting for the command (drain.ssm.timeout after the mark, and a little). */
  deadline: number;
  /** SendCommand calls made for the row. */
  sends: number;
  /** How many of the command's invocations had ended at the last look (only a change makes it read them). */
  completedSeen?: number;
  /** `ok`, `failed`, `skipped` once the step is over. */
  result?: string;
}

export interface StepData {
  asg?: AsgProgress;
  lb?: LbProgress;
  drain?: DrainProgress;
  hook?: HookProgress;
  ssm?: SsmProgress;
  /** An operator expedited it: the drain wait and the drain hook are skipped (the steps before still run). */
  expedited?: boolean;
  /** Handed off while the server ran with --dry-run: it is only ever simulated, whatever the server runs as later. */
  dryRun?: boolean;
}

/** The row's step_data; an absent or unreadable document is an empty one (nothing done yet). */
export function readStepData(row: Pick<TerminationRow, 'step_data'>): StepData {
  if (!row.step_data) return {};
  try {
    const parsed: unknown = JSON.parse(row.step_data);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as StepData) : {};
  } catch {
    return {};
  }
}
