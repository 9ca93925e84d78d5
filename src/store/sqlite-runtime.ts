/**
 * Which Node.js versions the SQLite store can run on.
 *
 * better-sqlite3 12, the last line of the driver that supports Node 20, aborts the whole process on Node 24
 * and later: its prepared statements are `node::ObjectWrap` objects, and on Node 24 an ObjectWrap removes
 * an environment clean-up hook when it is garbage-collected, which fails an assertion
 * (`node::RemoveEnvironmentCleanupHook ... Assertion failed: (env) != nullptr`, SIGABRT). This project's
 * test suite on Node 24.21.0 aborted that way 13 times (servers at start-up, and test files that open the
 * store in-process): 12 tests failed and 7 were cancelled. On Node 20.20 and 22.23 it passes. better-sqlite3
 * 13 moved to Node-API, which public reports say avoids the abort (not tried here), but it needs Node 22.
 *
 * Until the project leaves Node 20 for Node 22 and better-sqlite3 13, the service refuses to open an
 * SQLite database on Node 24 or later, at start-up, instead of crashing some time after. PostgreSQL
 * (`--database postgres://...`) prepares no SQLite statements; on Node 24.21.0 it started, took 200
 * hand-offs and answered the operator API (checked by hand, not in CI).
 */

/** The first Node.js major version the SQLite store cannot run on. */
export const FIRST_NODE_MAJOR_WITHOUT_SQLITE = 24;

export class UnsupportedRuntimeError extends Error {}

/** Why this Node.js version cannot run the SQLite store, or null when it can. */
export function sqliteRuntimeProblem(nodeVersion: string = process.versions.node): string | null {
  const major = Number.parseInt(nodeVersion, 10);
  if (!(major >= FIRST_NODE_MAJOR_WITHOUT_SQLITE)) return null;
  return (
    `Node.js ${nodeVersion} cannot run the SQLite store: better-sqlite3 12 (the driver release that still ` +
    `supports Node 20) aborts the process on Node 24 and later when a prepared statement is garbage-collected. ` +
    `Run ddsrv on Node 20 or 22, or use PostgreSQL (--database postgres://...).`
  );
}
