// Issue 11's flood: 50 clients, each POSTing hand-offs with a 1,000,000-byte `user_data` (under the 1 MiB
// body limit, so the `user_data` limit is what answers) for 20 s, while one
// client hands off small documents. Prints the answers by status, how much the database grew, and the
// small client's p99. Before the `user_data` limit, issue 11 reported 2.4 GB of growth and a p99 of 4.2 s.
// The service runs as its own process (the built dist/cli.js), so the load's CPU is not in its event loop.
// Run from the repository root after `npm run build`: `node --import tsx docs/experiments/user-data-flood.mts`
// (~25 s). Arguments after the file go to `ddsrv serve` (e.g. `--body-limit 64KiB`).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDdsrv } from '../../bench/lib/ddsrv.js';

const dir = mkdtempSync(join(tmpdir(), 'ddsrv-flood-'));
const dbFile = join(dir, 'ddsrv.db');
const server = await startDdsrv({ dbPath: dbFile, logPath: join(dir, 'ddsrv.log'), delay: '1h', logLevel: 'warn', args: process.argv.slice(2), env: { AWS_EC2_METADATA_DISABLED: 'true' } });
const base = `http://127.0.0.1:${server.port}`;
const size = () => ['', '-wal'].reduce((n, suffix) => n + (() => { try { return statSync(dbFile + suffix).size; } catch { return 0; } })(), 0);
const before = size();
const big = JSON.stringify({ ec2_instance_id: 'i-0aaaaaaaaaaaaaaaa', ec2_region: 'us-east-1', user_data: { blob: 'x'.repeat(1_000_000) } });
const statuses = new Map<string, number>();
const until = Date.now() + 20_000;
let serial = 0;
const post = (body: string) => fetch(`${base}/delayed-termination`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const flooder = async () => {
  while (Date.now() < until) {
    // A server that refuses a body before reading it all closes the connection under the writer (EPIPE).
    const status = await post(big).then(async (res) => (await res.arrayBuffer(), String(res.status)), () => 'closed while sending');
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
};
const latencies: number[] = [];
const small = async () => {
  while (Date.now() < until) {
    const id = `i-0b${(++serial).toString(16).padStart(15, '0')}`;
    const start = performance.now();
    const res = await post(JSON.stringify({ ec2_instance_id: id, ec2_region: 'us-east-1', user_data: { note: 'small' } }));
    await res.arrayBuffer();
    latencies.push(performance.now() - start);
    if (res.status !== 200) console.log(`small hand-off answered ${res.status}`);
  }
};
await Promise.all([...Array.from({ length: 50 }, flooder), small()]);
latencies.sort((a, b) => a - b);
const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? NaN;
const large = await post(big);
console.log(`large hand-offs: ${JSON.stringify(Object.fromEntries(statuses))}; one answer: ${large.status} ${(await large.text()).slice(0, 200)}`);
console.log(`small hand-offs: ${latencies.length}, p99 ${p99.toFixed(1)} ms; database + WAL grew ${((size() - before) / 1e6).toFixed(1)} MB`);
await server.child.stop('SIGTERM');
rmSync(dir, { recursive: true, force: true });
