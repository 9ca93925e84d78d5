// The default drain pipeline end to end, as users run it: what the service's own CPU and AWS calls cost
// per instance, from hand-off to terminated.
//
// Why: most of a termination's work is not the hand-off but the pipeline behind it (leave the Auto Scaling
// group, deregister from the target group and the classic ELB, wait for the drain, terminate), with a
// database write per step. The goal is at most 1.25 ms of the service's CPU per instance with the AWS calls
// of today (0.16-0.18 per instance for this fleet): half of what it cost when the goal was set.
//
// How (lib/pipeline-run.ts): a real moto_server behind the test fault proxy, which counts every AWS action;
// 300 instances in two Auto Scaling groups of 150, each attached to its own target group, and all 300 in
// one classic ELB. The service runs with the default policy and --delay 15s, and 16 clients hand the
// instances off one per request with the full Skopos document; the drain is done before the first is due.
// CPU is the service process's own (from /proc) from the first hand-off to the last termination; start-up
// is excluded, moto is not counted. Afterwards moto must show every instance terminated, both groups' desired
// capacity down by 150 and no replacement launched. Three runs (one with BENCH_QUICK), each on a reset moto
// and a fresh service; the figure is their median.
//
// BENCH_CPU_PROF=DIR profiles the service (node --cpu-prof, written at its clean stop); see bench/profile.ts.
// BENCH_SQL_COUNT=1 adds a run that counts the service's SQL statements and WAL syncs (lib/count-sql.mjs).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { startMoto, type Moto } from '../test/helpers/moto.js';
import { describeRun, verified } from './lib/pipeline-report.js';
import { CLIENTS, GROUPS, PER_GROUP, runPipeline, type PipelineRun } from './lib/pipeline-run.js';
import { fixed, notMeasured, type BenchContext, type Figure } from './lib/report.js';

const INSTANCES = GROUPS * PER_GROUP;
/** The goal of the refactor: half of the 1.9-2.7 ms measured from outside when it was set. */
export const CPU_GOAL_MS = 1.25;
/** Today's AWS calls per instance for this fleet (kept by the refactor). */
export const CALLS_GOAL = 0.18;
const NOISE_CORES = 0.15;

const CPU_FIGURE = `ddsrv CPU per instance, hand-off -> terminated (${INSTANCES}, ${CLIENTS} clients)`;
const CALLS_FIGURE = 'AWS calls per instance';
const TIME_FIGURE = 'due -> all terminated';
const DONE_FIGURE = 'all terminated, groups -150 each, none relaunched';

export const pipelineNotMeasured = (why: string): Figure[] => [
  notMeasured('pipeline', CPU_FIGURE, `<= ${CPU_GOAL_MS} ms`, why),
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

export async function benchPipeline(ctx: BenchContext): Promise<Figure[]> {
  const rounds = ctx.quick ? 1 : 3;
  const profileDir = process.env.BENCH_CPU_PROF;
  const runs = await withMoto(async (moto, proxy) => {
    const out: PipelineRun[] = [];
    for (let i = 1; i <= rounds; i++) {
      const dir = join(ctx.tmp, 'pipeline', `run-${i}`);
      mkdirSync(dir, { recursive: true });
      ctx.log(`  run ${i} of ${rounds}:`);
      const run = await runPipeline({ moto, proxy, dir, log: ctx.log, ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) });
      for (const line of describeRun(run)) ctx.log(`    ${line}`);
      out.push(run);
    }
    if (profileDir) ctx.log(`  CPU profiles of ddsrv written to ${profileDir}: node --import tsx bench/profile.ts FILE --from S (S: the seconds after spawn above)`);
    if (process.env.BENCH_SQL_COUNT === '1') {
      const dir = join(ctx.tmp, 'pipeline', 'sql-count');
      mkdirSync(dir, { recursive: true });
      ctx.log('  BENCH_SQL_COUNT=1: one more run with every SQL statement counted (lib/count-sql.mjs; not in the figures):');
      for (const line of describeRun(await runPipeline({ moto, proxy, dir, log: ctx.log, countSql: true }))) ctx.log(`    ${line}`);
    }
    return out;
  });
  if (!runs) return pipelineNotMeasured('moto_server is not on PATH');

  const noise = Math.max(...runs.map((r) => r.noise));
  ctx.noise?.(noise);
  const noisy = noise > NOISE_CORES ? ' NOISY' : '';
  const cpu = runs.map(cpuMsPerInstance);
  const calls = runs.map(callsPerInstance);
  const cpuMs = median(cpu);
  const callsMedian = median(calls);
  const range = (xs: number[], digits: number) => (xs.length > 1 ? `; ${fixed(Math.min(...xs), digits)}-${fixed(Math.max(...xs), digits)} over ${xs.length} runs` : '');
  const done = runs.filter(verified).length;
  const lastDue = median(runs.map((r) => r.fromLastDue));
  const firstDue = median(runs.map((r) => r.fromFirstDue));
  return [
    {
      bench: 'pipeline',
      name: CPU_FIGURE,
      value: `${fixed(cpuMs, 2)} ms (median${range(cpu, 2)}; start-up excluded)${noisy}`,
      goal: `<= ${CPU_GOAL_MS} ms`,
      ratio: cpuMs / CPU_GOAL_MS,
      pass: cpuMs <= CPU_GOAL_MS,
    },
    {
      bench: 'pipeline',
      name: CALLS_FIGURE,
      value: `${fixed(callsMedian, 3)} (${Math.round(callsMedian * INSTANCES)} calls${range(calls, 3)})`,
      goal: `<= ${CALLS_GOAL} (today's)`,
      ratio: callsMedian / CALLS_GOAL,
      pass: Math.max(...calls) <= CALLS_GOAL,
    },
    {
      bench: 'pipeline',
      name: TIME_FIGURE,
      value: `${fixed(lastDue, 2)} s after the last due (${fixed(firstDue, 2)} s after the first), median`,
      goal: 'reported',
      ratio: null,
      pass: true,
      reportedOnly: true,
    },
    {
      bench: 'pipeline',
      name: DONE_FIGURE,
      value: `${done} of ${runs.length} runs`,
      goal: 'all, in moto',
      ratio: done / runs.length,
      pass: done === runs.length,
    },
  ];
}
