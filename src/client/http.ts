/**
 * A small client of the operator API for the CLI: the server's URL and token come from `--url` /
 * `--token` / `--token-file` or `DDSRV_URL` / `DDSRV_AUTH_TOKEN` / `DDSRV_AUTH_TOKEN_FILE` (the variables
 * the server reads, so one environment serves both), and every failure becomes one sentence a person can
 * act on, in terms of the CLI's own flags and commands.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Where a token can come from, as the error messages name it. */
const TOKEN_SOURCES = '--token-file FILE, --token TOKEN, DDSRV_AUTH_TOKEN_FILE or DDSRV_AUTH_TOKEN';

export class ClientError extends Error {
  constructor(
    message: string,
    /** The process exit code: 1 for a refusal or an unreachable server, 2 for bad usage, 3 for a conflict. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url?: string;
  token?: string;
  tokenFile?: string;
}

export interface Connection {
  base: URL;
  token: string | null;
  /** Where the token came from (`--token`, `DDSRV_AUTH_TOKEN_FILE (/run/secrets/t)`, ...), for messages. */
  tokenFrom: string | null;
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
  return { base, ...resolveToken(options, env) };
}

/** Flags first, then the variables; a value and a file from the same place are one too many. */
function resolveToken(options: ClientOptions, env: NodeJS.ProcessEnv): { token: string | null; tokenFrom: string | null } {
  if (options.token !== undefined && options.tokenFile !== undefined) throw new ClientError('give --token or --token-file, not both', 2);
  if (options.token !== undefined) return { token: options.token, tokenFrom: '--token' };
  if (options.tokenFile !== undefined) return { token: readToken(options.tokenFile, '--token-file'), tokenFrom: `--token-file (${options.tokenFile})` };
  const value = env.DDSRV_AUTH_TOKEN || undefined;
  const file = env.DDSRV_AUTH_TOKEN_FILE || undefined;
  if (value !== undefined && file !== undefined) throw new ClientError('DDSRV_AUTH_TOKEN and DDSRV_AUTH_TOKEN_FILE are both set: keep one', 2);
  if (value !== undefined) return { token: value, tokenFrom: 'DDSRV_AUTH_TOKEN' };
  if (file !== undefined) return { token: readToken(file, 'DDSRV_AUTH_TOKEN_FILE'), tokenFrom: `DDSRV_AUTH_TOKEN_FILE (${file})` };
  return { token: null, tokenFrom: null };
}

/** The token in a file, trimmed, as the server reads --auth-token-file. */
function readToken(path: string, from: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ClientError(`${from}: cannot read '${path}': ${(err as Error).message}`, 2);
  }
  if (text === '') throw new ClientError(`${from}: '${path}' is empty`, 2);
  return text;
}

/** What a 404 means to the command that asked (the server's own message speaks of API paths). */
export interface RequestOptions {
  notFound?: string;
}

export async function request<T>(conn: Connection, method: 'GET' | 'POST', path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
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
    throw new ClientError(
      conn.token
        ? `the server at ${conn.base.origin} refused the token (from ${conn.tokenFrom}): check --token, --token-file, DDSRV_AUTH_TOKEN or DDSRV_AUTH_TOKEN_FILE; it must be the server's --auth-token`
        : `the server at ${conn.base.origin} needs a token: give ${TOKEN_SOURCES}`,
    );
  }
  if (response.status === 404 && error?.error === 'not_found' && options.notFound) throw new ClientError(options.notFound);
  if (response.status === 400 && error?.error === 'invalid_cursor') {
    throw new ClientError('--cursor: not one this server gave out; pass the value printed after "(more: add --cursor ...)" unchanged, or use --all', 2);
  }
  if (response.status === 409) throw new ClientError(message, 3);
  throw new ClientError(message);
}
