/**
 * Runs `ddsrv serve` as a real child process (TypeScript source through tsx), for tests that kill,
 * restart or signal it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** tsx by its resolved location, so the CLI also runs from another working directory. */
const TSX = import.meta.resolve('tsx');
/** A server without credentials looks for them up to the EC2 instance metadata address: never from a test. */
const NO_IMDS = { AWS_EC2_METADATA_DISABLED: 'true' };

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs the CLI with the given arguments to completion: exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  /** Kill it (SIGTERM) after this long: a command expected to exit that starts serving instead then fails, not hangs. */
  timeoutMs?: number,
  /** The working directory (default: this process's). */
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    env: { ...NO_IMDS, ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    ...(cwd === undefined ? {} : { cwd }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Starts `ddsrv serve` with `args` and waits until it logs that it is ready. */
export async function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', `127.0.0.1:${port}`, ...args], {
    env: { ...NO_IMDS, ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const deadline = Date.now() + 15_000;
  while (!logs.some((l) => l.msg === 'ddsrv ready')) {
    const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 50, false))]);
    if (done) throw new Error(`ddsrv exited before it was ready: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ddsrv not ready in time: ${stderr}`);
    }
  }
  return { url: `http://127.0.0.1:${port}`, child, logs, exited };
}
