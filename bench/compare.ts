// Compares builds of the service side by side on the same machine in the same minutes; runs measured
// minutes apart on this machine differ by more than most changes do (docs/performance.md).
//
//   node --import tsx bench/compare.ts DIR[@VAR=value,...] [DIR[@VAR=value,...] ...]
//   node --import tsx bench/compare.ts --pipeline [--passes N] [--waves N] [--node-args="..."] DIR[@VAR=value,...] ...
//
// Each DIR holds a built service (DIR/dist/cli.js), e.g. a `git worktree add /tmp/before main` after
// `npm ci && npm run build` in it; `.` is this checkout (build it first). `@VAR=value,...` adds to that
// server's environment (DDSRV_LOG_LEVEL=warn sets its --log-level in the acceptance mode), so one build can
// run twice with different settings.
// - Default, the acceptance load: all builds running at once, taking turns in slices next to the bare
//   node:http baseline (acceptance.ts's measureInterleaved). Prints requests/s, p99 and server CPU per
//   hand-off for each.
// - --pipeline: the pipeline bench's scenario (lib/pipeline-run.ts: a service, a cold and a warm wave) for
//   each build in turn, in passes that alternate the order (A B, B A, A B, B A for the default 4 passes), on
//   one moto reset before each wave. Prints every wave, then for each build the medians and ranges of the
//   service's CPU per instance (warm and cold) and of the AWS calls per instance. --waves N runs N waves per
//   service (default 2; "warm" is then the last); --node-args="--trace-opt ..." passes flags to node.
// BENCH_KEEP=1 keeps the temp folder (each service's database and log).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BARE, measureInterleaved, NO_AWS, startScript, type Target } from './acceptance.js';
import { ACCEPTANCE_POLICY, startDdsrv } from './lib/ddsrv.js';
import { HandOffLoad } from './lib/load.js';
import { describeRun, verified } from './lib/pipeline-report.js';
import { runPipeline, type PipelineRun } from './lib/pipeline-run.js';
import { stopAllChildren } from './lib/processes.js';
import { fixed, int } from './lib/report.js';
import { callsPerInstance, cpuMsPerInstance, median, spread, WAVES, withMoto } from './pipeline.js';

interface Build {
  label: string;
  cli: string;
  env: Record<string, string>;
}

/** `DIR@A=1,B=2` -> the build's cli.js and the extra environment of its server. */
function parseBuild(arg: string, i: number): Build {
  const at = arg.indexOf('@');
  const dir = at < 0 ? arg : arg.slice(0, at);
  const env: Record<string, string> = {};
  for (const pair of at < 0 ? [] : arg.slice(at + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`'${pair}' in '${arg}' is not VAR=value`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { label: `${arg} (#${i + 1})`, cli: join(resolve(dir), 'dist', 'cli.js'), env };
}

async function compareAcceptance(builds: Build[], tmp: string): Promise<void> {
  const bare = await startScript('bare node:http', BARE);
  const targets: Target[] = [bare.target];
  for (const [i, b] of builds.entries()) {
    const at = join(tmp, String(i));
    mkdirSync(at);
    const server = await startDdsrv({
      dbPath: join(at, 'ddsrv.db'),
      logPath: join(at, 'ddsrv.log'),
      delay: '1d',
      env: { ...NO_AWS, ...b.env },
      ...(b.env.DDSRV_LOG_LEVEL ? { logLevel: b.env.DDSRV_LOG_LEVEL } : {}),
      policy: ACCEPTANCE_POLICY,
      cli: b.cli,
    });
    targets.push({ name: b.label, origin: `http://127.0.0.1:${server.port}`, pid: server.child.pid, load: new HandOffLoad() });
  }
  const log = (line: string) => console.log(line);
  const measured = await measureInterleaved({ quick: false, tmp, log }, targets, { warmup: 2, duration: 10, slices: 5 });
  const base = measured[0]!;
  console.log('');
  measured.forEach((m, i) => {
    console.log(
      `${targets[i]!.name.padEnd(40)} ${int(m.rps).padStart(7)} req/s  ${fixed(m.rps / base.rps)}x bare   p99 ${fixed(m.p99)} ms  ${fixed(m.p99 / base.p99)}x bare   ` +
        `CPU ${fixed(m.cpuUsPerOk, 1)} µs per hand-off`,
    );
  });
}

async function comparePipeline(builds: Build[], passes: number, waves: number, nodeArgs: string[], tmp: string): Promise<boolean> {
  const runs = builds.map(() => [] as PipelineRun[][]);
  const done = await withMoto(async (moto, proxy) => {
    for (let pass = 0; pass < passes; pass++) {
      const order = builds.map((_, i) => i);
      if (pass % 2 === 1) order.reverse();
      for (const i of order) {
        const dir = join(tmp, `pass-${pass + 1}-build-${i + 1}`);
        mkdirSync(dir);
        console.log(`pass ${pass + 1} of ${passes}: ${builds[i]!.label}`);
        const service = await runPipeline({ moto, proxy, dir, cli: builds[i]!.cli, env: builds[i]!.env, nodeArgs, log: (l) => console.log(l) }, waves);
        for (const run of service) for (const line of describeRun(run)) console.log(`      ${line}`);
        runs[i]!.push(service);
      }
    }
    return true;
  });
  if (!done) {
    console.error('moto_server is not on PATH');
    return false;
  }
  console.log('\nservice CPU per instance (ms, warm and cold waves) and AWS calls per instance: median (min-max over the passes):');
  builds.forEach((b, i) => {
    const services = runs[i]!;
    const all = services.flat();
    const noisy = all.filter((x) => x.noise > 0.15).length;
    console.log(
      `${b.label.padEnd(40)} warm ${spread(services.map((w) => cpuMsPerInstance(w[waves - 1]!)), 2)} (main thread ${spread(services.map((w) => (w[waves - 1]!.cpu.mainThread * 1000) / w[waves - 1]!.instances), 2)})   ` +
        `cold ${spread(services.map((w) => cpuMsPerInstance(w[0]!)), 2)}   ` +
        `calls ${spread(all.map(callsPerInstance), 3)}   due->done ${fixed(median(all.map((x) => x.fromLastDue)), 2)} s   verified ${all.filter(verified).length}/${all.length}` +
        (noisy > 0 ? `   (${noisy} noisy wave${noisy > 1 ? 's' : ''})` : ''),
    );
  });
  return true;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { pipeline: { type: 'boolean' }, passes: { type: 'string' }, waves: { type: 'string' }, 'node-args': { type: 'string' } },
  });
  if (positionals.length === 0) {
    console.error('usage: node --import tsx bench/compare.ts [--pipeline [--passes N] [--waves N] [--node-args="..."]] DIR[@VAR=value,...] ...   (each DIR holds a built dist/cli.js)');
    return 2;
  }
  const builds = positionals.map(parseBuild);
  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-compare-'));
  try {
    if (!values.pipeline) await compareAcceptance(builds, tmp);
    else if (!(await comparePipeline(builds, Number(values.passes ?? 4), Number(values.waves ?? WAVES), (values['node-args'] ?? '').split(' ').filter(Boolean), tmp))) return 1;
    return 0;
  } finally {
    await stopAllChildren();
    if (process.env.BENCH_KEEP === '1') console.log(`kept ${tmp} (the services' databases and logs)`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
