/** `HOST:PORT` as the original server takes it (`[::1]:8000` for IPv6). */
export interface ListenAddress {
  host: string;
  port: number;
}

export class ListenError extends Error {}

export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) {
    throw new ListenError(`'${text}' is not HOST:PORT (e.g. 127.0.0.1:8000, 0.0.0.0:8000, [::1]:8000)`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
