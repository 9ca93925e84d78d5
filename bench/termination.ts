// Termination at scale: 2,000 instances fall due at the same moment; how long until all are terminated,
// and how many TerminateInstances calls it took.
//
// Why: a Skopos rollout of a large group hands off a whole generation at once. EC2 takes up to 1,000 ids
// per TerminateInstances call and throttles accounts that call too often, so the worker must batch
// (goal: <= 30 calls for 2,000 instances) and still finish promptly after the delay (goal: all done
// within 30 s of the due time).
//
// How: a real moto_server; 2,000 instances launched in it; the service's AWS endpoint is the test fault
// proxy (pass-through, no faults) in front of moto, which counts every AWS action. The instances are
// handed off as two documents of 1,000 with a 5 s delay, so they fall due together. Time runs from the
// earliest due_at the service answered to the `time` of the last "transition" log line with event
// terminate.ok; afterwards moto is asked whether every instance really is terminated.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { instanceStates, launchInstances } from '../test/helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { awsTestEnv, startMoto, type Moto } from '../test/helpers/moto.js';
import { readLog, startDdsrv, type Ddsrv } from './lib/ddsrv.js';
import { summarize, withDb } from './lib/db.js';
import { httpCall } from './lib/http.js';
import { waitFor } from './lib/processes.js';
import { fixed, int, notMeasured, type BenchContext, type Figure } from './lib/report.js';

const REGION = 'us-east-1';
const COUNT = 2000;
const PER_DOCUMENT = 1000;
const DELAY = '5s';
const FINAL_EVENTS = new Set(['terminate.ok', 'terminate.gone', 'terminate.failed', 'terminate.gave_up']);
const GOAL_SECONDS = 30;
const GOAL_CALLS = 30;

export const terminationNotMeasured = (why: string): Figure[] => [
  notMeasured('termination', `${int(COUNT)} due at once: due -> all terminated`, `<= ${GOAL_SECONDS} s`, why),
  notMeasured('termination', 'TerminateInstances calls', `<= ${GOAL_CALLS}`, why),
];

export async function benchTermination(ctx: BenchContext): Promise<Figure[]> {
  const dir = join(ctx.tmp, 'termination');
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, 'ddsrv.log');
  const dbPath = join(dir, 'ddsrv.db');
  let moto: Moto | undefined;
  let proxy: FaultProxy | undefined;
  let server: Ddsrv | undefined;
  try {
    moto = await startMoto();
    if (!moto) return terminationNotMeasured('moto_server is not on PATH');
    proxy = await startFaultProxy(moto.endpoint);

    let t = performance.now();
    const ids = await launchInstances(moto.endpoint, REGION, COUNT);
    ctx.log(`  launched ${int(ids.length)} instances in moto in ${fixed((performance.now() - t) / 1000, 1)} s`);

    server = await startDdsrv({ dbPath, logPath, delay: DELAY, env: awsTestEnv(proxy.url) });
    proxy.requests.length = 0;
    const docs: string[][] = [];
    for (let i = 0; i < ids.length; i += PER_DOCUMENT) docs.push(ids.slice(i, i + PER_DOCUMENT));
    t = performance.now();
    const answers = await Promise.all(
      docs.map((chunk) => httpCall(server!.endpoint, 'POST', JSON.stringify({ ec2_instance_ids: chunk, ec2_region: REGION }), 30_000)),
    );
    const dueAts: number[] = [];
    for (const a of answers) {
      if (a.status !== 200) throw new Error(`hand-off answered ${a.status}: ${a.body.slice(0, 300)}`);
      const body = JSON.parse(a.body) as { terminations: { due_at: string }[] };
      for (const term of body.terminations) dueAts.push(Date.parse(term.due_at));
    }
    const firstDue = Math.min(...dueAts);
    const lastDue = Math.max(...dueAts);
    ctx.log(
      `  handed off ${int(dueAts.length)} instances in ${docs.length} documents in ${fixed(performance.now() - t, 0)} ms; ` +
        `all due between ${new Date(firstDue).toISOString()} and ${new Date(lastDue).toISOString()} (${lastDue - firstDue} ms apart)`,
    );

    const timeoutMs = lastDue - Date.now() + 120_000;
    const finals = await waitFor(`${COUNT} final transitions in the log`, timeoutMs, () => {
      const lines = readLog(logPath).filter((l) => l.msg === 'transition' && FINAL_EVENTS.has(String(l.event)));
      return lines.length >= COUNT ? lines : undefined;
    }, 250);
    const transitions = readLog(logPath).filter((l) => l.msg === 'transition');
    const timeOf = (event: string) => transitions.filter((l) => l.event === event).map((l) => Date.parse(String(l.time)));
    const oks = timeOf('terminate.ok');
    // terminate.started is recorded in the history table (it may or may not be logged): read it there below.
    const retries = timeOf('terminate.retry');
    const lastOk = oks.length > 0 ? Math.max(...oks) : NaN;
    const seconds = (lastOk - firstDue) / 1000;
    const terminateCalls = proxy.count('TerminateInstances');
    const describeCalls = proxy.count('DescribeInstances');
    const otherEvents = finals.filter((l) => l.event !== 'terminate.ok').length;
    ctx.log(
      `  first terminate.ok ${fixed((Math.min(...oks) - firstDue) / 1000, 3)} s after the first due_at, ` +
        `last terminate.ok ${fixed(seconds, 3)} s; terminate.ok ${int(oks.length)}, other final events ${otherEvents}, terminate.retry ${retries.length}`,
    );
    ctx.log(
      `  AWS calls through the proxy: TerminateInstances ${terminateCalls}, DescribeInstances ${describeCalls}, all actions ${proxy.requests.length}; ` +
        `ids per TerminateInstances: ${proxy.requests.filter((r) => r.action === 'TerminateInstances').map((r) => r.instanceIds.length).join(', ')}`,
    );

    await server.child.stop();
    server = undefined;
    const db = summarize(dbPath);
    const started = withDb(dbPath, (d) =>
      d.prepare("SELECT MIN(at) AS first, MAX(at) AS last, COUNT(*) AS n FROM termination_history WHERE event = 'terminate.started'").get(),
    ) as { first: number | null; last: number | null; n: number };
    if (started.first !== null && started.last !== null) {
      ctx.log(
        `  history: ${int(started.n)} terminate.started, the first ${fixed((started.first - firstDue) / 1000, 3)} s and the last ${fixed((started.last - firstDue) / 1000, 3)} s after the first due_at`,
      );
    }
    const states = await instanceStates(moto.endpoint, REGION, ids);
    const terminatedInMoto = Object.values(states).filter((s) => s === 'terminated').length;
    ctx.log(`  afterwards: database states ${JSON.stringify(db.byState)}; moto says ${int(terminatedInMoto)} of ${int(ids.length)} terminated`);

    const allDone = oks.length === COUNT && terminatedInMoto === COUNT && db.byState.terminated === COUNT;
    return [
      {
        bench: 'termination',
        name: `${int(COUNT)} due at once: due -> all terminated`,
        value: `${fixed(seconds, 2)} s` + (allDone ? '' : ` (only ${oks.length} ok, ${terminatedInMoto} in moto)`),
        goal: `<= ${GOAL_SECONDS} s`,
        ratio: seconds / GOAL_SECONDS,
        pass: allDone && seconds <= GOAL_SECONDS,
      },
      {
        bench: 'termination',
        name: 'TerminateInstances calls',
        value: `${terminateCalls} (+${describeCalls} DescribeInstances)`,
        goal: `<= ${GOAL_CALLS}`,
        ratio: terminateCalls / GOAL_CALLS,
        pass: terminateCalls <= GOAL_CALLS,
      },
    ];
  } finally {
    await server?.child.stop();
    await proxy?.stop();
    await moto?.stop();
  }
}
