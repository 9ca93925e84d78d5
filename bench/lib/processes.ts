// Child processes of the benchmark (the servers under test), tracked so that every one of them is
// stopped at the end, whatever happened: each bench stops its own in a `finally`, run.ts calls
// `stopAllChildren()` at the end, and an 'exit' hook SIGKILLs anything still alive if the bench process
// dies of an uncaught error or a signal. Also: the memory figures (/proc/PID/status) and free ports.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Last few KiB of stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<Child>();

process.on('exit', () => {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function spawnChild(name: string, command: string, args: string[], options: SpawnOptions): Child {
  const proc = spawn(command, args, { ...options, stdio: options.stdio ?? ['ignore', 'ignore', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let tail = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    exited,
    alive: () => running,
    stderrTail: () => tail,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (running) proc.kill(signal);
      const timer = setTimeout(() => {
        if (running) proc.kill('SIGKILL');
      }, graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  live.add(child);
  return child;
}

/** Stops every child still running (SIGTERM, then SIGKILL after 5 s). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop('SIGTERM', 5_000)));
}

/** A port free right now on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Resident and peak resident memory of a process in bytes, from /proc/PID/status (Linux). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** CPU time (user + system, all threads) a process has used so far, in seconds, from /proc/PID/stat. */
export function cpuSecondsOf(pid: number): number {
  const { user, system } = cpuSplitOf(pid);
  return user + system;
}

/** The same, user and system (kernel) time apart. */
export function cpuSplitOf(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "pid (comm) state ppid ...": utime and stime are fields 14 and 15, counted after the ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // USER_HZ is 100 on Linux
}

/**
 * The same at nanosecond resolution (cpuSecondsOf counts 10 ms ticks): the sum of every live thread's time
 * on a CPU, from /proc/PID/task/TID/schedstat, and the main thread's (for node: JavaScript, and what it
 * does synchronously) alone. A thread that exited takes its time with it, so use it over
 * windows in which the process's threads live on (node's do, for the process's life).
 */
export function threadCpuSeconds(pid: number): { all: number; main: number } {
  let ns = 0;
  let main = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      ns += t;
      if (Number(tid) === pid) main = t;
    } catch {
      // the thread exited while we looked
    }
  }
  return { all: ns / 1e9, main: main / 1e9 };
}

/** CPU time (user + system) of every live process in process group `pgid` (e.g. moto and its watchdog), in seconds. */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** CPU seconds of this process and of its children that have exited and been reaped (fields 14-17 of /proc/self/stat). */
export function treeCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return (f[11]! + f[12]! + f[13]! + f[14]!) / 100;
}

/** Machine-wide CPU seconds so far, from /proc/stat: busy (all but idle and iowait) and stolen by the hypervisor. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number) as number[];
  return { busy: (user! + nice! + system! + irq! + softirq!) / 100, steal: steal! / 100 };
}

/**
 * Waits (up to `maxMs`) until the rest of the machine (everything but this process and its children)
 * uses less than `cores` of CPU over one second. Returns the ms spent waiting beyond that first second.
 */
export async function waitForQuietMachine(cores = 0.25, maxMs = 120_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const machine = machineCpuSeconds().busy;
    const mine = treeCpuSeconds();
    await sleep(1000);
    const others = machineCpuSeconds().busy - machine - (treeCpuSeconds() - mine);
    if (others < cores || Date.now() - t0 > maxMs) return Math.max(0, Date.now() - t0 - 1000);
  }
}

/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
