/**
 * The effective policy of one termination: built-in defaults, then the file's `defaults`, then its
 * `components` entry for the component, then for `project/component` (most specific last), then what the
 * hand-off's `user_data` may change within the operator's bounds. Pure.
 */
import { parseDuration } from '../domain/duration.js';
import type { PolicyFile, Settings, SsmSettings } from './schema.js';
import type { SsmDocument } from './ssm-command.js';

export interface HookPolicy {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  timeoutMs: number;
  attempts: number;
  onFailure: 'continue' | 'stop';
}

/** `drain.ssm`: commands run on the instance through SSM Run Command (templates; see ssm-command.ts). */
export interface SsmPolicy {
  commands: string[];
  document: SsmDocument;
  /** The command's execution timeout, its delivery timeout, and how long the step waits for it. */
  timeoutMs: number;
  onFailure: 'continue' | 'stop';
}

export interface EffectivePolicy {
  delayMs: number;
  asg: 'detach' | 'leave';
  action: 'terminate' | 'stop';
  /** `ssm` is absent where no SSM drain is configured. */
  drain: { loadBalancers: boolean; timeoutMs: number; hook: HookPolicy | null; ssm?: SsmPolicy };
}

export interface GuardPolicy {
  requireTags: Record<string, string>;
  protectTag: string | null;
  regions: string[] | null;
  checkTerminationProtection: boolean;
}

/** After a cancel with restore: wait (up to `timeoutMs`) until the target groups report the instance healthy. */
export interface RestorePolicy {
  waitHealthy: boolean;
  timeoutMs: number;
}

export const BUILT_IN = {
  asg: 'detach',
  action: 'terminate',
  drain: { loadBalancers: true, timeoutMs: 600_000, hook: null },
} as const;

export class Policy {
  readonly guard: GuardPolicy;
  readonly restore: RestorePolicy;

  /** `defaultDelayMs` is `--delay`, used where the file sets no delay. */
  constructor(
    private readonly file: PolicyFile,
    private readonly defaultDelayMs: number,
  ) {
    this.guard = {
      requireTags: file.guard?.require_tags ?? {},
      protectTag: file.guard?.protect_tag ?? null,
      regions: file.guard?.regions ?? null,
      checkTerminationProtection: file.guard?.check_termination_protection ?? false,
    };
    this.restore = { waitHealthy: file.restore?.wait_healthy ?? false, timeoutMs: file.restore?.timeout ?? 600_000 };
  }

  /** Whether any guard is configured (no guard: no look-up before acting is needed for them). */
  get guarded(): boolean {
    const g = this.guard;
    return Object.keys(g.requireTags).length > 0 || g.protectTag !== null || g.regions !== null || g.checkTerminationProtection;
  }

  resolve(project: string | null, component: string | null, userData: unknown = undefined): EffectivePolicy {
    let effective: EffectivePolicy = {
      delayMs: this.defaultDelayMs,
      asg: BUILT_IN.asg,
      action: BUILT_IN.action,
      drain: { ...BUILT_IN.drain },
    };
    effective = apply(effective, this.file.defaults);
    if (component !== null) {
      effective = apply(effective, this.file.components?.[component]);
      if (project !== null) effective = apply(effective, this.file.components?.[`${project}/${component}`]);
    }
    return this.applyUserData(effective, userData);
  }

  /**
   * The effective policy of the defaults and of each `components` entry (as a hand-off without
   * user_data gets it), for the ready line and `ddsrv check-config`.
   */
  byComponent(): { name: string; policy: EffectivePolicy }[] {
    const out = [{ name: 'defaults', policy: this.resolve(null, null) }];
    for (const key of Object.keys(this.file.components ?? {})) {
      const slash = key.indexOf('/');
      out.push({ name: key, policy: slash < 0 ? this.resolve(null, key) : this.resolve(key.slice(0, slash), key.slice(slash + 1)) });
    }
    return out;
  }

  /** What `user_data` may change (`user_data_overrides`), or null when it may change nothing. */
  get userDataBounds(): { minDelayMs: number | null; maxDelayMs: number | null } | null {
    const bounds = this.file.user_data_overrides;
    return bounds?.delay ? { minDelayMs: bounds.min_delay ?? null, maxDelayMs: bounds.max_delay ?? null } : null;
  }

  /** `user_data: {"ddsrv": {"delay": "45m"}}` may lengthen the delay, if the operator allows it. */
  private applyUserData(effective: EffectivePolicy, userData: unknown): EffectivePolicy {
    const bounds = this.file.user_data_overrides;
    if (!bounds?.delay) return effective;
    const asked = (userData as { ddsrv?: { delay?: unknown } } | null)?.ddsrv?.delay;
    if (typeof asked !== 'string' && typeof asked !== 'number') return effective;
    let ms: number;
    try {
      ms = parseDuration(String(asked));
    } catch {
      return effective; // an unreadable request is ignored, never an error after acceptance
    }
    const floor = Math.max(effective.delayMs, bounds.min_delay ?? 0);
    const ceiling = bounds.max_delay ?? Number.POSITIVE_INFINITY;
    return { ...effective, delayMs: Math.min(Math.max(ms, floor), Math.max(floor, ceiling)) };
  }
}


function apply(base: EffectivePolicy, over: Settings | undefined): EffectivePolicy {
  if (!over) return base;
  const hook = over.drain?.hook === undefined ? base.drain.hook : over.drain.hook === null ? null : {
    url: over.drain.hook.url,
    method: over.drain.hook.method,
    timeoutMs: over.drain.hook.timeout,
    attempts: over.drain.hook.attempts,
    onFailure: over.drain.hook.on_failure,
  };
  const ssm = over.drain?.ssm === undefined ? base.drain.ssm : over.drain.ssm === null ? undefined : ssmPolicy(over.drain.ssm);
  return {
    delayMs: over.delay ?? base.delayMs,
    asg: over.asg ?? base.asg,
    action: over.action ?? base.action,
    drain: {
      loadBalancers: over.drain?.load_balancers ?? base.drain.loadBalancers,
      timeoutMs: over.drain?.timeout ?? base.drain.timeoutMs,
      hook,
      ...(ssm ? { ssm } : {}),
    },
  };
}

function ssmPolicy(s: SsmSettings): SsmPolicy {
  return { commands: s.commands, document: s.document, timeoutMs: s.timeout, onFailure: s.on_failure };
}
