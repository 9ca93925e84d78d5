/**
 * The restore steps (a cancel with `restore: true` puts the instance back where its drain took it from)
 * and what they share. They are not part of the termination's order: the operator's cancel moves the row
 * to `restoring` and the first restore step that has something to put back; each then hands on to the
 * next needed one, and the last ends the row `restored`, or `failed` naming what could not be put back.
 */
import type { RestorePolicy } from '../../policy/resolve.js';
import type { TerminationRow } from '../../store/schema.js';
import { readStepData, type LbTarget, type StepData } from '../step-data.js';
import type { StepKit } from '../step-kit.js';
import type { Step, StepContext, StepResult } from './step.js';

export const RESTORING = 'restoring';

export interface RestoreProgress {
  /** What was put back, in words (the final history entry lists it). */
  done: string[];
  /** What could not be put back, each naming it (the reason of a `failed` restore). */
  problems: string[];
  /** Set when restore_asg finished (a restart does not attach again). */
  asg?: boolean;
  /** Set when restore_lb finished: the target groups it registered the instance with. */
  registered?: LbTarget[];
  wait?: { startedAt: number; deadline: number; result?: string };
}

export type RestoreData = StepData & { restore?: RestoreProgress };

export function readRestoreData(row: Pick<TerminationRow, 'step_data'>): RestoreData {
  return readStepData(row) as RestoreData;
}

export function progressOf(data: RestoreData): RestoreProgress {
  return data.restore ?? { done: [], problems: [] };
}

/** A restore step, declared like the termination's steps (worker/steps/step.ts) but run from `restoring`. */
export interface RestoreStepDefinition {
  readonly name: string;
  readonly phase: 'restore';
  readonly keptByExpedite: false;
  readonly rateLimited: false;
  readonly stateIfThrown: undefined;
  /** Whether what the drain recorded leaves this step something to put back (the cancel picks the first such step). */
  putsBack(data: StepData): boolean;
  /** Why the row does not need the step, or null when it does. */
  skipReason(policy: RestorePolicy, data: RestoreData): string | null;
  create(kit: RestoreKit): Step['run'];
}

export class RestoreKit {
  constructor(
    readonly kit: StepKit,
    /** The restore steps, in order. */
    readonly order: readonly RestoreStepDefinition[],
  ) {}

  get policy(): RestorePolicy {
    return this.kit.options.policy.restore;
  }

  /** On to the next restore step the row needs, or the end: `restored`, or `failed` naming what is not back. */
  advance(from: string, row: TerminationRow, data: RestoreData, now: number, event: string, detail: string): StepResult {
    const at = this.order.findIndex((s) => s.name === from);
    const next = this.order.slice(at + 1).find((s) => s.skipReason(this.policy, data) === null);
    if (next) return { kind: 'advance', state: RESTORING, step: next.name, at: now, event, detail };
    const p = progressOf(data);
    const back = p.done.length > 0 ? `put back: ${p.done.join(', ')}` : 'nothing was put back';
    if (p.problems.length > 0) {
      return { kind: 'final', state: 'failed', event: 'restore.failed', detail: `${detail}. Restore incomplete, could not put back: ${p.problems.join('; ')}; ${back}` };
    }
    return { kind: 'final', state: 'restored', event: 'restored', detail: `${detail}. Restored (the instance is kept and serves again): ${back}` };
  }

  /** Rows whose step finished before a restart (`done` says so from step_data) advance; the rest are returned. */
  triage(step: string, rows: TerminationRow[], now: number, results: Map<number, StepResult>, done: (p: RestoreProgress) => string | null): TerminationRow[] {
    const todo: TerminationRow[] = [];
    for (const row of rows) {
      const data = readRestoreData(row);
      const before = done(progressOf(data));
      if (before !== null) results.set(row.id, this.advance(step, row, data, now, `${step}.ok`, before));
      else todo.push(row);
    }
    return todo;
  }

  /** Records `<step>.started` for the rows still held; returns those rows. */
  async begin(ctx: StepContext, rows: TerminationRow[], step: string): Promise<TerminationRow[]> {
    if (rows.length === 0) return [];
    const mark = { state: RESTORING, step, event: `${step}.started`, detail: () => null };
    const held = new Set(await ctx.queue.saveProgress(ctx.owner, rows.map((r) => ({ id: r.id })), ctx.now(), mark));
    return rows.filter((r) => held.has(r.id));
  }

  /** The row's step_data with `restore` changed by `change`. */
  withProgress(row: TerminationRow, change: (p: RestoreProgress) => RestoreProgress): RestoreData {
    const data = readRestoreData(row);
    return { ...data, restore: change(progressOf(data)) };
  }
}

/** `lb` and `asg` as the drain steps recorded them: what a restore has to put back. */
export function drained(data: StepData): { group: string | null; targets: LbTarget[]; classic: string[] } {
  return {
    group: data.asg?.detached && data.asg.group ? data.asg.group : null,
    targets: data.lb?.targets ?? [],
    classic: data.lb?.classic ?? [],
  };
}
