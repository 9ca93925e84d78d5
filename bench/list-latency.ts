// The operator list endpoint with a million pending terminations: p50/p99 of GET /api/v1/terminations
// for the first page, filtered pages and deep cursor pages, and the /metrics scrape.
//
// Why: operators (and the dashboard, every 5 s) list the schedule while it is at its largest; a list that
// scans or sorts the table would stall the single SQLite connection that hand-offs need too. Goal: p99
// under 50 ms for every page shape.
//
// How: the real migrations create the database; then 1,000,000 pending rows (10 projects, 5 components, 4
// regions, due in a day so the worker leaves them alone; 20 rows of a "rare" project among the oldest)
// are written straight into SQLite with multi-row INSERTs in transactions of 100,000 rows. The built
// server (`node dist/cli.js serve`) is started on that file, and each URL is requested sequentially over
// one keep-alive connection (the latency a person or the dashboard sees), after a warm-up.
//
//   node --import tsx bench/list-latency.ts          (BENCH_QUICK=1: 100,000 rows; BENCH_NO_BUILD=1: use dist/ as is)
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { encodeCursor } from '../src/api/routes/operator.js';
import { openStore } from '../src/store/open.js';
import { buildDist, startDdsrv, type Ddsrv } from './lib/ddsrv.js';
import { fixed, int, machine, notMeasured, type BenchContext, type Figure } from './lib/report.js';

const GOAL_MS = 50;
const PROJECTS = 10;
const COMPONENTS = ['web', 'worker', 'api', 'cron', 'batch'];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const COLUMNS = [
  'instance_id', 'region', 'state', 'step', 'due_at', 'next_attempt_at', 'lease_owner', 'attempts', 'reason', 'project', 'component',
  'ip_address', 'user_data', 'requested_by', 'source_ip', 'user_agent', 'created_at', 'updated_at',
];

export const listLatencyNotMeasured = (why: string): Figure[] => [notMeasured('list', 'GET /api/v1/terminations p99', `< ${GOAL_MS} ms`, why)];

/** Writes `count` pending rows; returns how long it took (ms). */
async function fill(dbPath: string, count: number): Promise<number> {
  await (await openStore({ database: dbPath })).close();
  const t0 = performance.now();
  const db = new BetterSqlite3(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // filling a bench fixture, not recording hand-offs
  const perInsert = 500;
  const insert = db.prepare(`INSERT INTO terminations (${COLUMNS.join(', ')}) VALUES ${Array(perInsert).fill(`(${COLUMNS.map(() => '?').join(', ')})`).join(', ')}`);
  const now = Date.now();
  const due = now + 86_400_000;
  const row = (i: number): unknown[] => {
    const rare = i < 20;
    return [
      `i-${i.toString(16).padStart(17, '0')}`,
      REGIONS[i % REGIONS.length],
      'pending',
      'asg_detach',
      due + i,
      due + i,
      null,
      0,
      null,
      rare ? 'rare' : `project-${i % PROJECTS}`,
      COMPONENTS[Math.floor(i / 7) % COMPONENTS.length],
      '10.0.0.1',
      '{"build":1}',
      'basic:skopos',
      '127.0.0.1',
      'skopos/1',
      now - (count - i),
      now - (count - i),
    ];
  };
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i += perInsert) insert.run(...Array.from({ length: perInsert }, (_, k) => row(i + k)).flat());
  });
  for (let from = 0; from < count; from += 100_000) batch(from, Math.min(count, from + 100_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return performance.now() - t0;
}

/** What a /metrics scrape costs when its 5 s cache has expired: the gauge's count per active state. */
function coldCountMs(dbPath: string): number {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const count = db.prepare('SELECT count(*) AS n FROM terminations WHERE state = ?');
    const t0 = performance.now();
    for (const state of ['pending', 'draining', 'terminating']) count.get(state);
    return performance.now() - t0;
  } finally {
    db.close();
  }
}

function get(agent: Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(agent: Agent, port: number, path: string, n: number): Promise<{ p50: number; p99: number; max: number; items: number }> {
  let items = 0;
  for (let i = 0; i < 20; i++) await get(agent, port, path); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await get(agent, port, path);
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    if (i === 0 && path.startsWith('/api/')) items = (JSON.parse(res.body) as { items: unknown[] }).items.length;
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times[times.length - 1]!, items };
}

export async function benchListLatency(ctx: BenchContext): Promise<Figure[]> {
  const count = ctx.quick ? 100_000 : 1_000_000;
  const n = ctx.quick ? 100 : 500;
  const dir = join(ctx.tmp, 'list');
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'ddsrv.db');
  const fillMs = await fill(dbPath, count);
  ctx.log(`  ${int(count)} pending rows written in ${fixed(fillMs / 1000, 1)} s (direct multi-row INSERTs, 100,000 per transaction)`);
  coldCountMs(dbPath); // page the index in, as a running server has it
  const countMs = coldCountMs(dbPath);
  ctx.log(`  /metrics gauge, uncached (count of each active state): ${fixed(countMs, 1)} ms, at most once per 5 s`);

  let server: Ddsrv | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    server = await startDdsrv({ dbPath, logPath: join(dir, 'ddsrv.log'), delay: '1d', logLevel: 'warn', env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1' } });
    ctx.log(`  server ready in ${fixed(server.readyMs / 1000, 2)} s on the ${int(count)}-row database`);
    const deep = 100; // a cursor near the oldest rows: the last pages of the schedule
    const cases: [string, string][] = [
      ['first page', '/api/v1/terminations?limit=50'],
      ['state=pending', '/api/v1/terminations?state=pending&limit=50'],
      ['dashboard: in progress (3 states)', '/api/v1/terminations?state=pending,draining,terminating&limit=50'],
      ['dashboard: outcomes (7 states, none exist)', '/api/v1/terminations?state=terminated,stopped,gone,cancelled,refused,failed,dry_run&limit=50'],
      ['project + state', '/api/v1/terminations?state=pending&project=project-7&limit=50'],
      ['component (no state: 10 seeks)', '/api/v1/terminations?component=worker&limit=50'],
      ['rare project (20 oldest rows)', '/api/v1/terminations?project=rare&limit=50'],
      ['instance id', `/api/v1/terminations?instance_id=i-${(count - 7).toString(16).padStart(17, '0')}`],
      ['deep cursor page', `/api/v1/terminations?limit=50&cursor=${encodeCursor(deep + 50)}`],
      ['deep cursor, project filter', `/api/v1/terminations?limit=50&project=project-3&cursor=${encodeCursor(deep * 10)}`],
      ['limit=500', '/api/v1/terminations?limit=500'],
      ['GET /metrics (counts by state)', '/metrics'],
    ];
    const figures: Figure[] = [];
    ctx.log(`  ${n} sequential requests each, one keep-alive connection:`);
    for (const [name, path] of cases) {
      const r = await measure(agent, server.port, path, n);
      ctx.log(`    ${name.padEnd(44)} p50 ${fixed(r.p50, 2).padStart(7)} ms   p99 ${fixed(r.p99, 2).padStart(7)} ms   max ${fixed(r.max, 1).padStart(6)} ms${path.startsWith('/api/') ? `   (${r.items} items)` : ''}`);
      const isMetrics = path === '/metrics';
      figures.push({ bench: 'list', name: `${name}, ${int(count)} rows`, value: `p50 ${fixed(r.p50, 2)} ms, p99 ${fixed(r.p99, 2)} ms`, goal: isMetrics ? 'reported' : `p99 < ${GOAL_MS} ms`, ratio: isMetrics ? null : r.p99 / GOAL_MS, pass: isMetrics ? null : r.p99 < GOAL_MS, reportedOnly: isMetrics });
    }
    return figures;
  } finally {
    agent.destroy();
    await server?.child.stop('SIGTERM');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.env.BENCH_QUICK === '1';
  const tmp = mkdtempSync(join(tmpdir(), 'ddsrv-bench-list-'));
  console.log(`list latency benchmark, ${new Date().toISOString()}${quick ? ' (BENCH_QUICK=1)' : ''}`);
  for (const line of machine()) console.log(`  ${line}`);
  if (process.env.BENCH_NO_BUILD !== '1') buildDist();
  benchListLatency({ quick, tmp, log: (line) => console.log(line) })
    .then((figures) => {
      const missed = figures.filter((f) => f.pass === false);
      console.log(missed.length === 0 ? 'every list page met its goal' : `missed: ${missed.map((f) => f.name).join('; ')}`);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => rmSync(tmp, { recursive: true, force: true }));
}
