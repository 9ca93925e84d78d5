/**
 * A small client of the operator API for the CLI: the server's URL and token come from `--url` /
 * `--token` or `DDSRV_URL` / `DDSRV_AUTH_TOKEN` (the same variable the server reads, so one environment
 * serves both), and every failure becomes one sentence a person can act on.
 */
export const DEFAULT_URL = 'http://127.0.0.1:8000';

export class ClientError extends Error {
  constructor(
    message: string,
    /** The process exit code: 1 for a refusal or an unreachable server, 3 for a conflict. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url?: string;
  token?: string;
}

export interface Connection {
  base: URL;
  token: string | null;
}

export function resolveConnection(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const raw = options.url ?? (env.DDSRV_URL || undefined) ?? DEFAULT_URL;
  let base: URL;
  try {
    // Accept a bare host:port too, as the server's --listen does.
    base = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new ClientError(`--url (or DDSRV_URL): '${raw}' is not a URL; use e.g. http://127.0.0.1:8000`, 2);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ClientError(`--url (or DDSRV_URL): use an http:// or https:// URL (got ${base.protocol})`, 2);
  const token = options.token ?? (env.DDSRV_AUTH_TOKEN || null);
  return { base, token };
}

export async function request<T>(conn: Connection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = new URL(path, conn.base);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'ddsrv-cli' };
  if (conn.token) headers.authorization = `Bearer ${conn.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? 'no answer within 30 s' : cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ClientError(`cannot reach ddsrv at ${conn.base.origin} (${why}); is it running? (set --url or DDSRV_URL)`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    throw new ClientError(`${conn.base.origin} answered ${response.status} with something that is not JSON; is --url pointing at ddsrv?`);
  }
  if (response.ok) return parsed as T;
  const error = parsed as { error?: string; message?: string; state?: string } | null;
  const message = error?.message ?? `HTTP ${response.status}`;
  if (response.status === 401) {
    throw new ClientError(`${message}${conn.token ? '' : ' (no token given: use --token or DDSRV_AUTH_TOKEN)'}`);
  }
  if (response.status === 409) throw new ClientError(message, 3);
  throw new ClientError(message);
}
