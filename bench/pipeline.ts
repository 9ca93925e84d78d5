// The default drain pipeline end to end, as users run it: what the service's own CPU and AWS calls cost
// per instance, from hand-off to terminated.
//
// Why: most of a termination's work is not the hand-off but the pipeline behind it (leave the Auto Scaling
// group, deregister from the target group and the classic ELB, wait for the drain, terminate), with a
// database write per step. The goal is at most 1.25 ms of the service's CPU per instance, with the AWS
// calls of today.
//
// How (lib/pipeline-run.ts): a real moto_server behind the test fault proxy, which counts every AWS action;
// 300 instances in two Auto Scaling groups of 150, each attached to its own target group, and all 300 in
// one classic ELB. The service runs with the default policy and --delay 15s, and 16 clients hand the
// instances off one per request with the full Skopos document; the drain is done before the first is due.
// CPU is the service process's own (from /proc) from the first hand-off to the last termination; start-up
// is excluded, moto is not counted. Each service gets two such waves, each on a reset moto: the first
// pays the service's first-use costs (cold), the second is the steady state (warm), which the goal is
// about. Afterwards moto must show every instance terminated, both groups' desired capacity down by 150 and
// no replacement launched. Three services (one with BENCH_QUICK); the figures are medians.
//
// BENCH_CPU_PROF=DIR profiles the service (node --cpu-prof, written at its clean stop); see bench/profile.ts.
// BENCH_PERF=1 starts the service with V8's perf map (JS function names for Linux perf) and prints each
// wave's pid and window for `perf script`; see bench/perf-summary.ts.
// BENCH_SQL_COUNT=1 adds a service that counts its SQL statements and WAL syncs (lib/count-sql.mjs).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { startMoto, type Moto } from '../test/helpers/moto.js';
import { describeRun, verified } from './lib/pipeline-report.js';
import { CLIENTS, GROUPS, PER_GROUP, runPipeline, type PipelineRun } from './lib/pipeline-run.js';
import { fixed, notMeasured, type BenchContext, type Figure } from './lib/report.js';

const INSTANCES = GROUPS * PER_GROUP;
/** The goal of the refactor (issue 15): half of the 1.9-2.7 ms per instance measured when it was set. */
export const CPU_GOAL_MS = 1.25;
/** AWS calls per instance on main when the goal was set (the median of a run; 0.18-0.25 seen), to keep. */
export const CALLS_GOAL = 0.25;
const NOISE_CORES = 0.15;
/** JS function names for Linux perf, interpreted frames included (bench/perf-summary.ts). */
export const PERF_MAP_ARGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];
/** Waves per service: the first cold, the second warm. */
export const WAVES = 2;

const WARM_FIGURE = `ddsrv CPU per instance, warm (${INSTANCES}, ${CLIENTS} clients)`;
const COLD_FIGURE = 'the same, first wave after start (cold)';
const CALLS_FIGURE = 'AWS calls per instance';
const TIME_FIGURE = 'due -> all terminated';
const DONE_FIGURE = 'all terminated, groups -150 each, none relaunched';

export const pipelineNotMeasured = (why: string): Figure[] => [
  notMeasured('pipeline', WARM_FIGURE, `<= ${CPU_GOAL_MS} ms`, why),
  { ...notMeasured('pipeline', COLD_FIGURE, 'reported', why), reportedOnly: true },
  notMeasured('pipeline', CALLS_FIGURE, `<= ${CALLS_GOAL}`, why),
  { ...notMeasured('pipeline', TIME_FIGURE, 'reported', why), reportedOnly: true },
  notMeasured('pipeline', DONE_FIGURE, 'all, in moto', why),
];

/** Starts moto and the counting proxy for `use`, and stops them afterwards; undefined without moto_server. */
export async function withMoto<T>(use: (moto: Moto, proxy: FaultProxy) => Promise<T>): Promise<T | undefined> {
  const moto = await startMoto();
  if (!moto) return undefined;
  let proxy: FaultProxy | undefined;
  try {
    proxy = await startFaultProxy(moto.endpoint);
    return await use(moto, proxy);
  } finally {
    await proxy?.stop();
    await moto.stop();
  }
}

export const cpuMsPerInstance = (r: PipelineRun): number => (r.cpu.total * 1000) / r.instances;
export const callsPerInstance = (r: PipelineRun): number => r.aws.total / r.instances;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** "median (min-max over N)" of a figure. */
export function spread(xs: number[], digits: number): string {
  return xs.length > 1 ? `${fixed(median(xs), digits)} (${fixed(Math.min(...xs), digits)}-${fixed(Math.max(...xs), digits)} over ${xs.length})` : fixed(xs[0]!, digits);
}

export async function benchPipeline(ctx: BenchContext): Promise<Figure[]> {
  const services = ctx.quick ? 1 : 3;
  const profileDir = process.env.BENCH_CPU_PROF;
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(process.env.BENCH_PERF === '1' ? PERF_MAP_ARGS : [])];
  const waves = await withMoto(async (moto, proxy) => {
    const out: PipelineRun[][] = [];
    for (let i = 1; i <= services; i++) {
      const dir = join(ctx.tmp, 'pipeline', `service-${i}`);
      mkdirSync(dir, { recursive: true });
      ctx.log(`  service ${i} of ${services}, ${WAVES} waves:`);
      const runs = await runPipeline({ moto, proxy, dir, log: ctx.log, nodeArgs }, WAVES);
      for (const run of runs) for (const line of describeRun(run)) ctx.log(`      ${line}`);
      out.push(runs);
    }
    if (profileDir) ctx.log(`  CPU profiles of ddsrv written to ${profileDir}: node --import tsx bench/profile.ts FILE --from S (S: the seconds after spawn above)`);
    if (process.env.BENCH_SQL_COUNT === '1') {
      const dir = join(ctx.tmp, 'pipeline', 'sql-count');
      mkdirSync(dir, { recursive: true });
      ctx.log('  BENCH_SQL_COUNT=1: one more service with every SQL statement counted (lib/count-sql.mjs; not in the figures):');
      for (const run of await runPipeline({ moto, proxy, dir, log: ctx.log, countSql: true }, WAVES)) for (const line of describeRun(run)) ctx.log(`      ${line}`);
    }
    return out;
  });
  if (!waves) return pipelineNotMeasured('moto_server is not on PATH');

  const all = waves.flat();
  const noise = Math.max(...all.map((r) => r.noise));
  ctx.noise?.(noise);
  const noisy = noise > NOISE_CORES ? ' NOISY' : '';
  const warm = waves.map((w) => cpuMsPerInstance(w[WAVES - 1]!));
  const cold = waves.map((w) => cpuMsPerInstance(w[0]!));
  const calls = all.map(callsPerInstance);
  const terminateCalls = all.map((r) => r.aws.byAction.TerminateInstances ?? 0);
  const done = all.filter(verified).length;
  return [
    {
      bench: 'pipeline',
      name: WARM_FIGURE,
      value: `${spread(warm, 2)} ms, hand-off -> terminated${noisy}`,
      goal: `<= ${CPU_GOAL_MS} ms`,
      ratio: median(warm) / CPU_GOAL_MS,
      pass: median(warm) <= CPU_GOAL_MS,
    },
    {
      bench: 'pipeline',
      name: COLD_FIGURE,
      value: `${spread(cold, 2)} ms (start-up itself excluded)${noisy}`,
      goal: 'reported',
      ratio: median(cold) / CPU_GOAL_MS,
      pass: true,
      reportedOnly: true,
    },
    {
      bench: 'pipeline',
      name: CALLS_FIGURE,
      value: `${spread(calls, 3)}; TerminateInstances ${spread(terminateCalls, 0)} a wave`,
      goal: `<= ${CALLS_GOAL} (main's)`,
      ratio: median(calls) / CALLS_GOAL,
      pass: median(calls) <= CALLS_GOAL,
    },
    {
      bench: 'pipeline',
      name: TIME_FIGURE,
      value: `${spread(all.map((r) => r.fromLastDue), 2)} s after the last due; ${spread(all.map((r) => r.fromFirstDue), 2)} s after the first`,
      goal: 'reported',
      ratio: null,
      pass: true,
      reportedOnly: true,
    },
    {
      bench: 'pipeline',
      name: DONE_FIGURE,
      value: `${done} of ${all.length} waves`,
      goal: 'all, in moto',
      ratio: done / all.length,
      pass: done === all.length,
    },
  ];
}
