// Diagnostic rungs of the acceptance benchmark (BENCH_DIAG=1): the least a *durable* hand-off server built
// from the service's parts can do. Fastify without logging, the service's JSON parser and validation
// (dist/), then one prepared INSERT per instance into the service's own `terminations` table (the real
// migrations), group-committed per event-loop turn and acknowledged after an fdatasync of the WAL, as the
// service does. No policy, metrics, auth, log line or operator API. It shows what the storage alone costs.
//
//   node bench/lib/insert-floor-server.mjs PORT DB_PATH schema      the table with all its indexes
//   node bench/lib/insert-floor-server.mjs PORT DB_PATH table-only  the table with its secondary indexes dropped
import { open } from 'node:fs/promises';
import BetterSqlite3 from 'better-sqlite3';
import Fastify from 'fastify';
import { Kysely, SqliteDialect } from 'kysely';
import { parseJsonBody } from '../../dist/api/json-body.js';
import { parseHandOff } from '../../dist/domain/handoff.js';
import { migrateSchema } from '../../dist/store/migrate.js';
import { sqliteDialect } from '../../dist/store/sqlite/dialect.js';

const [port, dbPath, mode] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const sqlite = new BetterSqlite3(dbPath);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('temp_store = MEMORY');
await migrateSchema(new Kysely({ dialect: new SqliteDialect({ database: sqlite }) }), sqliteDialect);
if (mode === 'table-only') {
  const indexes = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'terminations' AND sql IS NOT NULL").all();
  for (const { name } of indexes) sqlite.exec(`DROP INDEX ${name}`);
}
sqlite.pragma('locking_mode = EXCLUSIVE');

const insert = sqlite.prepare(
  `INSERT INTO terminations (instance_id, region, state, step, due_at, next_attempt_at, attempts, project, component, ip_address, user_data, source_ip, created_at, updated_at)
   VALUES (?, ?, 'pending', 'terminate', ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
);
// As the service does: no RETURNING (the id is the rowid); a repeated id inserts nothing and gets no row.
const writeGroup = sqlite.transaction((group, now) =>
  group.map(({ doc, ip }) =>
    doc.instanceIds.map((id) => {
      const due = now + 86_400_000;
      const { changes, lastInsertRowid } = insert.run(id, doc.region, due, due, doc.project, doc.component, doc.ipAddress, doc.userData, ip, now, now);
      return changes === 1 ? { id: Number(lastInsertRowid), instance_id: id, region: doc.region, due_at: due } : undefined;
    }),
  ),
);

let queue = [];
let busy = false;
let wal;
async function flush() {
  const group = queue;
  queue = [];
  try {
    const rows = writeGroup(group, Date.now());
    wal ??= await open(`${dbPath}-wal`, 'r+');
    await wal.datasync();
    group.forEach((g, i) => g.resolve(rows[i]));
  } catch (err) {
    for (const g of group) g.reject(err);
  }
  busy = false;
  if (queue.length > 0) schedule();
}
function schedule() {
  busy = true;
  setImmediate(flush);
}
const record = (doc, ip) =>
  new Promise((resolve, reject) => {
    queue.push({ doc, ip, resolve, reject });
    if (!busy) schedule();
  });

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
app.get('/delayed-termination', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(''));
app.post('/delayed-termination', async (request) => {
  // A repeated id returns no row (nothing was inserted); the bench sends only fresh ids.
  const rows = (await record(parseHandOff(request.body), request.ip)).filter(Boolean);
  return {
    accepted: rows.length,
    terminations: rows.map((r) => ({ id: r.id, instance_id: r.instance_id, region: r.region, state: 'pending', due_at: new Date(r.due_at).toISOString() })),
  };
});
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
