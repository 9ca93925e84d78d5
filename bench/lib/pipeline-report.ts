// The pipeline benchmark's run (lib/pipeline-run.ts) in words for the log, and the check that it did the
// whole job.
import { fixed, int } from './report.js';
import type { PipelineRun } from './pipeline-run.js';
import type { SqlCounts } from './sql-counts.js';

/** The run in a few lines, for the bench's log. */
export function describeRun(r: PipelineRun): string[] {
  const perInstance = (s: number) => `${fixed((s * 1000) / r.instances, 2)} ms`;
  const actions = Object.entries(r.aws.byAction).sort((a, b) => b[1] - a[1]).map(([a, n]) => `${a} ${n}`).join(', ');
  const groups = r.moto.groups.map((g) => `${g.name} desired ${g.desired}, members ${g.members}, targets ${g.targets}`).join('; ');
  return [
    `wave ${r.wave}: ddsrv CPU ${fixed(r.cpu.total, 2)} s = ${perInstance(r.cpu.total)} per instance (main thread ${perInstance(r.cpu.mainThread)}; /proc/PID/stat ${fixed(r.cpu.ticks, 2)} s, of which kernel ${fixed(r.cpu.kernel, 2)} s); ` +
      `moto ${fixed(r.motoCpuSeconds, 1)} s; other work ${fixed(r.noise)} cores${r.noise > 0.15 ? '  <- NOISY' : ''}`,
    `by phase, per instance: hand-off to deregistered ${perInstance(r.cpu.handOff)}, drain wait ${perInstance(r.cpu.drainWait)}, ` +
      `idle until due ${perInstance(r.cpu.idle)}, terminating ${perInstance(r.cpu.terminating)}; idle rate before the hand-offs ` +
      `${fixed(r.idleCores * 1000, 1)} ms/s (x ${fixed(r.seconds, 1)} s = ${perInstance(r.idleCores * r.seconds)} of the total)`,
    `hand-offs ${fixed(r.handOffSeconds, 2)} s, from ${fixed(r.sinceSpawn, 2)} s after the service's spawn; last drain done ${fixed(r.drainMarginMs / 1000, 2)} s before the first due; ` +
      `all terminated ${fixed(r.fromLastDue, 2)} s after the last due (${fixed(r.fromFirstDue, 2)} s after the first)`,
    `AWS calls ${r.aws.total} (${fixed(r.aws.total / r.instances, 3)} per instance): ${actions}`,
    `worker batches per step: ${Object.entries(r.db.batches).map(([step, n]) => `${step} ${n}`).join(', ')}; ` +
      `history rows ${int(r.db.historyRows)} (${fixed(r.db.historyRows / r.instances, 1)} per instance): ` +
      Object.entries(r.db.historyByEvent).map(([e, n]) => `${e} ${n}`).join(', '),
    ...(r.sql ? describeSql(r.sql, r.instances) : []),
    ...(process.env.BENCH_PERF === '1' ? [`perf: perf script --pid ${r.window.pid} --time ${r.window.from.toFixed(6)},${r.window.to.toFixed(6)} -F tid,time,ip,sym,dso`] : []),
    `afterwards: log terminate.ok ${r.ok}, database terminated ${r.db.terminated}, moto terminated ${r.moto.terminated} of ${r.instances}; ` +
      `${groups}; classic ELB members ${r.moto.inClassic}; replacements launched ${r.moto.replacements}`,
  ];
}

/** Whether moto and the database show the whole job done: all terminated, each group down by its size, nothing relaunched. */
export function verified(r: PipelineRun): boolean {
  return (
    r.ok === r.instances &&
    r.db.terminated === r.instances &&
    r.moto.terminated === r.instances &&
    r.moto.groups.every((g) => g.desired === 0 && g.members === 0 && g.targets === 0) &&
    r.moto.inClassic === 0 &&
    r.moto.replacements === 0
  );
}

/** Statements per instance by kind, and the most frequent ones. */
function describeSql(sql: SqlCounts, instances: number): string[] {
  const byKind: Record<string, number> = {};
  let total = 0;
  for (const [text, n] of Object.entries(sql.statements)) {
    const kind = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '?';
    byKind[kind] = (byKind[kind] ?? 0) + n;
    total += n;
  }
  const per = (n: number) => fixed(n / instances, 2);
  const top = Object.entries(sql.statements).sort((a, b) => b[1] - a[1]).slice(0, 12);
  return [
    `SQL statements ${int(total)} (${per(total)} per instance): ${Object.entries(byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
      `transaction functions ${sql.transactionFunctions}; WAL fdatasyncs from JS ${sql.fileSyncs} (${per(sql.fileSyncs)} per instance)`,
    ...top.map(([text, n]) => `  ${String(n).padStart(6)}  ${text.replace(/\s+/g, ' ').slice(0, 150)}`),
  ];
}
