// Compares builds of the service under the acceptance load, all running at once and taking turns in
// slices next to the bare node:http baseline (the acceptance bench's method, measureInterleaved), so that
// a change is judged against the build before it on the same machine in the same minute; runs measured
// minutes apart on this machine differ by more than most changes do (docs/performance.md).
//
//   node --import tsx bench/compare.ts DIR [DIR ...]
//
// Each DIR holds a built service (DIR/dist/cli.js), e.g. a `git worktree add /tmp/before HEAD~1` after
// `npm ci && npm run build` in it; `.` is this checkout (build it first). Prints requests/s and p99 against
// the baseline for each build, and the CPU each server and the load generator used.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BARE, measureInterleaved, startScript, type Target } from './acceptance.js';
import { ACCEPTANCE_POLICY, startDdsrv, type Ddsrv } from './lib/ddsrv.js';
import { HandOffLoad } from './lib/load.js';
import { stopAllChildren } from './lib/processes.js';
import { fixed, int } from './lib/report.js';

const NO_AWS = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };

async function main(): Promise<number> {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error('usage: node --import tsx bench/compare.ts DIR [DIR ...]   (each DIR holds a built dist/cli.js)');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-compare-'));
  const servers: Ddsrv[] = [];
  try {
    const bare = await startScript('bare node:http', BARE);
    const targets: Target[] = [bare.target];
    for (const [i, dir] of dirs.entries()) {
      const at = join(tmp, String(i));
      mkdirSync(at);
      const server = await startDdsrv({
        dbPath: join(at, 'ddsrv.db'),
        logPath: join(at, 'ddsrv.log'),
        delay: '1d',
        env: NO_AWS,
        policy: ACCEPTANCE_POLICY,
        cli: join(resolve(dir), 'dist', 'cli.js'),
      });
      servers.push(server);
      targets.push({ name: `${dir} (#${i + 1})`, origin: `http://127.0.0.1:${server.port}`, pid: server.child.pid, load: new HandOffLoad() });
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
