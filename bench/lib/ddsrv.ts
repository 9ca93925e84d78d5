// Runs the built service (`node dist/cli.js serve`) as its own process, as it runs in production: its
// JSON log goes to a file (not a pipe to the bench), so reading the log costs the bench nothing while it
// generates load and a slow reader can never block the server's log writes. "Ready" means what a
// load balancer or Skopos would see: GET /delayed-termination answers 200.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { statusOf } from './http.js';
import { freePort, spawnChild, waitFor, type Child } from './processes.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');

/** Compiles src/ to dist/ (`npm run build` without npm), so the bench measures the current source. */
export function buildDist(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (!existsSync(CLI)) throw new Error(`build produced no ${CLI}`);
}

export interface DdsrvOptions {
  dbPath: string;
  logPath: string;
  delay: string;
  /** Extra environment (AWS endpoint and fake credentials). */
  env?: Record<string, string>;
  args?: string[];
  /** Reuse a port (restart on the same address). */
  port?: number;
  /** --log-level; default info, the shipped default (one log line per accepted instance). */
  logLevel?: string;
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** A policy file's text (written next to the database, passed as --config). */
  policy?: string;
  /** Another build's cli.js (to compare two builds in one run); default this checkout's dist/. */
  cli?: string;
}

/**
 * The acceptance path alone: with no drain step to start, a hand-off costs the worker nothing until it
 * is due (planHandOff), as with the original server. With the default policy each hand-off also starts
 * its drain at once (worker work against AWS), which is the worker's throughput, not acceptance's.
 */
export const ACCEPTANCE_POLICY = 'defaults:\n  asg: leave\n  drain:\n    load_balancers: false\n';

export interface Ddsrv {
  child: Child;
  port: number;
  /** http://127.0.0.1:PORT/delayed-termination */
  endpoint: string;
  /** From spawn to the first 200 answer to GET /delayed-termination. */
  readyMs: number;
}

export async function startDdsrv(opts: DdsrvOptions): Promise<Ddsrv> {
  const port = opts.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}/delayed-termination`;
  const policyArgs: string[] = [];
  if (opts.policy !== undefined) {
    const policyPath = `${opts.dbPath}.policy.yaml`;
    writeFileSync(policyPath, opts.policy);
    policyArgs.push('--config', policyPath);
  }
  const log = openSync(opts.logPath, 'a');
  const t0 = performance.now();
  let child: Child;
  try {
    child = spawnChild(
      'ddsrv',
      process.execPath,
      [...(opts.nodeArgs ?? []), opts.cli ?? CLI, 'serve', `127.0.0.1:${port}`, '--database', opts.dbPath, '--delay', opts.delay, '--log-level', opts.logLevel ?? 'info', ...policyArgs, ...(opts.args ?? [])],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...opts.env },
        stdio: ['ignore', log, 'pipe'],
      },
    );
  } finally {
    closeSync(log); // the child has its own copy of the descriptor
  }
  try {
    await waitFor('ddsrv to answer GET /delayed-termination with 200', 30_000, async () => {
      if (!child.alive()) throw new Error('exited during start');
      return (await statusOf(endpoint, 500)) === 200 ? true : undefined;
    });
  } catch (err) {
    await child.stop('SIGKILL');
    throw new Error(`ddsrv did not become ready: ${(err as Error).message}\nstderr: ${child.stderrTail()}\nlog: ${tail(opts.logPath)}`);
  }
  return { child, port, endpoint, readyMs: performance.now() - t0 };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: string };

/** Every JSON line of a ddsrv log file (non-JSON lines are skipped). */
export function readLog(path: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut short while being written
    }
  }
  return out;
}
