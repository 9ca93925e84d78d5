// Minimal HTTP calls for readiness polls and bulk hand-offs. Plain node:http with `agent: false` (a new
// connection each time, no pool) unless given an agent, so a poll across a server restart never reuses a
// dead socket.
import { request, type Agent } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

/** `agent`: a keep-alive pool to send through (a client that reuses its connections); default a new connection. */
export function httpCall(url: string, method: string, body?: string, timeoutMs = 5_000, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: agent ?? false,
        timeout: timeoutMs,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The status of a GET, or undefined when nothing answers (refused, reset, timeout). */
export async function statusOf(url: string, timeoutMs = 1_000): Promise<number | undefined> {
  try {
    return (await httpCall(url, 'GET', undefined, timeoutMs)).status;
  } catch {
    return undefined;
  }
}
