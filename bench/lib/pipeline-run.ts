// One run of the pipeline benchmark's scenario against a moto that is already running (bench/pipeline.ts
// and bench/compare.ts --pipeline share it): moto reset, one build of the service started with the default
// policy, and for each wave a fresh fleet whose every instance is handed off one per request with the full
// Skopos document by CLIENTS concurrent keep-alive clients, then waited for until every one is terminated.
//
// The service's CPU is its own process's (all threads, /proc/PID/task/*/schedstat), read right before
// a wave's first hand-off and right after the log shows its last termination: start-up (spawn to ready,
// and 2 s idle after it) is excluded, first-use costs after it (SDK clients, JIT) fall in the first wave,
// and moto's CPU is not in it. It is also read at the phase ends the log shows, and over the 2 s idle before the hand-offs
// (the service's idle rate, which the 15 s window pays too).
// AWS calls are what the fault proxy (pass-through) saw in that window.
import { Agent } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultProxy } from '../../test/helpers/fault-proxy.js';
import { awsTestEnv, type Moto } from '../../test/helpers/moto.js';
import { withDb } from './db.js';
import { readLog, startDdsrv, type Ddsrv } from './ddsrv.js';
import { createFleet, fleetAfter, type Fleet, type FleetAfter } from './fleet.js';
import { httpCall } from './http.js';
import { cpuSplitOf, groupCpuSeconds, machineCpuSeconds, threadCpuSeconds, waitFor } from './processes.js';
import { fixed } from './report.js';
import { privateIp, skoposDocument } from './skopos.js';
import { COUNT_SQL, sqlCounts, type SqlCounts } from './sql-counts.js';

export const REGION = 'us-east-1';
export const GROUPS = 2;
export const PER_GROUP = 150;
export const CLIENTS = 16;
/**
 * Long enough that every drain is done before the first instance is due: the drain wait looks 5 s after
 * the deregistration (moto deregisters at once), and the hand-offs themselves take about a second.
 */
export const DELAY_S = 15;
const FINAL_EVENTS = new Set(['terminate.ok', 'terminate.gone', 'terminate.failed', 'terminate.gave_up']);

export interface PipelineRun {
  /** 1 for the service's first wave (cold), 2 for the next. */
  wave: number;
  instances: number;
  /**
   * The service's CPU seconds from the first hand-off to the last termination (all threads, and the main
   * thread alone), and per phase: until every instance left its group and load balancers (hand-offs
   * included), the drain wait, idle until the first due time, the termination; `ticks`: the total from
   * /proc/PID/stat, and `kernel` its system time.
   */
  cpu: { total: number; mainThread: number; handOff: number; drainWait: number; idle: number; terminating: number; ticks: number; kernel: number };
  /** The service's CPU rate (cores) while idle after start, before the first hand-off. */
  idleCores: number;
  /** Seconds from the first hand-off to the last termination seen. */
  seconds: number;
  motoCpuSeconds: number;
  /** Cores used by other processes (not the service, moto or this process) during the run, and stolen. */
  noise: number;
  handOffSeconds: number;
  /** Seconds from the service's spawn to the wave's first hand-off (where a CPU profile's measured part begins). */
  sinceSpawn: number;
  /** The service's pid and the wave's measured window in CLOCK_MONOTONIC seconds (`perf record -k CLOCK_MONOTONIC`'s clock). */
  window: { pid: number; from: number; to: number };
  /** Seconds from the first and from the last due_at to the last terminate.ok. */
  fromFirstDue: number;
  fromLastDue: number;
  /** Milliseconds from the last drain_wait.ok to the first due_at (negative: a drain finished late). */
  drainMarginMs: number;
  aws: { total: number; byAction: Record<string, number> };
  /** From the service's database after it stopped; `batches`: per step, how many batches the worker ran it in. */
  db: { terminated: number; historyRows: number; historyByEvent: Record<string, number>; batches: Record<string, number> };
  moto: FleetAfter;
  /** terminate.ok lines in the log (other final events are failures). */
  ok: number;
  /** With countSql: what lib/count-sql.mjs counted in the window. */
  sql?: SqlCounts;
}

export interface PipelineRunOptions {
  moto: Moto;
  proxy: FaultProxy;
  /** Working folder of this run (database, log, policy). */
  dir: string;
  /** Another build's dist/cli.js; default this checkout's. */
  cli?: string;
  /** Flags for node (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Count the service's SQL statements in the measured window (lib/count-sql.mjs; slows it: CPU figures are then off). */
  countSql?: boolean;
  /** More environment for the service (added to the AWS endpoint's). Its log level stays info: the run reads the transitions there. */
  env?: Record<string, string>;
  log(line: string): void;
}

/**
 * The scenario: one service, and `waves` fleets (default 1) handed off and terminated one after the other,
 * each on a reset moto (so every wave sees the same region); one PipelineRun per wave. The first wave pays
 * the service's first-use costs (the SDK clients' first calls, code compiled for the first time); a second
 * wave in the same process shows the cost of a warm service.
 */
export async function runPipeline(opts: PipelineRunOptions, waves = 1): Promise<PipelineRun[]> {
  const { moto, proxy } = opts;
  const logPath = join(opts.dir, 'ddsrv.log');
  const dbPath = join(opts.dir, 'ddsrv.db');
  const sqlOut = join(opts.dir, 'sql-counts.jsonl');
  const server = await startDdsrv({
    dbPath,
    logPath,
    delay: `${DELAY_S}s`,
    env: { ...awsTestEnv(proxy.url), ...opts.env, ...(opts.countSql ? { COUNT_SQL_OUT: sqlOut } : {}) },
    ...(opts.cli ? { cli: opts.cli } : {}),
    nodeArgs: [...(opts.nodeArgs ?? []), ...(opts.countSql ? ['--import', COUNT_SQL] : [])],
  });
  const spawnedAt = performance.now() - server.readyMs;
  const done: { run: Omit<PipelineRun, 'db' | 'drainMarginMs'>; fleet: Fleet; firstDue: number }[] = [];
  let sqlLines = 0; // lines the count-sql preload has written
  let stopped = false;
  try {
    for (let wave = 1; wave <= waves; wave++) {
      const t = performance.now();
      await moto.reset();
      const fleet = await createFleet(moto.endpoint, REGION, GROUPS, PER_GROUP);
      opts.log(`    wave ${wave}: fleet ${fleet.groups.map((g) => `${g.name} ${g.instances.length}`).join(', ')}, all in ${fleet.classicName} (${fixed((performance.now() - t) / 1000, 1)} s)`);
      const sql = opts.countSql ? () => sqlCounts(server.child.pid, sqlOut, ++sqlLines) : undefined;
      const { run, firstDue } = await runWave(server, fleet, { logPath, proxy, moto, spawnedAt, sql });
      done.push({ run: { ...run, wave, moto: await fleetAfter(moto.endpoint, fleet) }, fleet, firstDue }); // before the next reset
    }
    await server.child.stop();
    stopped = true;
    const history = readHistory(dbPath);
    return done.map(({ run, fleet, firstDue }) => {
      const mine = new Set(fleet.instances);
      const rows = history.filter((e) => mine.has(e.instance_id));
      const historyByEvent: Record<string, number> = {};
      for (const r of rows) historyByEvent[r.event] = (historyByEvent[r.event] ?? 0) + 1;
      const drained = rows.filter((r) => r.event === 'drain_wait.ok').map((r) => r.at);
      // A step's batch records `<step>.started` for all its rows with one timestamp.
      const batches: Record<string, number> = {};
      for (const [event, ats] of groupAts(rows.filter((r) => r.event.endsWith('.started')))) batches[event.slice(0, -'.started'.length)] = ats.size;
      return {
        ...run,
        drainMarginMs: drained.length === 0 ? NaN : firstDue - Math.max(...drained),
        db: { terminated: new Set(rows.filter((r) => r.state === 'terminated').map((r) => r.instance_id)).size, historyRows: rows.length, historyByEvent, batches },
      };
    });
  } finally {
    if (!stopped) await server.child.stop();
  }
}

interface WaveContext {
  logPath: string;
  proxy: FaultProxy;
  moto: Moto;
  spawnedAt: number;
  /** With countSql: asks the preload for its counts (the first call of a wave resets them). */
  sql: (() => Promise<SqlCounts>) | undefined;
}

/** One fleet handed off and waited for until every instance is terminated, with the service's CPU on the way. */
async function runWave(server: Ddsrv, fleet: Fleet, w: WaveContext): Promise<{ run: Omit<PipelineRun, 'wave' | 'db' | 'moto' | 'drainMarginMs'>; firstDue: number }> {
  const pid = server.child.pid;
  const idle0 = threadCpuSeconds(pid).all;
  await sleep(2000);
  const idleCores = (threadCpuSeconds(pid).all - idle0) / 2;

  if (w.sql) await w.sql(); // resets the counts: the window starts here
  w.proxy.requests.length = 0;
  const machine0 = machineCpuSeconds();
  const moto0 = groupCpuSeconds(w.moto.pgid);
  const self0 = process.cpuUsage();
  const ticks0 = cpuSplitOf(pid);
  const cpu0 = threadCpuSeconds(pid);
  const t = performance.now();
  const from = monotonicSeconds();
  const sinceSpawn = (t - w.spawnedAt) / 1000;
  const dueAts = await handOff(server, fleet);
  const handOffSeconds = (performance.now() - t) / 1000;
  const firstDue = Math.min(...dueAts);
  const lastDue = Math.max(...dueAts);
  // Phase ends, read from the log as the rows get there (or at the first due time, whichever comes first).
  const mine = new Set(fleet.instances);
  const reached = async (events: Set<string>, until = Infinity) =>
    waitFor(`${mine.size} instances past ${[...events].join('/')}`, Math.max(0, Math.min(until, lastDue) - Date.now()) + 120_000, () => {
      const lines = readLog(w.logPath).filter((l) => l.msg === 'transition' && events.has(String(l.event)) && mine.has(String(l.instance_id)));
      return new Set(lines.map((l) => l.instance_id)).size >= mine.size || Date.now() >= until ? lines : undefined;
    }, 100);
  await reached(new Set(['lb_deregister.ok']), firstDue - 200);
  const cpuDeregistered = threadCpuSeconds(pid).all;
  await reached(new Set(['drain_wait.ok']), firstDue - 200);
  const cpuDrained = threadCpuSeconds(pid).all;
  await sleep(Math.max(0, firstDue - Date.now() - 100));
  const cpuBeforeDue = threadCpuSeconds(pid).all;
  const finals = await reached(FINAL_EVENTS);
  const cpu1 = threadCpuSeconds(pid);
  const to = monotonicSeconds();
  const ticks1 = cpuSplitOf(pid); // the same window in /proc/PID/stat's ticks: a cross-check, and user vs kernel
  const kernel = ticks1.system - ticks0.system;
  const ticks = ticks1.user - ticks0.user + kernel;
  const seconds = (performance.now() - t) / 1000;
  const self = process.cpuUsage(self0);
  const motoCpuSeconds = groupCpuSeconds(w.moto.pgid) - moto0;
  const machine1 = machineCpuSeconds();
  const others = machine1.busy - machine0.busy - ticks - motoCpuSeconds - (self.user + self.system) / 1e6;
  const sql = w.sql ? await w.sql() : undefined;

  const byAction: Record<string, number> = {};
  for (const r of w.proxy.requests) byAction[r.action] = (byAction[r.action] ?? 0) + 1;
  const oks = finals.filter((l) => l.event === 'terminate.ok').map((l) => Date.parse(String(l.time)));
  const lastOk = Math.max(...oks);
  const run = {
    instances: mine.size,
    cpu: {
      total: cpu1.all - cpu0.all,
      mainThread: cpu1.main - cpu0.main,
      handOff: cpuDeregistered - cpu0.all,
      drainWait: cpuDrained - cpuDeregistered,
      idle: cpuBeforeDue - cpuDrained,
      terminating: cpu1.all - cpuBeforeDue,
      ticks,
      kernel,
    },
    idleCores,
    seconds,
    motoCpuSeconds,
    noise: (Math.max(0, others) + machine1.steal - machine0.steal) / seconds,
    handOffSeconds,
    sinceSpawn,
    window: { pid, from, to },
    fromFirstDue: (lastOk - firstDue) / 1000,
    fromLastDue: (lastOk - lastDue) / 1000,
    aws: { total: w.proxy.requests.length, byAction },
    ok: oks.length,
    ...(sql ? { sql } : {}),
  };
  return { run, firstDue };
}

/** CLOCK_MONOTONIC (what process.hrtime reads), in seconds. */
const monotonicSeconds = () => Number(process.hrtime.bigint()) / 1e9;

/** event -> the distinct times it was recorded at. */
function groupAts(rows: { event: string; at: number }[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const r of rows) out.set(r.event, (out.get(r.event) ?? new Set()).add(r.at));
  return out;
}

/** Every history row of the stopped service's database, with its instance. */
function readHistory(dbPath: string): { instance_id: string; event: string; state: string; at: number }[] {
  return withDb(dbPath, (d) =>
    d.prepare('SELECT t.instance_id, h.event, h.state, h.at FROM termination_history h JOIN terminations t ON t.id = h.termination_id').all() as {
      instance_id: string;
      event: string;
      state: string;
      at: number;
    }[],
  );
}

/** Every instance handed off in its own request by CLIENTS clients at once; returns the due times answered. */
async function handOff(server: Ddsrv, fleet: Fleet): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const queue = fleet.instances.map((id, i) => ({ id, body: skoposDocument(id, privateIp(i + 1), fleet.region) }));
  const dueAts: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const answer = await httpCall(server.endpoint, 'POST', next.body, 10_000, agent);
          if (answer.status !== 200) throw new Error(`hand-off of ${next.id} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
          dueAts.push(Date.parse((JSON.parse(answer.body) as { terminations: { due_at: string }[] }).terminations[0]!.due_at));
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return dueAts;
}
