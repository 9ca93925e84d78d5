// Compares builds of the service under the acceptance load, all running at once and taking turns in
// slices next to the bare node:http baseline (the acceptance bench's method, measureInterleaved), so that
// a change is judged against the build before it on the same machine in the same minute; runs measured
// minutes apart on this machine differ by more than most changes do (docs/performance.md).
//
//   node --import tsx bench/compare.ts DIR[@VAR=value,...] [DIR[@VAR=value,...] ...]
//
// Each DIR holds a built service (DIR/dist/cli.js), e.g. a `git worktree add /tmp/before HEAD~1` after
// `npm ci && npm run build` in it; `.` is this checkout (build it first). `@VAR=value,...` adds to that
// server's environment (DDSRV_LOG_LEVEL=warn sets its --log-level), so one build can run twice with
// different settings. Prints requests/s and p99 against the baseline for each build, and the CPU each
// server and the load generator used.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BARE, measureInterleaved, NO_AWS, startScript, type Target } from './acceptance.js';
import { ACCEPTANCE_POLICY, startDdsrv } from './lib/ddsrv.js';
import { HandOffLoad } from './lib/load.js';
import { stopAllChildren } from './lib/processes.js';
import { fixed, int } from './lib/report.js';

/** `DIR@A=1,B=2` -> the folder and the extra environment of its server. */
function parseTarget(arg: string): [string, Record<string, string>] {
  const at = arg.indexOf('@');
  if (at < 0) return [arg, {}];
  const settings: Record<string, string> = {};
  for (const pair of arg.slice(at + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`'${pair}' in '${arg}' is not VAR=value`);
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return [arg.slice(0, at), settings];
}

async function main(): Promise<number> {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error('usage: node --import tsx bench/compare.ts DIR[@VAR=value,...] ...   (each DIR holds a built dist/cli.js)');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-compare-'));
  try {
    const bare = await startScript('bare node:http', BARE);
    const targets: Target[] = [bare.target];
    for (const [i, arg] of dirs.entries()) {
      const [dir, settings] = parseTarget(arg);
      const at = join(tmp, String(i));
      mkdirSync(at);
      const server = await startDdsrv({
        dbPath: join(at, 'ddsrv.db'),
        logPath: join(at, 'ddsrv.log'),
        delay: '1d',
        env: { ...NO_AWS, ...settings },
        ...(settings.DDSRV_LOG_LEVEL ? { logLevel: settings.DDSRV_LOG_LEVEL } : {}),
        policy: ACCEPTANCE_POLICY,
        cli: join(resolve(dir), 'dist', 'cli.js'),
      });
      targets.push({ name: `${arg} (#${i + 1})`, origin: `http://127.0.0.1:${server.port}`, pid: server.child.pid, load: new HandOffLoad() });
    }
    const log = (line: string) => console.log(line);
    const measured = await measureInterleaved({ quick: false, tmp, log }, targets, { warmup: 2, duration: 10, slices: 5 });
    const base = measured[0]!;
    console.log('');
    measured.forEach((m, i) => {
      console.log(`${targets[i]!.name.padEnd(40)} ${int(m.rps).padStart(7)} req/s  ${fixed(m.rps / base.rps)}x bare   p99 ${fixed(m.p99)} ms  ${fixed(m.p99 / base.p99)}x bare`);
    });
    return 0;
  } finally {
    await stopAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
