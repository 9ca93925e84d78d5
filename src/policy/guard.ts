/**
 * Guardrails, decided at execution time from EC2's own record of the instance (tags can change between
 * hand-off and termination). Pure: the step that calls it has already described the instances.
 */
import type { GuardPolicy } from './resolve.js';

export interface InstanceFacts {
  region: string;
  tags: Record<string, string>;
}

export interface GuardSubject {
  project: string | null;
  component: string | null;
}

/**
 * `*` matches any run of characters; `{project}` and `{component}` come from the hand-off. The pattern is
 * split on `*` before the hand-off's values go in, and they are matched literally: a client sending
 * `project: "*"` must not turn `{project}` into a wildcard.
 */
export function tagPatternMatches(pattern: string, value: string, subject: GuardSubject): boolean {
  let unresolved = false;
  const literal = (part: string) =>
    part
      .split(/(\{(?:project|component)\})/)
      .map((piece) => {
        const name = /^\{(project|component)\}$/.exec(piece)?.[1] as 'project' | 'component' | undefined;
        const text = name ? subject[name] : piece;
        if (text === null) unresolved = true;
        return (text ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
  const regex = new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`, 's');
  return !unresolved && regex.test(value);
}

/** Why `guard.regions` refuses a region, or null. Known before any AWS call, so none is made there. */
export function regionRefusal(guard: Pick<GuardPolicy, 'regions'>, region: string): string | null {
  if (guard.regions === null || guard.regions.includes(region)) return null;
  return `region ${region} is not in guard.regions (${guard.regions.join(', ')}); no AWS call was made there`;
}

/** The reason the guard refuses this instance, or null when it may be acted on. */
export function guardRefusal(guard: Pick<GuardPolicy, 'requireTags' | 'protectTag' | 'regions'>, facts: InstanceFacts, subject: GuardSubject): string | null {
  const region = regionRefusal(guard, facts.region);
  if (region !== null) return region;
  if (guard.protectTag !== null && Object.hasOwn(facts.tags, guard.protectTag)) {
    return `the instance carries the protect tag '${guard.protectTag}'`;
  }
  for (const [key, pattern] of Object.entries(guard.requireTags)) {
    const value = facts.tags[key];
    if (value === undefined) return `the instance lacks the required tag '${key}' (guard.require_tags)`;
    if (!tagPatternMatches(pattern, value, subject)) {
      return `tag '${key}' is '${value}', which does not match the required '${pattern}' (guard.require_tags)`;
    }
  }
  return null;
}
