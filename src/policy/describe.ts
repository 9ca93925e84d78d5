/**
 * The effective policy in words, per component: what `ddsrv check-config` prints (and, as JSON, what
 * `--json` prints). Pure.
 */
import { formatDuration } from '../domain/duration.js';
import type { EffectivePolicy, Policy } from './resolve.js';

export interface PolicyDescription {
  file: string | null;
  /** `--delay` (or DDSRV_DELAY, or the built-in 10s): the delay where the file sets none. */
  default_delay: string;
  components: Record<string, {
    delay: string;
    asg: 'detach' | 'leave';
    action: 'terminate' | 'stop';
    drain: {
      load_balancers: boolean;
      timeout: string;
      hook: { url: string; method: string; timeout: string; attempts: number; on_failure: string } | null;
      ssm: { commands: string[]; document: string; timeout: string; on_failure: string } | null;
    };
  }>;
  guard: { require_tags: Record<string, string>; protect_tag: string | null; regions: string[] | null; check_termination_protection: boolean };
  user_data_overrides: { delay: boolean; min_delay: string | null; max_delay: string | null };
  /** What a cancel with restore does after putting the instance back. */
  restore: { wait_healthy: boolean; timeout: string };
}

export function describePolicy(policy: Policy, file: string | null, defaultDelayMs: number): PolicyDescription {
  const bounds = policy.userDataBounds;
  const g = policy.guard;
  return {
    file,
    default_delay: formatDuration(defaultDelayMs),
    components: Object.fromEntries(policy.byComponent().map(({ name, policy: p }) => [name, settings(p)])),
    guard: { require_tags: g.requireTags, protect_tag: g.protectTag, regions: g.regions, check_termination_protection: g.checkTerminationProtection },
    user_data_overrides: {
      delay: bounds !== null,
      min_delay: bounds?.minDelayMs != null ? formatDuration(bounds.minDelayMs) : null,
      max_delay: bounds?.maxDelayMs != null ? formatDuration(bounds.maxDelayMs) : null,
    },
    restore: { wait_healthy: policy.restore.waitHealthy, timeout: formatDuration(policy.restore.timeoutMs) },
  };
}

function settings(p: EffectivePolicy): PolicyDescription['components'][string] {
  const h = p.drain.hook;
  const s = p.drain.ssm;
  return {
    delay: formatDuration(p.delayMs),
    asg: p.asg,
    action: p.action,
    drain: {
      load_balancers: p.drain.loadBalancers,
      timeout: formatDuration(p.drain.timeoutMs),
      hook: h === null ? null : { url: h.url, method: h.method, timeout: formatDuration(h.timeoutMs), attempts: h.attempts, on_failure: h.onFailure },
      ssm: s ? { commands: s.commands, document: s.document, timeout: formatDuration(s.timeoutMs), on_failure: s.onFailure } : null,
    },
  };
}

/** The description as lines a person reads. */
export function policyText(d: PolicyDescription): string {
  const lines = [`${d.file ?? '(no policy file)'}: valid. A running ddsrv loads a changed file only when restarted.`, ''];
  lines.push(`Effective policy per component (for hand-offs without user_data; --delay ${d.default_delay} where the file sets no delay):`);
  for (const [name, c] of Object.entries(d.components)) {
    lines.push(`  ${name === 'defaults' ? 'defaults (every other component)' : name}:`);
    lines.push(`    delay:  ${c.delay}`);
    lines.push(`    asg:    ${c.asg === 'detach' ? 'detach (leave the Auto Scaling group first, desired capacity - 1)' : 'leave (the group is not touched)'}`);
    lines.push(`    action: ${c.action === 'terminate' ? 'terminate' : 'stop (the instance is kept, stopped)'}`);
    lines.push(`    drain:  ${c.drain.load_balancers ? `deregister from load balancers, wait up to ${c.drain.timeout}` : 'load balancers not touched'}`);
    const hook = c.drain.hook;
    lines.push(`    hook:   ${hook ? `${hook.method} ${hook.url} (timeout ${hook.timeout}, ${hook.attempts} call${hook.attempts === 1 ? '' : 's'}, on failure: ${hook.on_failure})` : 'none'}`);
    const ssm = c.drain.ssm;
    lines.push(`    ssm:    ${ssm ? `${ssm.document} (timeout ${ssm.timeout}, on failure: ${ssm.on_failure}):` : 'none'}`);
    for (const command of ssm?.commands ?? []) lines.push(`              ${JSON.stringify(command)}`);
  }
  const g = d.guard;
  const tags = Object.entries(g.require_tags).map(([k, v]) => `${k}=${v}`);
  lines.push('', 'Guard (checked against EC2 before acting):');
  lines.push(`  require tags:            ${tags.length > 0 ? tags.join(', ') : 'none'}`);
  lines.push(`  protect tag:             ${g.protect_tag ?? 'none'}`);
  lines.push(`  regions:                 ${g.regions ? g.regions.join(', ') : 'any'}`);
  lines.push(`  termination protection:  ${g.check_termination_protection ? 'checked before acting' : 'not checked first (EC2 refuses the call)'}`);
  const u = d.user_data_overrides;
  lines.push('', `user_data: ${u.delay ? `may lengthen the delay (user_data.ddsrv.delay)${u.min_delay ? `, at least ${u.min_delay}` : ''}${u.max_delay ? `, at most ${u.max_delay}` : ''}` : 'may change nothing'}`);
  const r = d.restore;
  lines.push(`restore (a cancel with --restore): ${r.wait_healthy ? `back into groups and load balancers, then wait up to ${r.timeout} until healthy` : 'back into groups and load balancers, not waiting for health checks'}`);
  return `${lines.join('\n')}\n`;
}
