/**
 * Token authentication. The token is accepted as `Authorization: Bearer <token>` and as the password of
 * HTTP Basic auth with any user name, so a Skopos `uri:` such as
 * `http://skopos:<token>@ddsrv:8000/delayed-termination` works unchanged. Digests are compared in
 * constant time, so neither the token nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request: `bearer`, `basic:<user>`, or null when authentication is off. */
    principal: string | null;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The principal the header proves, or undefined when it proves nothing. */
export function authenticate(header: string | undefined, expected: Buffer): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return timingSafeEqual(digest(value), expected) ? 'bearer' : undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    return timingSafeEqual(digest(decoded.slice(colon + 1)), expected) ? `basic:${user.slice(0, 64)}` : undefined;
  }
  return undefined;
}

export interface AuthOptions {
  token: string | null;
  /** Requests that need no credentials (the health check). */
  isPublic(request: FastifyRequest): boolean;
}

export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  if (options.token === null) return;
  const expected = digest(options.token);
  app.addHook('onRequest', async (request) => {
    if (options.isPublic(request)) return;
    const principal = authenticate(request.headers.authorization, expected);
    if (principal === undefined) {
      throw new HttpError(
        401,
        'unauthorized',
        request.headers.authorization
          ? 'the credentials are wrong: send the server token as `Authorization: Bearer <token>` or as the Basic auth password'
          : 'credentials required: send the server token as `Authorization: Bearer <token>` or as the Basic auth password (http://user:<token>@host/...)',
        { 'www-authenticate': 'Bearer realm="ddsrv", Basic realm="ddsrv"' },
      );
    }
    request.principal = principal;
  });
}
