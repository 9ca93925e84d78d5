/**
 * PostgreSQL connections for replicas that share one database (RDS, Aurora, any PostgreSQL 12+).
 *
 * - Times and ids are `bigint` columns. Their values (ms since the epoch, row ids) stay far below 2^53,
 *   so this pool's own type parser reads `int8` as a JS number; the process-wide `pg.types` stay alone.
 * - A small pool (default 10): group commit already puts concurrent hand-offs in one transaction, and
 *   replicas × pool size must stay under the server's `max_connections`.
 * - Every connection has a server-side `statement_timeout`, a client-side `query_timeout` (a network
 *   black hole answers nothing at all), `idle_in_transaction_session_timeout` (a frozen replica cannot
 *   hold row locks forever) and TCP keep-alive, and a connection attempt gives up after
 *   `connect_timeout`. A query that fails for any of these reasons fails its request (a hand-off then
 *   answers 503 and is not acknowledged) within `query_timeout`; the pool drops the broken connection
 *   and opens a new one. A COMMIT left unanswered is reported as such (postgres-pool.ts).
 * - A connection the server closes while it is idle or checked out (failover, `pg_terminate_backend`)
 *   emits 'error' on the pool or client. Both are handled here: unhandled, either would crash the process.
 *
 * URL query parameters override the defaults: `pool_size`, and the timeouts `statement_timeout`,
 * `query_timeout`, `idle_in_transaction_session_timeout`, `health_timeout` (a bare number is ms, as in
 * PostgreSQL) and `connect_timeout` (a bare number is seconds, as in libpq); a duration with a unit
 * (`500ms`, `5s`) means what it says. Everything else `pg` reads from a connection string (`sslmode`,
 * `sslrootcert`, `application_name`, ...) passes through.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { parseDuration } from '../../domain/duration.js';
import type { Connection } from '../dialect.js';
import type { Database } from '../schema.js';
import { postgresDialect } from './dialect.js';
import { postgresHandOffRecorder } from './handoffs.js';
import { discardingPool } from './pool.js';

export interface PostgresSettings {
  poolSize: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  connectTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  /** The health check's `select 1` gives up after this (Skopos probes with a 2 s timeout). */
  healthTimeoutMs: number;
}

export const POSTGRES_DEFAULTS: PostgresSettings = {
  poolSize: 10,
  statementTimeoutMs: 10_000,
  queryTimeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 30_000,
  healthTimeoutMs: 1_500,
};

/** The query parameters ddsrv reads itself (and removes before `pg` sees the URL). */
const OWN_PARAMS: Record<string, keyof PostgresSettings> = {
  pool_size: 'poolSize',
  statement_timeout: 'statementTimeoutMs',
  query_timeout: 'queryTimeoutMs',
  connect_timeout: 'connectTimeoutMs',
  idle_in_transaction_session_timeout: 'idleInTransactionTimeoutMs',
  health_timeout: 'healthTimeoutMs',
};

export class PostgresUrlError extends Error {}

export interface PostgresConnection {
  db: Kysely<Database>;
  /** A cheap `select 1` within `healthTimeoutMs`: null when it answered, else why not. */
  unavailable(): Promise<string | null>;
  description: string;
  settings: PostgresSettings;
}

/** The URL with any password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Splits ddsrv's own settings from the URL `pg` connects with. */
export function parsePostgresUrl(url: string): { connectionString: string; settings: PostgresSettings } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PostgresUrlError(`'${redactUrl(url)}' is not a valid postgres:// URL`);
  }
  const settings = { ...POSTGRES_DEFAULTS };
  for (const [param, field] of Object.entries(OWN_PARAMS)) {
    const raw = u.searchParams.get(param);
    if (raw === null) continue;
    u.searchParams.delete(param);
    let value: number;
    try {
      // A bare number follows PostgreSQL's own convention: seconds for libpq's connect_timeout,
      // milliseconds for the server timeouts; a duration with a unit (`5s`, `500ms`) is unambiguous.
      if (field === 'poolSize') value = /^\d+$/.test(raw) ? Number(raw) : NaN;
      else if (/^\d+$/.test(raw)) value = Number(raw) * (field === 'connectTimeoutMs' ? 1000 : 1);
      else value = parseDuration(raw);
      if (Number.isNaN(value)) throw new Error('not a whole number');
    } catch (err) {
      throw new PostgresUrlError(`${param}=${raw} in the database URL: ${(err as Error).message}`);
    }
    if (!Number.isSafeInteger(value) || value < (field === 'poolSize' ? 1 : 0)) {
      throw new PostgresUrlError(`${param}=${raw} in the database URL is out of range`);
    }
    settings[field] = value;
  }
  if (!u.pathname || u.pathname === '/') {
    throw new PostgresUrlError(`'${redactUrl(url)}' names no database: add it as the path, e.g. postgres://ddsrv@db.example:5432/ddsrv`);
  }
  return { connectionString: u.toString(), settings };
}

const INT8_OID = 20;

/** This pool's type parsers: `int8` as a number, everything else as `pg` parses it. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // settles after the timeout: nobody is listening any more
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function openPostgres(url: string, onError: (err: Error) => void = () => {}): PostgresConnection {
  const { connectionString, settings } = parsePostgresUrl(url);
  const pool = new pg.Pool({
    connectionString,
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'ddsrv',
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.queryTimeoutMs,
    idle_in_transaction_session_timeout: settings.idleInTransactionTimeoutMs,
    types,
  } as pg.PoolConfig);
  // An idle connection the server closed: the pool drops it by itself.
  pool.on('error', (err) => onError(err));
  // A checked-out connection that breaks between two queries has no other listener: without this the
  // 'error' would crash the process. Its next query fails (and is reported there); the pool drops it.
  pool.on('connect', (client) => client.on('error', () => {}));

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: discardingPool(pool) }) });
  return {
    db,
    settings,
    description: redactUrl(url),
    async unavailable() {
      try {
        await withTimeout(pool.query('select 1'), settings.healthTimeoutMs);
        return null;
      } catch (err) {
        return `its database ${/no answer within/.test((err as Error).message) ? `did not answer within ${settings.healthTimeoutMs} ms` : 'is unreachable'}`;
      }
    },
  };
}

/** The store's connection: PostgreSQL's COMMIT returns once the server has made it durable. */
export function connectPostgres(url: string, onError?: (err: Error) => void): Connection {
  const pg = openPostgres(url, onError);
  return {
    db: pg.db,
    engine: 'postgres',
    dialect: postgresDialect,
    description: pg.description,
    unavailable: pg.unavailable,
    afterCommit: async () => {},
    handOffs: (durably) => postgresHandOffRecorder(durably),
    close: () => pg.db.destroy(),
  };
}
