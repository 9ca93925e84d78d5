// Starts a real `moto_server` (Python moto) for integration tests, one per test file.
//
// Why it is built this way:
// - Port: moto is started with `-p 0` and we read the port it prints ("Running on http://127.0.0.1:N").
//   Picking a "free" port ourselves and passing it in races with other test files (the runner runs
//   files concurrently); letting the kernel choose inside moto cannot collide.
// - No orphans: moto runs under a tiny `sh` watchdog in its own process group (`detached`). The
//   watchdog blocks reading its stdin, a pipe from this process; when this process dies for any
//   reason, even SIGKILL, the pipe closes, `cat` returns and the watchdog kills and reaps moto.
//   `stop()` closes that pipe and signals the whole group, then waits until no live process is left in it,
//   escalating to SIGKILL. An 'exit' hook covers tests that forget to call stop().
// - Output: moto logs every request to stderr. It must be drained or moto blocks once the 64 KiB pipe
//   buffer fills; we keep only a short tail for error messages.
// - Missing moto: locally the tests skip with a message saying how to install it; under CI=true a
//   missing moto_server is an error, so a CI run can never pass by silently skipping.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Moto {
  endpoint: string;
  port: number;
  /** Process group of moto and its watchdog; lets tests prove nothing is left behind. */
  pgid: number;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL_HINT = "moto_server is not on PATH: install it with `pip install 'moto[server]'` to run the moto integration tests";
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

function isCi(): boolean {
  return process.env.CI === 'true';
}

/** Absolute path of moto_server on PATH, or undefined. */
function findMotoServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** For `test(name, { skip: motoSkip() }, ...)`: false when moto_server is on PATH; otherwise a message saying how to enable the tests (pip install 'moto[server]'); under CI=true it throws instead. */
export function motoSkip(): string | false {
  if (findMotoServer()) return false;
  if (isCi()) throw new Error(`${INSTALL_HINT} (CI=true: refusing to skip)`);
  return INSTALL_HINT;
}

/** The environment a child server process needs to talk to this moto with fake credentials. */
export function awsTestEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

// The watchdog. `$1` is the moto_server path. moto's stdin is /dev/null so only `cat` reads our pipe.
// The trap makes a signalled shell still kill and reap moto (no zombie handed to PID 1).
const WATCHDOG = `
"$1" -H 127.0.0.1 -p 0 </dev/null &
moto=$!
trap 'kill $moto 2>/dev/null; wait $moto; exit 0' TERM INT HUP
cat >/dev/null
kill $moto 2>/dev/null
wait $moto
`;

/**
 * True while a live (non-zombie) process is in process group `pgid`. Reads /proc on Linux, because a
 * watchdog orphaned by a SIGKILLed test process lingers as a zombie until PID 1 reaps it and
 * `kill(-pgid, 0)` still succeeds on zombies; elsewhere falls back to `kill(-pgid, 0)`.
 */
export function processGroupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** Starts moto, or returns undefined with the reason printed when moto_server is missing and CI is not 'true'. Under CI=true a missing moto_server throws (a failure, never a silent skip). */
export async function startMoto(): Promise<Moto | undefined> {
  const bin = findMotoServer();
  if (!bin) {
    if (isCi()) throw new Error(`${INSTALL_HINT} (CI=true: refusing to skip)`);
    console.warn(`[moto] ${INSTALL_HINT}`);
    return undefined;
  }

  const child = spawn('sh', ['-c', WATCHDOG, 'moto-watchdog', bin], {
    detached: true, // own process group, so one signal reaches sh, cat and moto
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('[moto] could not spawn sh');

  let tail = '';
  const onOutput = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  child.stdin!.on('error', () => {}); // EPIPE if the watchdog is already gone

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const killOnExit = (): void => {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    child.stdin!.end();
    killOnExit();
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (processGroupAlive(pgid) || alive) {
      if (Date.now() > deadline) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        await exited;
        break;
      }
      await sleep(20);
    }
  };

  try {
    const port = await readPort(child, () => tail);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(endpoint, () => alive, () => tail);
    // From here on, a forgotten stop() must not keep the test process alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    return {
      endpoint,
      port,
      pgid,
      async reset() {
        const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`[moto] reset answered HTTP ${res.status}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits for werkzeug's "Running on http://127.0.0.1:PORT" line (it goes to stderr). */
function readPort(child: ChildProcess, output: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`[moto] no port announced within ${START_TIMEOUT_MS} ms:\n${output()}`)), START_TIMEOUT_MS);
    const check = (): void => {
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output());
      if (m) done(undefined, Number(m[1]));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`[moto] exited before listening (code ${code}, signal ${signal}):\n${output()}`));
    function done(err?: Error, port?: number): void {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(port!);
    }
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', onExit);
  });
}

/** Polls moto's own API until it answers; it is normally up ~0.5 s after start. */
async function waitUntilAnswering(endpoint: string, alive: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!alive()) throw new Error(`[moto] exited during start:\n${output()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`[moto] not answering at ${endpoint} after ${START_TIMEOUT_MS} ms:\n${output()}`);
    await sleep(50);
  }
}
