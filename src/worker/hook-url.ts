/**
 * Drain hook URLs from their templates. The values come from EC2's record ({private_ip}) and from the
 * hand-off ({instance_id}, {region}, {project}, {component}); only {private_ip} may appear in the host
 * part, and every value is percent-encoded, so no value can change where the request goes except the
 * address EC2 itself reports for the instance.
 */
import { isIP } from 'node:net';

export interface HookVariables {
  instance_id: string;
  private_ip: string | null;
  region: string;
  project: string | null;
  component: string | null;
}

export class HookUrlError extends Error {}

const VARIABLE = /\{([a-z_]+)\}/g;

/** Splits `http://host:port/rest` into its scheme+authority and the rest. */
function split(template: string): { origin: string; rest: string } {
  const m = /^(https?:\/\/[^/?#]*)(.*)$/s.exec(template);
  if (!m) throw new HookUrlError(`the hook URL must start with http:// or https:// (got ${JSON.stringify(template.slice(0, 40))})`);
  return { origin: m[1]!, rest: m[2]! };
}

/** The problem with a template's host part, or null: only {private_ip} may be used there. */
export function hostTemplateProblem(template: string): string | null {
  let origin: string;
  try {
    ({ origin } = split(template));
  } catch (err) {
    return (err as Error).message;
  }
  for (const [, name] of origin.matchAll(VARIABLE)) {
    if (name !== 'private_ip') return `{${name}} may not be used in the host part of the URL (only {private_ip}, which comes from EC2)`;
  }
  return null;
}

export function buildHookUrl(template: string, vars: HookVariables): URL {
  const problem = hostTemplateProblem(template);
  if (problem) throw new HookUrlError(problem);
  const { origin, rest } = split(template);
  let host = origin;
  if (origin.includes('{private_ip}')) {
    const ip = vars.private_ip;
    if (ip === null) throw new HookUrlError('EC2 reports no private IP address for the instance');
    const family = isIP(ip);
    if (family === 0) throw new HookUrlError(`EC2 reports a private address that is not an IP address: ${JSON.stringify(ip)}`);
    host = origin.replaceAll('{private_ip}', family === 6 ? `[${ip}]` : ip);
  }
  const url = new URL(host + fillPath(rest, vars));
  // Belt and braces: whatever the values, the request goes to the host the template and EC2 named.
  if (url.origin !== new URL(host).origin) throw new HookUrlError(`the hook URL's host changed after templating (${url.host})`);
  return url;
}

/** `.`, `..` and their percent-encoded spellings, which URL parsers resolve (WHATWG URL included). */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

/**
 * The path and query with the values filled in, percent-encoded. A path segment that a value made into
 * `.` or `..` would move the path (`/svc/{component}/ack` with `..` became `/svc/ack`), and encoding
 * cannot prevent it (`%2E%2E` is resolved too), so such a value is refused.
 */
function fillPath(rest: string, vars: HookVariables): string {
  const fill = (text: string) =>
    text.replace(VARIABLE, (whole, name: string) => (name in vars ? encodeURIComponent(vars[name as keyof HookVariables] ?? '') : whole));
  const end = rest.search(/[?#]/);
  const [path, tail] = end < 0 ? [rest, ''] : [rest.slice(0, end), rest.slice(end)];
  const segments = path.split('/').map((segment) => {
    const filled = fill(segment);
    if (filled !== segment && DOT_SEGMENT.test(filled)) {
      throw new HookUrlError(`the value ${JSON.stringify(decodeURIComponent(filled))} would turn the path segment ${JSON.stringify(segment)} into a dot segment and move the URL's path; not called`);
    }
    return filled;
  });
  return segments.join('/') + fill(tail);
}

/** What history shows of a URL: no query string or credentials (they may carry secrets). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
