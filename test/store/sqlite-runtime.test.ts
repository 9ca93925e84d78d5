/**
 * The SQLite store refuses the Node.js releases where better-sqlite3 12 can abort the process (24 before
 * 24.22.0, 26 before 26.4.0; see src/store/sqlite-runtime.ts): the rule at its boundaries, and the command
 * line meeting it at start-up, before any database file is made. CI runs on releases that are not refused,
 * so the CLI test reports a refused one through `process.versions.node` (a preload).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sqliteRuntimeProblem } from '../../src/store/sqlite/runtime.js';
import { runCli } from '../helpers/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ddsrv-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Node 24 before 24.22.0 and 26 before 26.4.0 are refused, naming the release to move to; all others run', () => {
  const ok = ['20.12.0', '20.20.2', '22.0.0', '22.23.5', '23.11.1', '24.22.0', '24.22.3', '24.23.0', '25.9.0', '26.4.0', '26.12.1', '27.0.0'];
  for (const version of ok) assert.equal(sqliteRuntimeProblem(version), null, version);
  const refused = { '24.0.0': '24.22.0', '24.18.1': '24.22.0', '24.19.0': '24.22.0', '24.21.0': '24.22.0', '24.21.9': '24.22.0', '26.0.0': '26.4.0', '26.3.1': '26.4.0' };
  for (const [version, moveTo] of Object.entries(refused)) {
    const problem = sqliteRuntimeProblem(version);
    assert.ok(problem, version);
    assert.match(problem, new RegExp(`^Node\\.js ${version.replace(/\./g, '\\.')} cannot run the SQLite store`));
    assert.ok(problem.includes(`Move to Node.js ${moveTo} or later`), problem);
    assert.match(problem, /postgres:\/\//);
  }
});

test('this machine’s Node runs the SQLite store (the rest of the suite depends on it)', () => {
  assert.equal(sqliteRuntimeProblem(), null, `Node ${process.versions.node}`);
});

test('`ddsrv serve` on Node 24.21.0 exits 1 at start-up with the reason, and makes no database file', async () => {
  const database = join(dir, 'refused.db');
  const preload = `Object.defineProperty(process.versions, 'node', { value: '24.21.0' });`;
  const pretend = `--import=data:text/javascript,${encodeURIComponent(preload)}`;
  const out = await runCli(['serve', '--listen', '127.0.0.1:0', '--database', database], { NODE_OPTIONS: pretend }, 20_000);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^ddsrv: cannot start: Node\.js 24\.21\.0 cannot run the SQLite store/m);
  assert.equal(existsSync(database), false);
});
