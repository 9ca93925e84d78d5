// What every benchmark returns (figures with their goal), the shared context it runs in, and the final
// table. The table is Markdown, so a run's output can be pasted into docs/performance.md as it is.
import { cpus, freemem, loadavg, release, totalmem, availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Figure {
  /** Which benchmark measured it. */
  bench: string;
  name: string;
  /** The measurement, in words and units (e.g. "21,034 req/s (bare 40,112)"). */
  value: string;
  goal: string;
  /** Measured ÷ baseline (acceptance) or measured ÷ limit (the others); null when not measured. */
  ratio: number | null;
  /** null: not measured (skipped or failed before measuring). */
  pass: boolean | null;
  /** Shown for context, not one of the goals (the result column says "info"). */
  info?: boolean;
  /** Measured and shown with no goal to judge it by (the result column says "reported"); implies info. */
  reportedOnly?: boolean;
}

export interface BenchContext {
  quick: boolean;
  /** A temporary folder of this run, removed at the end. */
  tmp: string;
  log(line: string): void;
  /**
   * A bench that accounts for other work during its own measurements (and repeats disturbed ones) says
   * how much it saw there; the runner then reports that instead of the noise over the whole bench.
   */
  noise?(cores: number): void;
}

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fixed = (n: number, digits = 2): string => n.toFixed(digits);
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A figure that could not be measured because its benchmark failed or was skipped. */
export function notMeasured(bench: string, name: string, goal: string, why: string): Figure {
  return { bench, name, value: `not measured: ${why}`, goal, ratio: null, pass: null };
}

export function machine(): string[] {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const fs = (() => {
    // Where the temporary databases live decides what an fsync costs: tmpfs would make it free.
    try {
      const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
      const tmp = process.env.TMPDIR ?? '/tmp';
      const best = mounts.filter((m) => m[1] && tmp.startsWith(m[1])).sort((a, b) => b[1]!.length - a[1]!.length)[0];
      return best ? `${best[2]} (${best[0]} on ${best[1]})` : 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  return [
    `nproc: ${availableParallelism()} (${cpu})`,
    `node: ${process.version}, ${process.platform} ${release()}`,
    `memory: ${mib(totalmem())} total, ${mib(freemem())} free`,
    `load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `temp databases on: ${fs}`,
  ];
}

export function table(figures: Figure[]): string {
  const rows = [
    ['bench', 'figure', 'measured', 'goal', 'ratio', 'result'],
    ...figures.map((f) => [
      f.bench,
      f.name,
      f.value,
      f.goal,
      f.ratio === null ? '-' : f.ratio.toFixed(2),
      f.reportedOnly ? 'reported' : f.pass === null ? 'NOT MEASURED' : f.info ? `info (${f.pass ? 'within' : 'over'})` : f.pass ? 'pass' : 'FAIL',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
