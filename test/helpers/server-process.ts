/**
 * Runs `ddsrv serve` as a real child process (TypeScript source through tsx), for tests that kill,
 * restart or signal it. A server that cannot start or dies fails the test at once (`startServerProcess`,
 * `until`), and one a failed test left running is killed when the test file's process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * How long a CLI run or a server start may take before the test fails. Generous: CI runs three runtimes on
 * two cores, and tsx compiles the sources at each start (15 s was exceeded under load); a hang still fails.
 */
export const STARTUP_LIMIT_MS = 60_000;

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
  /**
   * Polls `condition` until it holds. Fails as soon as the process has exited (with its exit status and
   * stderr), instead of waiting out the timeout, or after `timeoutMs`.
   */
  until(what: string, condition: () => boolean | Promise<boolean>, options?: { timeoutMs?: number; intervalMs?: number }): Promise<void>;
}

/** Servers still running, killed when this process exits (run-tests.mjs ends a test file once its tests are done). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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
  running.add(child);
  let status: number | string | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child);
    status = (code ?? signal) as number | string;
    return status;
  });
  const deadline = Date.now() + STARTUP_LIMIT_MS;
  while (!logs.some((l) => l.msg === 'ddsrv ready')) {
    const done = await Promise.race([exited.then(() => true), sleep(50, false)]);
    if (done) throw new Error(`ddsrv exited (${status}) before it was ready: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ddsrv not ready in time: ${stderr}`);
    }
  }
  async function until(what: string, condition: () => boolean | Promise<boolean>, { timeoutMs = 20_000, intervalMs = 50 } = {}): Promise<void> {
    const giveUp = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (status !== undefined) throw new Error(`ddsrv exited (${status}) while the test waited for ${what}: ${stderr.slice(-4000)}`);
      if (Date.now() > giveUp) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await Promise.race([exited, sleep(intervalMs)]);
    }
  }
  return { url: `http://127.0.0.1:${port}`, child, logs, exited, until };
}
