// A large backlog: 200,000 pending hand-offs (a long delay, so none falls due). How much memory the server
// holds, and how fast it is serving again after a restart.
//
// Why: the schedule lives in the database, not in memory, so memory must not grow with the backlog
// (goal: RSS under 256 MB, after the load and again after it settles); and a restart (deploy, crash,
// host reboot) must not leave Skopos without a hand-off endpoint for long, however much work is pending
// (goal: restart-to-ready under 3 s).
//
// How: the acceptance load generator sends 200,000 single-instance hand-offs (50 connections, each a new
// id) with --delay 1d and no AWS. RSS is read from /proc/PID/status (VmRSS) right after the load and
// after a quiet settle; the peak during the load (VmHWM) is shown too, for information: it is what a
// memory limit on the service (systemd MemoryMax, a container) has to allow. Then SIGTERM, wait for the exit, start the same command on the
// same database; restart-to-ready runs from the SIGTERM until GET /delayed-termination answers 200 (the
// start alone, spawn to 200, is shown beside it). Last, the database is checked for every acknowledged id.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { NO_AWS } from './acceptance.js';
import { ACCEPTANCE_POLICY, startDdsrv, type Ddsrv } from './lib/ddsrv.js';
import { instanceIdsIn, summarize } from './lib/db.js';
import { HandOffLoad } from './lib/load.js';
import { memoryOf } from './lib/processes.js';
import { fixed, int, mib, notMeasured, type BenchContext, type Figure } from './lib/report.js';

const RSS_GOAL = 256 * 2 ** 20;
const READY_GOAL_S = 3;

export const pendingNotMeasured = (why: string): Figure[] => [
  notMeasured('pending', 'RSS after the load', '< 256 MiB', why),
  notMeasured('pending', 'RSS after settling', '< 256 MiB', why),
  { ...notMeasured('pending', 'peak RSS during the load (VmHWM)', '(< 256 MiB)', why), info: true },
  notMeasured('pending', 'restart -> ready', `< ${READY_GOAL_S} s`, why),
];

export async function benchPending(ctx: BenchContext): Promise<Figure[]> {
  const count = ctx.quick ? 20_000 : 200_000;
  const settleMs = ctx.quick ? 2_000 : 10_000;
  const dir = join(ctx.tmp, 'pending');
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'ddsrv.db');
  const logPath = join(dir, 'ddsrv.log');
  const label = `${int(count)} pending`;
  let server: Ddsrv | undefined;
  try {
    server = await startDdsrv({ dbPath, logPath, delay: '1d', env: NO_AWS, policy: ACCEPTANCE_POLICY });
    const idle = memoryOf(server.child.pid);
    ctx.log(`  started in ${fixed(server.readyMs / 1000, 3)} s on an empty database; RSS ${mib(idle.rss)}`);

    const load = new HandOffLoad();
    const run = await load.run(`http://127.0.0.1:${server.port}`, { connections: 50, amount: count });
    const loaded = memoryOf(server.child.pid);
    ctx.log(
      `  ${int(run.ok)} hand-offs accepted in ${fixed(run.seconds, 1)} s (${int(run.rps)}/s, non-2xx ${run.non2xx}, errors ${run.errors}); ` +
        `RSS right after: ${mib(loaded.rss)}, peak so far ${mib(loaded.peak)}`,
    );
    await sleep(settleMs);
    const settled = memoryOf(server.child.pid);
    ctx.log(`  after ${settleMs / 1000} s quiet: RSS ${mib(settled.rss)}, peak ${mib(settled.peak)}`);

    // Restart: from SIGTERM to the new process answering GET with 200.
    const t0 = performance.now();
    const exit = await server.child.stop('SIGTERM', 30_000);
    const stopMs = performance.now() - t0;
    server = undefined;
    server = await startDdsrv({ dbPath, logPath, delay: '1d', env: NO_AWS, policy: ACCEPTANCE_POLICY });
    const restartS = (performance.now() - t0) / 1000;
    const startS = server.readyMs / 1000;
    const restarted = memoryOf(server.child.pid);
    ctx.log(
      `  restart: SIGTERM -> exited (code ${exit.code}, signal ${exit.signal}) in ${fixed(stopMs / 1000, 3)} s; ` +
        `spawn -> GET 200 in ${fixed(startS, 3)} s; SIGTERM -> ready ${fixed(restartS, 3)} s; RSS then ${mib(restarted.rss)}`,
    );
    await server.child.stop();
    server = undefined;

    // Only now (the file is locked while a server runs): did every acknowledged hand-off survive?
    const db = summarize(dbPath);
    const ids = instanceIdsIn(dbPath);
    const missing = [...load.okIds].filter((id) => !ids.has(id)).length;
    ctx.log(`  database: ${int(db.rows)} rows ${JSON.stringify(db.byState)}, ${mib(db.bytes)}; acknowledged but missing ${missing}`);

    const complete = run.ok === count && db.rows === count && missing === 0;
    const note = complete ? '' : ` (only ${int(db.rows)} rows, ${int(run.ok)} 2xx)`;
    return [
      {
        bench: 'pending',
        name: `RSS after ${label} hand-offs`,
        value: `${mib(loaded.rss)} (peak ${mib(loaded.peak)})${note}`,
        goal: '< 256 MiB',
        ratio: loaded.rss / RSS_GOAL,
        pass: complete && loaded.rss < RSS_GOAL,
      },
      {
        bench: 'pending',
        name: `RSS after ${settleMs / 1000} s settle`,
        value: mib(settled.rss),
        goal: '< 256 MiB',
        ratio: settled.rss / RSS_GOAL,
        pass: complete && settled.rss < RSS_GOAL,
      },
      {
        // Not a goal of the issue, but what a memory limit (systemd MemoryMax, a container) must allow.
        bench: 'pending',
        name: 'peak RSS during the load (VmHWM)',
        value: mib(settled.peak),
        goal: '(< 256 MiB)',
        ratio: settled.peak / RSS_GOAL,
        pass: settled.peak < RSS_GOAL,
        info: true,
      },
      {
        bench: 'pending',
        name: `restart -> ready, ${label}`,
        value: `${fixed(restartS, 2)} s (stop ${fixed(stopMs / 1000, 2)}, start ${fixed(startS, 2)})`,
        goal: `< ${READY_GOAL_S} s`,
        ratio: restartS / READY_GOAL_S,
        pass: complete && restartS < READY_GOAL_S,
      },
    ];
  } finally {
    await server?.child.stop();
  }
}
