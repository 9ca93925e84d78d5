// A hand-off while its PostgreSQL backend is frozen (SIGSTOP) with the COMMIT in its socket buffer: the
// client gives up, SIGCONT, the commit lands. Prints how long the answer took, what it said, whether the
// row landed, and what a retry answers. Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and the
// right to signal its backends (root). `node --import tsx docs/experiments/pg-frozen-commit.mts` (~15 s).
import { connect, createServer } from 'node:net';
import { createTestDatabase, queryDatabase } from '../../test/helpers/postgres.js';
import { testService } from '../../test/helpers/service.js';

const db = await createTestDatabase('frozen_commit');
const backends = async () =>
  (await queryDatabase<{ pid: number }>(db.url, "select pid from pg_stat_activity where datname = current_database() and application_name = 'ddsrv'")).map((r) => r.pid);
let freezeOnCommit: number[] | null = null;
let frozen: number[] = [];

// Passes bytes through; the first COMMIT seen while armed freezes the backends just before it is forwarded.
const proxy = createServer((client) => {
  const server = connect(5432, '127.0.0.1');
  client.on('error', () => {}).on('close', () => server.end());
  server.on('error', () => {}).on('close', () => client.destroy());
  server.on('data', (chunk) => client.write(chunk));
  client.on('data', (chunk) => {
    if (freezeOnCommit && chunk.toString('latin1').toLowerCase().includes('commit')) {
      frozen = freezeOnCommit;
      freezeOnCommit = null;
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    }
    server.write(chunk);
  });
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = new URL(db.url);
url.port = String((proxy.address() as { port: number }).port);
const svc = await testService({ database: url.toString() });
const handOff = (id: string) => svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { 'content-type': 'application/json' }, payload: { ec2_instance_id: id } });

console.log('warm-up', (await handOff('i-0aaaaaaaaaaaaa000')).statusCode);
freezeOnCommit = await backends();
const started = Date.now();
const res = await handOff('i-0aaaaaaaaaaaaa001');
console.log(`answer after ${((Date.now() - started) / 1000).toFixed(1)} s: ${res.statusCode} ${res.body}`);
for (const pid of frozen) process.kill(pid, 'SIGCONT');
await new Promise((resolve) => setTimeout(resolve, 500));
console.log('row landed:', (await queryDatabase(db.url, "select id from terminations where instance_id = 'i-0aaaaaaaaaaaaa001'")).length === 1);
const retry = await handOff('i-0aaaaaaaaaaaaa001');
console.log('retry:', retry.statusCode, retry.body);
await svc.close();
proxy.close();
await db.drop();
process.exit(0);
