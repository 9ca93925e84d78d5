// Summarizes Linux `perf` samples of the service as text: its real CPU time on every thread (the main
// thread, V8's helpers, libuv's pool), kernel included, by kind of work and by function. V8's own profiler
// (bench/profile.ts) sees the main thread only and samples on a wall clock, so on a busy machine it also
// charges the time the thread was preempted; `perf` samples only what ran.
//
//   BENCH_PERF=1 BENCH_NO_BUILD=1 BENCH_ONLY=pipeline perf record -F 999 -a -g -k CLOCK_MONOTONIC -o perf.data -- npm run bench
//   perf script -i perf.data --pid PID --time T0,T1 -F tid,time,ip,sym,dso > samples.txt   (a wave's "perf: ..." line)
//   node --import tsx bench/perf-summary.ts samples.txt --main PID [--hz 999] [--per 300] [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kindOfPackage, packageOfUrl } from './lib/work-kinds.js';

interface Frame {
  sym: string;
  dso: string;
  /** For a JS frame (from the perf map): its script URL. */
  url?: string;
}
interface Sample {
  tid: number;
  /** Leaf first. */
  stack: Frame[];
}

function parseFrame(line: string): Frame {
  // "\t    7fecdf15db55 JS:^writevGeneric node:internal/stream_base_commons:123:23 (/tmp/perf-1.map)"
  const m = /^\s*[0-9a-f]+ (.*) \(([^)]*)\)\s*$/.exec(line);
  if (!m) return { sym: line.trim(), dso: '' };
  const [, sym, dso] = m as unknown as [string, string, string];
  if (sym.startsWith('JS:')) {
    const where = sym.slice(sym.lastIndexOf(' ') + 1);
    return { sym, dso, url: where.replace(/:\d+:\d+$/, '') };
  }
  return { sym, dso };
}

function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  let current: Sample | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      current = { tid: Number.parseInt(line.trim(), 10), stack: [] };
      out.push(current);
    } else current?.stack.push(parseFrame(line));
  }
  return out;
}

const GC = /v8::internal::(Heap::|Scavenge|MarkCompact|ConcurrentMarking|Sweeper|MinorMarkSweep|MinorMS|GCTracer|IncrementalMarking|MarkingBarrier|ArrayBufferSweeper)/;
const COMPILER = /v8::internal::(compiler::|maglev::|turboshaft::|Compiler::|BaselineBatchCompiler|Parser::|PreParser)/;

/** The kind of work a sample was: the first frame from the leaf up that says (see lib/work-kinds.ts). */
function kindOf(s: Sample): string {
  for (const f of s.stack) {
    if (GC.test(f.sym)) return 'GC';
    if (COMPILER.test(f.sym)) return 'V8 compiler (JIT, parsing)';
    if (f.dso.includes('better_sqlite3')) return 'SQL: better-sqlite3 (SQLite itself)';
    if (/fdatasync/.test(f.sym)) return 'WAL fdatasync';
    if (f.url === undefined) continue;
    const pkg = packageOfUrl(f.url);
    const kind = pkg === undefined ? undefined : kindOfPackage(pkg);
    if (kind !== undefined) return kind;
  }
  if (s.stack.some((f) => /uv__fs_work/.test(f.sym))) return 'file writes on the thread pool (the log)';
  if (s.stack.some((f) => /epoll/.test(f.sym))) return 'event loop wait (epoll, timers)';
  if (s.stack.some((f) => /tcp_|inet_|sock_/.test(f.sym))) return 'network, no library up the stack (kernel)';
  const js = s.stack.find((f) => f.url !== undefined);
  if (js) return `node itself, no library up the stack (${packageOfUrl(js.url!)})`;
  return `other native (${s.stack[0]?.dso.split('/').pop() ?? '?'})`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { main: { type: 'string' }, hz: { type: 'string' }, per: { type: 'string' }, top: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || values.main === undefined) {
    console.error('usage: node --import tsx bench/perf-summary.ts SAMPLES.txt --main PID [--hz 999] [--per N] [--top N]');
    process.exit(2);
  }
  const mainTid = Number(values.main);
  const msPerSample = 1000 / Number(values.hz ?? 999);
  const per = values.per === undefined ? undefined : Number(values.per);
  const top = Number(values.top ?? 25);
  const samples = parseSamples(readFileSync(file, 'utf8'));
  const total = samples.length;
  const line = (n: number, what: string) =>
    `  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${(n * msPerSample).toFixed(0).padStart(6)} ms${per ? `  ${((n * msPerSample * 1000) / per).toFixed(1).padStart(7)} µs/${per}` : ''}  ${what}`;
  const show = (title: string, counts: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(n, k));
  };
  const count = (key: (s: Sample) => string) => {
    const m = new Map<string, number>();
    for (const s of samples) m.set(key(s), (m.get(key(s)) ?? 0) + 1);
    return m;
  };
  console.log(`${file}: ${total} samples = ${(total * msPerSample).toFixed(0)} ms of CPU`);
  show('by thread', count((s) => (s.tid === mainTid ? 'main thread' : 'other threads (V8 helpers, libuv pool)')));
  show('by kind of work (every thread; the first library up the stack decides)', count(kindOf));
  show('main thread only, by kind of work', count((s) => (s.tid === mainTid ? kindOf(s) : '(other threads)')));
  show('self, by function (leaf frame)', count((s) => `${s.stack[0]?.sym ?? '?'}${s.stack[0]?.url === undefined ? ` (${s.stack[0]?.dso.split('/').pop()})` : ''}`));
}

main();
