// What an idle service costs: its CPU per second, per thread, with nothing to do (no hand-off ever, AWS
// pointed at a closed port), after it has been up for 3 s. Builds take turns, so a busy machine slows them
// alike. The pipeline bench pays this rate over its whole window (docs/performance.md).
//
//   node --import tsx bench/idle-cpu.ts [--seconds S] [--rounds N] DIR[@VAR=value,...] ...
//
// DIR holds a built service (DIR/dist/cli.js); `@VAR=value,...` adds to its environment (e.g.
// `.@DDSRV_POLL_INTERVAL=30s`), as in bench/compare.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startDdsrv } from './lib/ddsrv.js';
import { stopAllChildren } from './lib/processes.js';

/** tid -> CPU nanoseconds (schedstat) of every thread of `pid`. */
function threadNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread exited while we looked
    }
  }
  return out;
}

function parseBuild(arg: string): { label: string; cli: string; env: Record<string, string> } {
  const at = arg.indexOf('@');
  const env: Record<string, string> = {};
  for (const pair of at < 0 ? [] : arg.slice(at + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`'${pair}' in '${arg}' is not VAR=value`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { label: arg, cli: join(resolve(at < 0 ? arg : arg.slice(0, at)), 'dist', 'cli.js'), env };
}

async function idleRate(build: ReturnType<typeof parseBuild>, seconds: number, dir: string): Promise<{ main: number; all: number }> {
  const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', ...build.env };
  const server = await startDdsrv({ dbPath: join(dir, 'ddsrv.db'), logPath: join(dir, 'ddsrv.log'), delay: '15s', env, cli: build.cli });
  try {
    await sleep(3000);
    const pid = server.child.pid;
    const before = threadNs(pid);
    await sleep(seconds * 1000);
    const after = threadNs(pid);
    let all = 0;
    for (const [tid, ns] of after) all += ns - (before.get(tid) ?? 0);
    const main = (after.get(String(pid)) ?? 0) - (before.get(String(pid)) ?? 0);
    return { main: main / 1e6 / seconds, all: all / 1e6 / seconds };
  } finally {
    await server.child.stop();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
  if (positionals.length === 0) {
    console.error('usage: node --import tsx bench/idle-cpu.ts [--seconds S] [--rounds N] DIR[@VAR=value,...] ...');
    process.exitCode = 2;
    return;
  }
  const builds = positionals.map(parseBuild);
  const seconds = Number(values.seconds ?? 8);
  const rounds = Number(values.rounds ?? 3);
  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-idle-'));
  const rates = builds.map(() => [] as { main: number; all: number }[]);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [i, b] of builds.entries()) {
        const dir = mkdtempSync(join(tmp, 'run-'));
        rates[i]!.push(await idleRate(b, seconds, dir));
      }
    }
  } finally {
    await stopAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`idle CPU, ms per second over ${seconds} s (all threads; main thread), each of ${rounds} rounds:`);
  for (const [i, b] of builds.entries()) {
    console.log(`  ${b.label.padEnd(48)} ${rates[i]!.map((x) => `${x.all.toFixed(2)} (${x.main.toFixed(2)})`).join('  ')}`);
  }
}

await main();
