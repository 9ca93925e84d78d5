/**
 * Which `Host` names the service answers to (the DNS-rebinding defence). A page on a foreign name that
 * its DNS points at 127.0.0.1 reaches a loopback listener as "same origin" in the browser's eyes; only the
 * `Host` header tells the request apart. Pure: no I/O.
 *
 * - Loopback listener: the loopback names (`localhost`, `127.x.x.x`, `[::1]`, any port) plus `--allowed-hosts`.
 * - Other listeners: any name unless `--allowed-hosts` is given (the token protects them).
 * - `--allowed-hosts '*'`: no check. An IP-address `Host` is always allowed: rebinding needs a name.
 */
import { isIP } from 'node:net';
import { isLoopback } from './listen.js';

export class AllowedHostsError extends Error {}

export interface HostPolicy {
  /** Whether a request carrying this `Host` header value may be served. */
  allows(hostHeader: string): boolean;
  /** The names given with --allowed-hosts (lower-case, no port); null when none (or `*`). */
  readonly listed: ReadonlySet<string> | null;
}

const NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

/** `--allowed-hosts`: comma-separated names (no ports), or `*`. Null when the flag is absent. */
export function parseAllowedHosts(text: string): string[] | '*' {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new AllowedHostsError(`'${text}' names no host: give names separated by commas (e.g. ddsrv.internal,ddsrv), or '*' to allow any`);
  if (names.includes('*')) {
    if (names.length > 1) throw new AllowedHostsError(`'*' allows every host: give it alone, not with other names`);
    return '*';
  }
  for (const name of names) {
    if (!NAME.test(name) && isIP(name.replace(/^\[(.*)\]$/, '$1')) === 0) {
      throw new AllowedHostsError(`'${name}' is not a host name (give names without scheme or port, e.g. ddsrv.internal)`);
    }
  }
  return names;
}

/** The host name of a `Host` header value, lower-case, without port or IPv6 brackets. */
export function hostName(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

export function hostPolicy(listenHost: string, allowed: string[] | '*' | null): HostPolicy {
  const listed = Array.isArray(allowed) ? new Set(allowed.map((n) => n.replace(/^\[(.*)\]$/, '$1'))) : null;
  const open = allowed === '*' || (allowed === null && !isLoopback(listenHost));
  return {
    listed,
    allows(hostHeader) {
      if (open) return true;
      const name = hostName(hostHeader);
      return isIP(name) !== 0 || isLoopback(name) || listed?.has(name) === true;
    },
  };
}
