/**
 * What only PostgreSQL has: replicas migrating at the same moment, the pool's settings, and what the
 * service does when its shared database becomes unreachable (health check 503, hand-offs 503 and not
 * acknowledged, nothing acknowledged lost, recovery without a restart).
 *
 * The database is reached through a small TCP proxy in this file, so a test can refuse connections (a
 * closed port), swallow traffic (a network partition) or cut every connection (a failover), and then
 * heal, without touching the real server. A fresh database per file, dropped at the end.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'kysely';
import { resolveServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createService, StartupError, type Service } from '../../src/server.js';
import { connect, engineOf } from '../../src/store/connect.js';
import { migrateSchema, SchemaTooNewError } from '../../src/store/migrate.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { parsePostgresUrl, POSTGRES_DEFAULTS, PostgresUrlError, redactUrl } from '../../src/store/postgres/connect.js';
import { createTestDatabase, postgresSkip, queryDatabase, type TestDatabase } from '../helpers/postgres.js';

const json = { 'content-type': 'application/json' };
let serial = 0;
const iid = () => `i-${(0x10000000000000000n + BigInt(++serial) * 104729n).toString(16).slice(-17)}`;

describe('postgres URL settings (no server needed)', () => {
  test('postgres:// and postgresql:// select PostgreSQL; anything else is an SQLite path', () => {
    assert.equal(engineOf('postgres://u@h/db'), 'postgres');
    assert.equal(engineOf('POSTGRESQL://u@h/db'), 'postgres');
    assert.equal(engineOf('/var/lib/ddsrv/ddsrv.db'), 'sqlite');
    assert.equal(engineOf('sqlite:///x.db'), 'sqlite');
  });

  test('defaults, and ddsrv\'s own query parameters are read and removed; pg\'s pass through', () => {
    const d = parsePostgresUrl('postgres://ddsrv:pw@db.example:5432/ddsrv');
    assert.deepEqual(d.settings, POSTGRES_DEFAULTS);
    assert.equal(POSTGRES_DEFAULTS.poolSize, 10);
    assert.ok(POSTGRES_DEFAULTS.healthTimeoutMs < 2000, 'below the Skopos probe timeout');
    const o = parsePostgresUrl(
      'postgres://ddsrv@db.example/ddsrv?pool_size=4&statement_timeout=2s&query_timeout=2500&connect_timeout=3&health_timeout=500ms&idle_in_transaction_session_timeout=1m&sslmode=no-verify&application_name=blue',
    );
    assert.deepEqual(o.settings, { poolSize: 4, statementTimeoutMs: 2000, queryTimeoutMs: 2500, connectTimeoutMs: 3000, healthTimeoutMs: 500, idleInTransactionTimeoutMs: 60_000 });
    const left = new URL(o.connectionString).searchParams;
    assert.deepEqual([...left.keys()].sort(), ['application_name', 'sslmode']);
  });

  test('bad values and a missing database name are refused with the parameter named', () => {
    assert.throws(() => parsePostgresUrl('postgres://h/db?pool_size=0'), (e: Error) => e instanceof PostgresUrlError && /pool_size=0/.test(e.message));
    assert.throws(() => parsePostgresUrl('postgres://h/db?pool_size=many'), /pool_size=many/);
    assert.throws(() => parsePostgresUrl('postgres://h/db?statement_timeout=soon'), /statement_timeout=soon/);
    assert.throws(() => parsePostgresUrl('postgres://user:secret@h:5432'), (e: Error) => /names no database/.test(e.message) && !e.message.includes('secret'));
  });

  test('passwords never reach logs', () => {
    assert.equal(redactUrl('postgres://ddsrv:s3cret@db/ddsrv'), 'postgres://ddsrv:***@db/ddsrv');
    assert.equal(redactUrl('postgres://ddsrv@db/ddsrv'), 'postgres://ddsrv@db/ddsrv');
  });
});

/** A TCP proxy in front of PostgreSQL whose faults a test switches on and off. */
class DbProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** 'blackhole': connections are accepted but nothing is forwarded either way (a network partition). */
  mode: 'pass' | 'blackhole' = 'pass';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  private accept(client: Socket): void {
    const upstream = tcpConnect(this.targetPort, this.targetHost);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => {
        if (this.mode === 'pass') to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Every open connection dies at once, as in a failover. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Nothing listens on the port any more: connections are refused. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(db: TestDatabase, params = ''): string {
    const u = new URL(db.url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString() + params;
  }
}

const skip = await postgresSkip();

describe('postgres', { skip }, () => {
  let db: TestDatabase;
  let proxy: DbProxy;
  before(async () => {
    db = await createTestDatabase('pg');
    const target = new URL(db.url);
    proxy = new DbProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
  });
  after(async () => {
    await proxy?.close();
    await db?.drop();
  });

  test('replicas starting at the same moment migrate a fresh database exactly once', async () => {
    const fresh = await createTestDatabase('migrate');
    try {
      const conns = await Promise.all(Array.from({ length: 6 }, () => connect(fresh.url)));
      try {
        const applied = await Promise.all(conns.map((c) => migrateSchema(c.db, c.dialect)));
        const all = Object.keys(MIGRATIONS).sort();
        assert.deepEqual(applied.filter((a) => a.length > 0), [all], `exactly one replica applied the migrations: ${JSON.stringify(applied)}`);
        const rows = await queryDatabase<{ name: string }>(fresh.url, 'select name from kysely_migration order by name');
        assert.deepEqual(rows.map((r) => r.name), all);
        // And the schema works for every one of them.
        for (const c of conns) assert.equal(Number((await sql<{ n: number }>`select count(*) as n from terminations`.execute(c.db)).rows[0]!.n), 0);
      } finally {
        await Promise.all(conns.map((c) => c.db.destroy()));
      }
    } finally {
      await fresh.drop();
    }
  });

  test('a replica refuses to start against a schema newer than it knows, and says why', async () => {
    const newer = await createTestDatabase('newer');
    try {
      const c = await connect(newer.url);
      await migrateSchema(c.db, c.dialect);
      await sql`insert into kysely_migration (name, timestamp) values ('999_next_release', '2030-01-01T00:00:00.000Z')`.execute(c.db);
      await c.db.destroy();
      const config = resolveServeConfig({ database: newer.url, logLevel: 'silent' }, {});
      await assert.rejects(createService(config, createLogger('silent')), (err: Error) => err instanceof SchemaTooNewError && /999_next_release/.test(err.message));
    } finally {
      await newer.drop();
    }
  });

  test('an unreachable database at start is a clear start-up error naming it without its password', async () => {
    const config = resolveServeConfig({ database: 'postgres://ddsrv:hunter2@127.0.0.1:1/ddsrv?connect_timeout=1', logLevel: 'silent' }, {});
    await assert.rejects(createService(config, createLogger('silent')), (err: Error) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.match(err.message, /cannot prepare the database postgres:\/\/ddsrv:\*\*\*@127\.0\.0\.1:1\/ddsrv/);
      assert.ok(!err.message.includes('hunter2'));
      return true;
    });
  });

  test('every connection carries the timeouts; int8 is a number in this pool only', async () => {
    const c = await connect(db.url);
    try {
      const show = async (name: string) => (await sql.raw<Record<string, string>>(`show ${name}`).execute(c.db)).rows[0]![name];
      assert.equal(await show('statement_timeout'), '10s');
      assert.equal(await show('idle_in_transaction_session_timeout'), '30s');
      assert.equal(await show('application_name'), 'ddsrv');
      const { rows } = await sql<{ big: number }>`select 9007199254740991::int8 as big`.execute(c.db);
      assert.equal(rows[0]!.big, Number.MAX_SAFE_INTEGER);
      assert.equal(pg.types.getTypeParser(20, 'text')('42'), '42', 'the process-wide parser is untouched');
    } finally {
      await c.db.destroy();
    }
  });

  describe('a service whose database goes away', () => {
    let service: Service;
    before(async () => {
      const url = proxy.url(db, '?query_timeout=800ms&connect_timeout=1&health_timeout=300ms');
      const config = resolveServeConfig({ database: url, logLevel: 'silent' }, {});
      service = await createService(config, createLogger('silent'));
    });
    after(async () => {
      proxy.mode = 'pass';
      if (!proxy.listening) await proxy.open();
      await service?.close();
    });

    const health = () => service.app.inject({ method: 'GET', url: '/delayed-termination' });
    const handOff = (id: string) => service.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_id: id } });
    const recorded = async (ids: string[]) =>
      (await queryDatabase<{ instance_id: string }>(db.url, 'select instance_id from terminations where instance_id = any($1)', [ids])).map((r) => r.instance_id).sort();

    test('connections refused: health 503, hand-offs 503 store_unavailable and not recorded; then it heals', async () => {
      const before = [iid(), iid()];
      for (const id of before) assert.equal((await handOff(id)).statusCode, 200);
      assert.equal((await health()).statusCode, 200);

      await proxy.close();
      const start = Date.now();
      const h = await health();
      assert.equal(h.statusCode, 503);
      assert.ok(Date.now() - start < 1500, 'the health check answers quickly');
      const refused = [iid(), iid(), iid()];
      const answers = await Promise.all(refused.map(handOff));
      for (const a of answers) {
        assert.equal(a.statusCode, 503);
        assert.equal(a.json().error, 'store_unavailable');
        assert.equal(a.headers['retry-after'], '5');
      }

      await proxy.open();
      assert.equal((await health()).statusCode, 200);
      const after = iid();
      assert.equal((await handOff(after)).statusCode, 200);
      assert.deepEqual(await recorded([...before, ...refused, after]), [...before, after].sort(), 'acknowledged ones kept, refused ones never recorded');
    });

    test('a network partition (no answer at all): 503 within the query timeout, then it heals', async () => {
      const before = iid();
      assert.equal((await handOff(before)).statusCode, 200);
      proxy.mode = 'blackhole';
      let start = Date.now();
      assert.equal((await health()).statusCode, 503);
      assert.ok(Date.now() - start < 1000, `health took ${Date.now() - start} ms`);
      const lostId = iid();
      start = Date.now();
      const a = await handOff(lostId);
      const took = Date.now() - start;
      assert.equal(a.statusCode, 503);
      assert.ok(took < 4000, `the hand-off failed after ${took} ms (query_timeout 800 ms, connect_timeout 1 s)`);
      // Traffic flows again: connections stuck behind the lost packets are discarded, not reused.
      proxy.mode = 'pass';
      proxy.cut();
      await sleep(50);
      const healed = iid();
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        status = (await handOff(healed)).statusCode;
        if (status !== 200) await sleep(100);
      }
      assert.equal(status, 200);
      assert.equal((await health()).statusCode, 200);
      // The partitioned insert may have reached the server before the packets were lost: it was answered 503
      // (not acknowledged), so whether it exists is not promised; a retry of it is harmless either way.
      assert.equal((await handOff(lostId)).statusCode, 200);
      assert.deepEqual(await recorded([before, healed, lostId]), [before, healed, lostId].sort());
    });

    test('connections killed by the server (pg_terminate_backend, a failover): no crash, next hand-offs succeed', async () => {
      const ids = Array.from({ length: 5 }, iid);
      // Fill the pool with several open connections.
      await Promise.all(ids.slice(0, 3).map(handOff));
      const killed = await queryDatabase<{ ok: boolean }>(
        db.url,
        "select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and application_name = 'ddsrv'",
        [db.name],
      );
      assert.ok(killed.length >= 1, 'the service had connections to kill');
      // A request racing the kill may get a 503 (not acknowledged); none may be lost or crash the process.
      const racing = await handOff(ids[3]!);
      assert.ok([200, 503].includes(racing.statusCode), String(racing.statusCode));
      await sleep(100);
      assert.equal((await handOff(ids[4]!)).statusCode, 200);
      if (racing.statusCode !== 200) assert.equal((await handOff(ids[3]!)).statusCode, 200);
      assert.deepEqual(await recorded(ids), [...ids].sort());
      assert.equal((await health()).statusCode, 200);
    });
  });
});
