/** The command line as users meet it: help, bad flags (exit 2), start-up refusals, clean SIGTERM. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, startServerProcess } from '../helpers/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ddsrv-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('--help describes serve and its flags', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /serve/);
  const serve = await runCli(['serve', '--help']);
  assert.equal(serve.code, 0);
  for (const flag of ['--listen', '--delay', '--database', '--config', '--auth-token', '--allow-unauthenticated', '--dry-run', '--log-level']) {
    assert.match(serve.stdout, new RegExp(flag), flag);
  }
});

test('bad flags and values exit 2 with a message naming the flag', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['serve', '--no-such-flag'], {}, /--no-such-flag/],
    [['serve', '--delay', 'soon'], {}, /--delay.*'soon' is not a duration/],
    [['serve', 'localhost'], {}, /'localhost' is not HOST:PORT/],
    [['serve', '--listen', 'x:99999'], {}, /--listen/],
    [['serve', '--log-level', 'loud'], {}, /--log-level/],
    [['serve'], { DDSRV_DELAY: '5 minutes' }, /DDSRV_DELAY/],
    [['serve'], { DDSRV_DRY_RUN: 'maybe' }, /DDSRV_DRY_RUN/],
    [['serve', '--auth-token', 'short'], {}, /at least 16/],
    [['nonsense'], {}, /unknown command/],
  ];
  for (const [args, env, message] of cases) {
    const out = await runCli(args, env);
    assert.equal(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
    assert.match(out.stderr, message, args.join(' '));
  }
});

test('a non-loopback address without a token is refused, saying how to set one', async () => {
  const out = await runCli(['serve', '0.0.0.0:0', '--database', join(dir, 'a.db')]);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /--auth-token-file|DDSRV_AUTH_TOKEN/);
});

test('SIGTERM stops the server with exit 0; a second server on the same SQLite file is refused', async () => {
  const db = join(dir, 'b.db');
  const server = await startServerProcess(['--database', db]);
  const health = await fetch(`${server.url}/delayed-termination`);
  assert.equal(health.status, 200);
  const second = await runCli(['serve', '127.0.0.1:0', '--database', db]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another process/);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  assert.ok(server.logs.some((l) => l.msg === 'stopped'));
});
