// A fresh PostgreSQL database per test file, on the server named by DDSRV_TEST_PG_URL (default: the
// local one, trust auth, user postgres).
//
// Why it is built this way:
// - A uniquely named database per file (not a schema, not a truncate): test files run concurrently,
//   migrations and the migration lock are per database, and a dropped database leaves nothing behind.
// - `DROP DATABASE ... WITH (FORCE)` (PostgreSQL 13+) ends connections a killed server process left.
// - Availability: locally an unreachable server skips with a message saying how to enable the tests;
//   under CI=true it is a failure, so a CI run can never pass by silently skipping.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server the PostgreSQL tests use: its maintenance database, where test databases are created. */
export function pgAdminUrl(): string {
  return process.env.DDSRV_TEST_PG_URL || DEFAULT_TEST_PG_URL;
}

function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * For `describe(name, { skip: await postgresSkip() }, ...)`: false when the server answers; otherwise a
 * message saying how to enable the tests. Under CI=true an unreachable server throws instead.
 */
export async function postgresSkip(): Promise<string | false> {
  try {
    await withAdmin((c) => c.query('select 1'));
    return false;
  } catch (err) {
    const why = `PostgreSQL at ${redacted(pgAdminUrl())} is unreachable (${(err as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why} (CI=true: refusing to skip)`);
    return `${why}: start PostgreSQL there, or set DDSRV_TEST_PG_URL to a server where the user may create databases`;
  }
}

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database. */
  url: string;
  drop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops test databases left by test processes of this machine that died before their `drop()` (a
 * killed run). Only for a server on this machine: the pid in a name means nothing on a shared server.
 */
async function dropLeftovers(c: pg.Client): Promise<void> {
  const host = new URL(pgAdminUrl()).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', ''].includes(host)) return;
  const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like 'ddsrv\\_test\\_%'");
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)_[0-9a-f]{6}$/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      await c.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
  }
}

/** Creates an empty database named after `label`; `drop()` removes it, closing any connection left. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const safe = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  const name = `ddsrv_test_${safe}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withAdmin(async (c) => {
    await dropLeftovers(c);
    await c.query(`create database "${name}"`);
  });
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/** Runs a query on a test database with a short-lived client (for assertions and backdating). */
export async function queryDatabase<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}
