/**
 * Reads the policy file, with errors that name the key and the line: `policy.yaml:7: components.worker.delay:
 * 'soon' is not a duration`. Called once at start; a bad file stops the start.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { policySchema, type PolicyFile } from './schema.js';

export class PolicyError extends Error {}

export function loadPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read policy file ${path}: ${(err as Error).message}`);
  }
  return parsePolicy(text, path);
}

export function parsePolicy(text: string, name = 'policy'): PolicyFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
    throw new PolicyError(`${name}:${line}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = policySchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    // Unknown keys are reported on their parent; name the key itself.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys
      .map((k) => {
        const path = k === undefined ? issue.path : [...issue.path, k];
        const node = doc.getIn(path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
        const parentNode = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
        const offset = keyOffset(text, node, parentNode, k);
        const where = offset === undefined ? name : `${name}:${lines.linePos(offset).line}`;
        const label = path.length === 0 ? '(top level)' : path.join('.');
        const message = issue.code === 'unrecognized_keys' ? `unknown key (allowed here: ${allowedKeys(issue.path)})` : withInput(issue);
        return `${where}: ${label}: ${message}`;
      })
      .join('\n');
  });
  throw new PolicyError(problems.join('\n'));
}

/** The message, with the value given when zod's own message does not say it ("expected boolean" -> "..., got "maybe""). */
function withInput(issue: { code: string; message: string; input?: unknown }): string {
  // Custom messages (durations, URLs, regions) quote the value themselves; a missing key has no value.
  if (issue.code === 'custom' || issue.input === undefined) return issue.message;
  const given = JSON.stringify(issue.input) ?? String(issue.input);
  return `${issue.message}; got ${given.length > 80 ? `${given.slice(0, 77)}...` : given}`;
}

function keyOffset(text: string, node: { range?: [number, number, number] } | undefined, parent: { range?: [number, number, number] } | undefined, key: string | undefined): number | undefined {
  if (key !== undefined && parent?.range) {
    const at = text.indexOf(key, parent.range[0]);
    if (at >= 0) return at;
  }
  return node?.range?.[0] ?? parent?.range?.[0];
}

const ALLOWED: Record<string, string> = {
  '': 'defaults, components, guard, user_data_overrides',
  settings: 'delay, asg, action, drain',
  drain: 'load_balancers, timeout, hook, ssm',
  hook: 'url, method, timeout, attempts, on_failure',
  ssm: 'commands, document, timeout, on_failure',
  guard: 'require_tags, protect_tag, regions, check_termination_protection',
  user_data_overrides: 'delay, min_delay, max_delay',
};

function allowedKeys(path: PropertyKey[]): string {
  const last = String(path[path.length - 1] ?? '');
  if (path.length === 0) return ALLOWED['']!;
  if (last === 'defaults' || path[0] === 'components' && path.length === 2) return ALLOWED.settings!;
  return ALLOWED[last] ?? 'see the policy reference in the README';
}
