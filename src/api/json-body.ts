/**
 * JSON bodies, parsed with the prototype-poisoning checks Fastify uses (secure-json-parse), but with
 * errors that say what is wrong: `__proto__` and `constructor.prototype` keys are refused (never merged
 * into objects), and a syntax error says where.
 */
import type { FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { HttpError } from './errors.js';

export function parseJsonBody(_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim().length === 0) {
    done(new HttpError(400, 'empty_body', 'the body is empty: send a JSON document such as {"ec2_instance_id": "i-0123456789abcdef0"}'));
    return;
  }
  let value: unknown;
  try {
    value = sjson.parse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const message = (err as Error).message;
    if (/prototype/i.test(message)) {
      done(new HttpError(400, 'forbidden_key', `the body uses a forbidden key (__proto__ or constructor.prototype): ${message}`));
    } else {
      done(new HttpError(400, 'invalid_json', `the body is not valid JSON: ${message}`));
    }
    return;
  }
  if (exceedsDepth(value, MAX_DEPTH)) {
    done(new HttpError(400, 'too_deep', `the document nests deeper than ${MAX_DEPTH} levels`));
    return;
  }
  done(null, value);
}

/**
 * Deeply nested documents (`[[[[...]]]]`, 1 MiB of them) parse fine but overflow the stack of anything
 * recursive later (JSON.stringify of user_data, logging). Checked without recursion.
 */
export const MAX_DEPTH = 64;

export function exceedsDepth(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
