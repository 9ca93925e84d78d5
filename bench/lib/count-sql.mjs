// A preload for the service (`node --import bench/lib/count-sql.mjs dist/cli.js serve ...`) that counts
// every SQLite statement it runs, by SQL text, and every better-sqlite3 transaction function call, without
// touching the service's code: better-sqlite3's Statement and Database prototypes are wrapped. All SQL
// goes through them: Kysely's SQLite driver prepares its queries there too (its transactions' `begin` and
// `commit` are statements), and so does a db.transaction() function's own `BEGIN` and `COMMIT`.
// Also the fdatasync/fsync calls made from JavaScript through a FileHandle (the service's WAL sync);
// SQLite's own (checkpoints) happen in C and need strace.
//
// SIGUSR2 writes the counts so far as JSON to $COUNT_SQL_OUT (appending a line) and resets them, so a
// benchmark brackets the window it measures with two signals. The wrapping costs CPU: figures measured
// with it are counts, not timings.
import { appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// The service's own copy of better-sqlite3 (the one its script's node_modules resolves), not the bench's.
const require = createRequire(pathToFileURL(process.argv[1]));
const Database = require('better-sqlite3');

let statements = new Map();
let transactions = 0;
let syncs = 0;
const count = (sql) => statements.set(sql, (statements.get(sql) ?? 0) + 1);

const probe = new Database(':memory:');
const Statement = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = Statement[method];
  Statement[method] = function (...args) {
    count(this.source);
    return original.apply(this, args);
  };
}
const exec = Database.prototype.exec;
Database.prototype.exec = function (sql) {
  count(sql);
  return exec.call(this, sql);
};
const transaction = Database.prototype.transaction;
Database.prototype.transaction = function (fn) {
  const wrapped = transaction.call(this, fn);
  const counted = function (...args) {
    transactions += 1;
    return wrapped.apply(this, args);
  };
  for (const variant of ['deferred', 'immediate', 'exclusive']) {
    counted[variant] = (...args) => {
      transactions += 1;
      return wrapped[variant](...args);
    };
  }
  return counted;
};

const handle = await open('/dev/null');
const FileHandle = Object.getPrototypeOf(handle);
await handle.close();
for (const method of ['datasync', 'sync']) {
  const original = FileHandle[method];
  FileHandle[method] = function (...args) {
    syncs += 1;
    return original.apply(this, args);
  };
}

process.on('SIGUSR2', () => {
  const out = process.env.COUNT_SQL_OUT;
  if (out) appendFileSync(out, `${JSON.stringify({ statements: Object.fromEntries(statements), transactionFunctions: transactions, fileSyncs: syncs })}\n`);
  statements = new Map();
  transactions = 0;
  syncs = 0;
});
