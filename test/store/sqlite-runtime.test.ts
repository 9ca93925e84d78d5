/**
 * The SQLite store refuses Node.js 24 and later (better-sqlite3 12 aborts the process there, see
 * src/store/sqlite-runtime.ts): the rule itself, and the command line meeting it at start-up, before any
 * database file is made. The CLI runs on the Node of this machine with `process.versions.node` reported as
 * 24 (a preload), since CI has no Node 24 to run it on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FIRST_NODE_MAJOR_WITHOUT_SQLITE, sqliteRuntimeProblem } from '../../src/store/sqlite-runtime.js';
import { runCli } from '../helpers/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ddsrv-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Node 20 and 22 may run the SQLite store; 24 and later may not, and the reason says what to do', () => {
  assert.equal(FIRST_NODE_MAJOR_WITHOUT_SQLITE, 24);
  for (const ok of ['20.12.0', '20.20.2', '22.0.0', '22.23.3']) assert.equal(sqliteRuntimeProblem(ok), null, ok);
  for (const bad of ['24.0.0', '24.21.0', '25.1.0', '26.3.0']) {
    const problem = sqliteRuntimeProblem(bad);
    assert.ok(problem, bad);
    assert.match(problem, new RegExp(`Node\\.js ${bad.replace(/\./g, '\\.')} cannot run the SQLite store`));
    assert.match(problem, /Node 20 or 22/);
    assert.match(problem, /postgres:\/\//);
  }
});

test('this machine’s Node runs the SQLite store (the rest of the suite depends on it)', () => {
  assert.equal(sqliteRuntimeProblem(), null, `Node ${process.versions.node}`);
});

test('`ddsrv serve` on Node 24 exits 1 at start-up with the reason, and makes no database file', async () => {
  const database = join(dir, 'refused.db');
  const preload = `Object.defineProperty(process.versions, 'node', { value: '24.21.0' });`;
  const pretend24 = `--import=data:text/javascript,${encodeURIComponent(preload)}`;
  const out = await runCli(['serve', '--listen', '127.0.0.1:0', '--database', database], { NODE_OPTIONS: pretend24 }, 20_000);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^ddsrv: cannot start: Node\.js 24\.21\.0 cannot run the SQLite store/m);
  assert.equal(existsSync(database), false);
});
