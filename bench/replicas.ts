// Acceptance throughput of several replicas on one PostgreSQL database, against one replica on the same
// database: single-instance hand-offs, acknowledged only once committed (group commit per replica).
//
// How: a fresh database per configuration on the PostgreSQL server named by DDSRV_BENCH_PG_URL (else
// DDSRV_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres). Each replica is its own process
// (`node dist/cli.js serve` when dist/ is newer than src/, else the TypeScript source through tsx), with
// a 1-day delay so the worker never terminates anything, a policy under which nothing before the due
// time calls AWS (the worker still claims and settles each hand-off once), and AWS pointed at a closed
// port. The load comes from autocannon in this process, the same total number of connections in both
// configurations, split evenly over the replicas (a load balancer's round robin, without a proxy's own
// cost). A warm-up, then a measured run; a pair of runs disturbed by other work on the machine is
// repeated (up to 3 times, the quietest kept). Afterwards every 2xx must be a row in the database.
//
// Read the figures with the machine in mind: on a 2-core machine three replicas, PostgreSQL and the load
// generator share the same two cores, so more replicas cannot add throughput there; the bench shows what
// replication costs (contention on the shared database, more processes) rather than what it gains. On a
// deployment each replica has its own CPU.
//
// Standalone: `node --import tsx bench/replicas.ts` (BENCH_QUICK=1 for a short run).
// From a runner: `import { benchReplicas, replicasNotMeasured } from './replicas.js'`,
// `await benchReplicas({ quick, tmp, log })` returns Figure[] (see lib/report.ts).
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchContext, Figure } from './lib/report.js';
import { privateIp, skoposDocument } from './lib/skopos.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = 48; // divisible by 1 and 3
const BENCH = 'replicas';
/** CPU used by other processes above which a measurement is called noisy (and repeated). */
const NOISE_CORES = 0.15;
const ATTEMPTS = 3;
/** Cores that went to something other than the replicas, PostgreSQL and the load generator. */
const noise = (r: Run) => Math.max(0, r.machineCores - r.replicaCores - r.postgresCores - r.loadCores);
/**
 * No throughput goal: on one machine the replicas share its cores with PostgreSQL and the load, so the
 * ratio says what replication costs there, not what it gains on separate hosts. The goal is correctness
 * under replicas (throws otherwise: every 2xx is a row), and no errors.
 */
const GOAL = 'every 2xx recorded, no errors or non-2xx; the 3:1 ratio is reported, not judged';

function adminUrl(): string {
  return process.env.DDSRV_BENCH_PG_URL || process.env.DDSRV_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = adminUrl()): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** dist/ built after the last change to src/ (bench/run.ts builds it first); otherwise run the source. */
function distIsFresh(): boolean {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) return false;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return statSync(cli).mtimeMs >= newest(join(ROOT, 'src'));
}

interface Replica {
  url: string;
  child: ChildProcess;
}

/**
 * A policy under which no step before the due time calls AWS (no ASG detach, no load balancers, no hook):
 * each hand-off still costs the worker one claim and one settle, as in production, but not AWS calls
 * that would fail against the closed port and retry, which would measure retries, not acceptance.
 */
const POLICY = 'defaults:\n  asg: leave\n  drain:\n    load_balancers: false\n';

async function startReplica(dbUrl: string, logPath: string, policyPath: string): Promise<Replica> {
  const port = await freePort();
  const entry = distIsFresh() ? [join(ROOT, 'dist', 'cli.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')];
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...entry, 'serve', `127.0.0.1:${port}`, '--database', dbUrl, '--delay', '1d', '--dry-run', '--config', policyPath], {
    cwd: ROOT,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}/delayed-termination`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a replica exited during start (code ${child.exitCode}); see ${logPath}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      if (res.status === 200) return { url, child };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`a replica was not ready within 30 s; see ${logPath}`);
    }
    await sleep(100);
  }
}

async function stop(r: Replica): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = once(r.child, 'exit');
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** CPU seconds a process has used (Linux /proc), 0 where unknown. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (100/s on Linux)
  } catch {
    return 0;
  }
}

/** Whole-machine busy CPU seconds (Linux /proc/stat). */
function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return (f.reduce((a, b) => a + b, 0) - idle) / 100;
  } catch {
    return 0;
  }
}

interface Run {
  replicas: number;
  /** Commits in the database per second, and acknowledged hand-offs per commit (group commit at work). */
  commitsPerSecond: number;
  perCommit: number;
  /** Cores used during the measured run by the replicas together, and by the whole machine. */
  replicaCores: number;
  machineCores: number;
  /** Cores used by this database's PostgreSQL backends, and by the load generator (this process). */
  postgresCores: number;
  loadCores: number;
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  rows: number;
  seconds: number;
}

type LoadFigures = Pick<Run, 'rps' | 'ok' | 'non2xx' | 'errors' | 'p50' | 'p99' | 'seconds'>;

/** One autocannon per replica, at the same time, `connections` split evenly; figures summed. */
async function load(urls: string[], connections: number, seconds: number, prefix: string): Promise<LoadFigures> {
  let n = 0; // ids: `prefix` (one hex digit per run) + 16 hex digits, an EC2-shaped 17-digit id
  const body = () => skoposDocument(`i-${prefix}${n.toString(16).padStart(16, '0')}`, privateIp(n++));
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url,
        connections: connections / urls.length,
        duration: seconds,
        timeout: 10,
        requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: body() }) }],
      }),
    ),
  );
  const ok = results.reduce((s, r) => s + r['2xx'], 0);
  if (ok === 0) throw new Error(`no hand-off was acknowledged: ${JSON.stringify(results.map((r) => r.statusCodeStats))}`);
  const weighted = (pick: (r: autocannon.Result) => number) => results.reduce((s, r) => s + pick(r) * r['2xx'], 0) / Math.max(1, ok);
  return {
    rps: results.reduce((s, r) => s + r['2xx'], 0) / seconds,
    ok,
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors + r.timeouts, 0),
    // Latency percentiles of the runs, weighted by their request counts (an approximation across runs).
    p50: weighted((r) => r.latency.p50),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    seconds,
  };
}

async function measure(replicas: number, ctx: Pick<BenchContext, 'quick' | 'tmp' | 'log'>): Promise<Run> {
  const name = `ddsrv_bench_replicas${replicas}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}"`));
  const dbUrl = new URL(adminUrl());
  dbUrl.pathname = `/${name}`;
  const started: Replica[] = [];
  try {
    // Started together, as an orchestrator would: they migrate once.
    const policyPath = join(ctx.tmp, 'replicas-policy.yaml');
    writeFileSync(policyPath, POLICY);
    const all = await Promise.allSettled(
      Array.from({ length: replicas }, (_, i) => startReplica(dbUrl.toString(), join(ctx.tmp, `replicas${replicas}-${i}.log`), policyPath)),
    );
    for (const r of all) if (r.status === 'fulfilled') started.push(r.value);
    const failed = all.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const urls = started.map((r) => r.url);
    const warmup = ctx.quick ? 1 : 3;
    const seconds = ctx.quick ? 3 : 10;
    ctx.log(`  ${replicas} replica(s): warm-up ${warmup} s, then ${seconds} s at ${CONNECTIONS} connections split over ${replicas}`);
    const warm = await load(urls, CONNECTIONS, warmup, 'a');
    const commits = () =>
      admin((c) => c.query<{ n: number }>('select xact_commit::int as n from pg_stat_database where datname = $1', [name]).then((r) => r.rows[0]!.n));
    const backends = await admin((c) => c.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name]).then((r) => r.rows.map((x) => x.pid)));
    const pgCpu = () => backends.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const pg0 = pgCpu();
    const self0 = process.cpuUsage();
    const cpu0 = started.reduce((s, r) => s + cpuSeconds(r.child.pid), 0);
    const machine0 = machineBusySeconds();
    const commits0 = await commits();
    const run = await load(urls, CONNECTIONS, seconds, 'b');
    await sleep(600); // pg_stat_database is updated at most every 500 ms
    const commitCount = (await commits()) - commits0;
    const replicaCores = (started.reduce((s, r) => s + cpuSeconds(r.child.pid), 0) - cpu0) / seconds;
    const machineCores = (machineBusySeconds() - machine0) / seconds;
    const postgresCores = (pgCpu() - pg0) / seconds; // backends opened during the run are not counted
    const self = process.cpuUsage(self0);
    const loadCores = (self.user + self.system) / 1e6 / seconds;
    const [row] = await admin((c) => c.query<{ n: number }>('select count(*)::int as n from terminations').then((r) => r.rows), dbUrl.toString());
    const rows = row!.n;
    // Every acknowledged hand-off is a row (a request cut off at the end of a run may be a row without its 2xx).
    const acked = warm.ok + run.ok;
    if (rows < acked) throw new Error(`${acked} hand-offs acknowledged but only ${rows} rows recorded`);
    const result: Run = {
      replicas,
      ...run,
      rows,
      commitsPerSecond: commitCount / seconds,
      perCommit: run.ok / Math.max(1, commitCount),
      replicaCores,
      machineCores,
      postgresCores,
      loadCores,
    };
    ctx.log(
      `  ${replicas} replica(s): ${Math.round(result.rps).toLocaleString('en-US')} hand-offs/s acknowledged, latency p50 ~${result.p50.toFixed(1)} ms, ` +
        `p99 ${result.p99} ms; non-2xx ${result.non2xx}, errors ${result.errors}; ${rows} rows for ${acked} acknowledged`,
    );
    ctx.log(
      `    ${Math.round(result.commitsPerSecond)} commits/s (~${result.perCommit.toFixed(1)} hand-offs per commit, all transactions counted); ` +
        `CPU (cores): replicas ${result.replicaCores.toFixed(2)}, PostgreSQL ${result.postgresCores.toFixed(2)}, load generator ${result.loadCores.toFixed(2)}, ` +
        `everything else ${noise(result).toFixed(2)}; machine ${result.machineCores.toFixed(2)} of ${availableParallelism()}` +
        (noise(result) > NOISE_CORES ? '  <- NOISY: other work shared the machine' : ''),
    );
    return result;
  } finally {
    await Promise.all(started.map(stop));
    await admin((c) => c.query(`drop database if exists "${name}" with (force)`)).catch(() => {});
  }
}

export function replicasNotMeasured(why: string): Figure[] {
  return [{ bench: BENCH, name: 'acceptance, 3 replicas vs 1 (PostgreSQL)', value: `not measured: ${why}`, goal: GOAL, ratio: null, pass: null }];
}

/** Prints the figures as it goes (through `ctx.log`) and returns them. */
export async function benchReplicas(ctx: Partial<BenchContext> = {}): Promise<Figure[]> {
  const log = ctx.log ?? ((line: string) => console.log(line));
  const own = ctx.tmp === undefined ? mkdtempSync(join(tmpdir(), 'ddsrv-bench-replicas-')) : undefined;
  const full = { quick: ctx.quick ?? process.env.BENCH_QUICK === '1', tmp: ctx.tmp ?? own!, log };
  try {
    try {
      await admin((c) => c.query('select 1'));
    } catch (err) {
      log(`  PostgreSQL at ${adminUrl().replace(/:[^:@/]*@/, ':***@')} is unreachable (${(err as Error).message}): set DDSRV_BENCH_PG_URL`);
      return replicasNotMeasured('PostgreSQL unreachable');
    }
    log(`  servers: ${distIsFresh() ? 'dist/cli.js' : 'src/cli.ts through tsx (dist/ missing or older than src/)'}`);
    // A pair disturbed by other work on the machine is measured again (up to ATTEMPTS); the quietest is kept.
    let best: { one: Run; three: Run } | undefined;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const pair = { one: await measure(1, full), three: await measure(3, full) };
      const worst = (p: { one: Run; three: Run }) => Math.max(noise(p.one), noise(p.three));
      if (!best || worst(pair) < worst(best)) best = pair;
      if (worst(pair) <= NOISE_CORES) break;
      if (attempt < ATTEMPTS) log(`  other work used up to ${worst(pair).toFixed(2)} cores meanwhile: measuring again (${attempt + 1}/${ATTEMPTS})`);
    }
    const { one, three } = best!;
    const ratio = three.rps / one.rps;
    const noisy = Math.max(noise(one), noise(three)) > NOISE_CORES ? ' NOISY' : '';
    const fmt = (r: Run) => `${Math.round(r.rps).toLocaleString('en-US')} req/s, p99 ${r.p99} ms`;
    log(`  3 replicas / 1 replica: ${ratio.toFixed(2)}x${noisy}`);
    return [
      { bench: BENCH, name: 'acceptance, 1 replica (PostgreSQL)', value: fmt(one), goal: GOAL, ratio: null, pass: one.errors === 0 && one.non2xx === 0 },
      {
        bench: BENCH,
        name: 'acceptance, 3 replicas vs 1 (PostgreSQL)',
        value: `${fmt(three)} (${ratio.toFixed(2)}x one replica; ${three.perCommit.toFixed(1)} vs ${one.perCommit.toFixed(1)} hand-offs per commit)${noisy}`,
        goal: GOAL,
        ratio,
        pass: three.errors === 0 && three.non2xx === 0,
      },
    ];
  } finally {
    if (own) rmSync(own, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await benchReplicas();
  for (const f of figures) console.log(`${f.name}: ${f.value} (goal: ${f.goal})${f.pass === false ? ' MISSED' : ''}`);
}
