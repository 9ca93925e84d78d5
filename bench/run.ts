// `npm run bench`: builds dist/, runs the benchmarks one after another (never side by side: on a 2-core
// machine they would measure each other) and prints one table of figures against the goals of the
// performance issue, with the machine they were measured on. A benchmark, not a test: a missed goal is
// reported, not an exit code; the exit code is non-zero only when a benchmark could not run.
//
//   BENCH_ONLY=acceptance|pipeline|termination|pending|replicas|list   run only those (comma-separated)
//   BENCH_QUICK=1                               shorter runs, for checking the bench itself (figures not comparable)
//   BENCH_NO_BUILD=1                            use dist/ as it is
//   BENCH_KEEP=1                                keep the temporary folder (databases and server logs)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { acceptanceNotMeasured, benchAcceptance } from './acceptance.js';
import { buildDist } from './lib/ddsrv.js';
import { machineCpuSeconds, stopAllChildren, treeCpuSeconds, waitForQuietMachine } from './lib/processes.js';
import { machine, table, type BenchContext, type Figure } from './lib/report.js';
import { benchListLatency, listLatencyNotMeasured } from './list-latency.js';
import { benchPending, pendingNotMeasured } from './pending.js';
import { benchPipeline, pipelineNotMeasured } from './pipeline.js';
import { benchReplicas, replicasNotMeasured } from './replicas.js';
import { benchTermination, terminationNotMeasured } from './termination.js';

interface Bench {
  name: string;
  what: string;
  run(ctx: BenchContext): Promise<Figure[]>;
  notMeasured(why: string): Figure[];
}

const BENCHES: Bench[] = [
  { name: 'acceptance', what: 'hand-off acceptance vs a bare node:http server', run: benchAcceptance, notMeasured: acceptanceNotMeasured },
  { name: 'pipeline', what: 'the default drain pipeline for 300 instances against moto: CPU and AWS calls per instance', run: benchPipeline, notMeasured: pipelineNotMeasured },
  { name: 'termination', what: '2,000 instances due at once, against moto', run: benchTermination, notMeasured: terminationNotMeasured },
  { name: 'pending', what: 'memory and restart with 200,000 pending hand-offs', run: benchPending, notMeasured: pendingNotMeasured },
  { name: 'replicas', what: 'acceptance, 3 replicas vs 1 on PostgreSQL', run: benchReplicas, notMeasured: replicasNotMeasured },
  { name: 'list', what: 'operator list latency with 1,000,000 pending rows', run: benchListLatency, notMeasured: listLatencyNotMeasured },
];

async function main(): Promise<number> {
  const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const selected = only.length > 0 ? BENCHES.filter((b) => only.includes(b.name)) : BENCHES;
  const quick = process.env.BENCH_QUICK === '1';
  const started = new Date();

  console.log(`asg-delegated-destroy benchmark, ${started.toISOString()}${quick ? ' (BENCH_QUICK=1: short runs, figures not comparable)' : ''}`);
  const machineLines = machine();
  for (const line of machineLines) console.log(`  ${line}`);

  if (process.env.BENCH_NO_BUILD !== '1') {
    console.log('building dist/ (tsc -p tsconfig.build.json) ...');
    buildDist();
  }

  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-bench-'));
  const reported: { noise?: number } = {};
  const ctx: BenchContext = { quick, tmp, log: (line) => console.log(line), noise: (cores) => void (reported.noise = cores) };
  const figures: Figure[] = [];
  let crashed = 0;
  const noisyBenches: string[] = [];
  try {
    for (const bench of selected) {
      console.log(`\n== ${bench.name}: ${bench.what}`);
      // Other work on a 2-core machine changes every figure: wait for it to pass, and measure it during the bench.
      const waited = await waitForQuietMachine();
      if (waited > 0) console.log(`  waited ${(waited / 1000).toFixed(0)} s for other work on the machine to stop`);
      const t = performance.now();
      delete reported.noise;
      const machine0 = machineCpuSeconds();
      const tree0 = treeCpuSeconds();
      try {
        figures.push(...(await bench.run(ctx)));
      } catch (err) {
        crashed += 1;
        console.log(`  FAILED: ${(err as Error).stack ?? String(err)}`);
        figures.push(...bench.notMeasured(`the benchmark failed: ${(err as Error).message.split('\n')[0]}`));
      } finally {
        await stopAllChildren();
      }
      const seconds = (performance.now() - t) / 1000;
      const machine1 = machineCpuSeconds();
      const others = Math.max(0, (machine1.busy - machine0.busy - (treeCpuSeconds() - tree0)) / seconds);
      const steal = (machine1.steal - machine0.steal) / seconds;
      // A bench that measured the noise during its own measured runs has the last word.
      const reportedNoise = reported.noise as number | undefined; // set by the bench meanwhile
      const noise = reportedNoise ?? others + steal;
      const noisy = noise > 0.15;
      if (noisy) noisyBenches.push(`${bench.name} (${noise.toFixed(2)} cores of other work)`);
      console.log(
        `  (${seconds.toFixed(1)} s; other work on the machine meanwhile: ${others.toFixed(2)} cores, stolen ${steal.toFixed(2)}` +
          (reportedNoise !== undefined ? `; during the reported measurements: ${reportedNoise.toFixed(2)} cores` : '') +
          `${noisy ? ' <- NOISY' : ''})`,
      );
    }
  } finally {
    await stopAllChildren();
    if (process.env.BENCH_KEEP === '1') console.log(`\nkept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\nResults (${started.toISOString()}; ${machineLines[0]}; ${machineLines[1]})${quick ? ' [QUICK]' : ''}\n`);
  console.log(table(figures));
  const goals = figures.filter((f) => !f.info && !f.reportedOnly);
  const missed = goals.filter((f) => f.pass === false).length;
  const unmeasured = goals.filter((f) => f.pass === null).length;
  console.log(`\n${goals.length - missed - unmeasured} of ${goals.length} goals met, ${missed} missed, ${unmeasured} not measured`);
  if (noisyBenches.length > 0) {
    console.log(`NOISY: other processes used CPU during ${noisyBenches.join('; ')}: those figures are pessimistic, run again on a quiet machine`);
  }
  return crashed > 0 ? 1 : 0;
}

// Ctrl-C or a kill: stop the servers (moto's helper stops moto on exit) before going.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping child processes`);
    void stopAllChildren().finally(() => process.exit(130));
  });
}

process.exit(await main());
