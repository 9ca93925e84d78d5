// Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. from BENCH_CPU_PROF=DIR npm run bench) as text:
// where the process spent its time, by package (self time), by function (self and inclusive time), by
// kind of work (SQL, AWS SDK, HTTP server, logging, GC: the first library found walking up from the
// sampled frame, so a socket write counts for whoever wrote) and by the service's own code (each sample
// charged to the innermost dist/ function on its stack, by file and by function). Used to explain a
// missed goal without a browser's DevTools.
//
//   node --import tsx bench/profile.ts FILE.cpuprofile [--from S] [--to S] [--top N] [--per N]
// --from/--to keep only the samples taken that many seconds after the profile started (the process's
// start), e.g. the measured run of the acceptance benchmark, leaving start-up and warm-up out.
// --per N also prints each line's time divided by N (e.g. µs per instance of the pipeline bench).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kindOfPackage, packageOfUrl } from './lib/work-kinds.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which package or part of node a frame belongs to. */
function packageOf(frame: ProfileNode['callFrame']): string {
  const pkg = packageOfUrl(frame.url);
  if (pkg !== undefined) return pkg;
  return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8 builtins)';
}

/** The kind of work a sample was, walking up from its frame; `stack` is leaf first. */
function kindOf(stack: ProfileNode['callFrame'][]): string {
  const leaf = stack[0]!;
  if (leaf.functionName === '(garbage collector)') return 'GC';
  if (leaf.functionName === '(program)') return '(program: V8/native, not attributed)';
  if (leaf.url === '' && leaf.functionName === 'fdatasync') return 'WAL fdatasync (call on the main thread)';
  for (const frame of stack) {
    if (frame.functionName === '(root)') continue;
    const kind = kindOfPackage(packageOf(frame));
    if (kind !== undefined) return kind;
  }
  const node = stack.find((f) => packageOf(f).startsWith('node:'));
  return `node itself, no library up the stack (${node ? packageOf(node) : leaf.functionName || 'native'})`;
}

/** The innermost frame of the service's own code on the stack (leaf first), or undefined. */
function ownFrame(stack: ProfileNode['callFrame'][]): ProfileNode['callFrame'] | undefined {
  return stack.find((f) => f.url.includes('/dist/') && !f.url.includes('/node_modules/'));
}

function frameName(frame: ProfileNode['callFrame']): string {
  const where = frame.url ? ` ${frame.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' }, per: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) {
    console.error('usage: node --import tsx bench/profile.ts FILE.cpuprofile [--from S] [--to S] [--top N] [--per N]');
    process.exit(2);
  }
  const top = Number(values.top ?? 25);
  const fromUs = Number(values.from ?? 0) * 1e6;
  const toUs = values.to === undefined ? Infinity : Number(values.to) * 1e6;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByPackage = new Map<string, number>();
  const selfByFrame = new Map<string, number>();
  const inclusiveByFrame = new Map<string, number>();
  const byKind = new Map<string, number>();
  const byOwnFile = new Map<string, number>();
  const byOwnFunction = new Map<string, number>();
  let total = 0;
  let at = 0; // µs since the profile started
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    if (at < fromUs || at > toUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    total += dt;
    const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + dt);
    add(selfByPackage, packageOf(node.callFrame));
    if (node.callFrame.functionName === '(idle)') continue;
    add(selfByFrame, frameName(node.callFrame));
    const stack: ProfileNode['callFrame'][] = [];
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!.callFrame);
    add(byKind, kindOf(stack));
    const own = ownFrame(stack);
    add(byOwnFile, own ? own.url.slice(own.url.indexOf('/dist/') + 1) : '(no frame of the service on the stack)');
    if (own) add(byOwnFunction, frameName(own));
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const name = frameName(byId.get(id)!.callFrame);
      if (!seen.has(name)) {
        seen.add(name);
        add(inclusiveByFrame, name);
      }
    }
  }
  const idle = selfByPackage.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
  const per = values.per === undefined ? undefined : Number(values.per);
  const perText = (us: number) => (per ? `  ${(us / per).toFixed(1).padStart(7)} µs/${per}` : '');
  const show = (title: string, m: Map<string, number>, of: number, n: number) => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${pct(us, of)}  ${(us / 1000).toFixed(0).padStart(7)} ms${perText(us)}  ${k}`);
  };
  const window = values.from !== undefined || values.to !== undefined ? ` between ${values.from ?? 0} s and ${values.to ?? 'the end'}` : '';
  console.log(`${file}${window}: ${(total / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s idle (${pct(idle, total).trim()}), ${(busy / 1e6).toFixed(2)} s busy`);
  selfByPackage.delete('(idle)');
  show('self time by package (% of busy time)', selfByPackage, busy, top);
  show('self time by function (% of busy time)', selfByFrame, busy, top);
  show('inclusive time by function (% of busy time)', inclusiveByFrame, busy, top);
  show('by kind of work (% of busy time; the first library up the stack decides)', byKind, busy, top);
  show("by the service's own file (% of busy time; each sample charged to the innermost dist/ frame)", byOwnFile, busy, top);
  show("by the service's own function (the same, by function)", byOwnFunction, busy, top);
}

main();
