/**
 * The command line as users meet it: help, --version, bad flags (exit 2), start-up refusals, clean
 * SIGTERM, and check-config.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, STARTUP_LIMIT_MS, startServerProcess } from '../helpers/server-process.js';

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

test('--version prints the version of package.json', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const out = await runCli([flag]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `${version}\n`);
  }
});

describe('check-config FILE', () => {
  /** Runs check-config in an empty directory and says what it left there. */
  async function checkConfig(yaml: string | null, extra: string[] = [], env: Record<string, string> = {}) {
    const cwd = mkdtempSync(join(tmpdir(), 'ddsrv-check-'));
    try {
      if (yaml !== null) writeFileSync(join(cwd, 'policy.yaml'), yaml);
      const before = readdirSync(cwd);
      // The AWS endpoint is a closed port and the server URL too: any network use would show as an error.
      // Run where a default serve would create its database (./ddsrv.db).
      const out = await runCli(['check-config', 'policy.yaml', ...extra], { DDSRV_DELAY: '', ...env }, STARTUP_LIMIT_MS, cwd);
      return { ...out, created: readdirSync(cwd).filter((f) => !before.includes(f)), file: 'policy.yaml' };
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }

  test('a valid file: exit 0, the effective policy per component, nothing created', async () => {
    const out = await checkConfig('defaults:\n  delay: 10m\ncomponents:\n  worker:\n    delay: 2h\n    action: stop\n  shop/web:\n    drain:\n      hook:\n        url: "http://{private_ip}:8080/drain"\n');
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.created, [], 'no database file, nothing');
    assert.match(out.stdout, /policy\.yaml: valid\. A running ddsrv loads a changed file only when restarted\./);
    assert.match(out.stdout, /^ {2}defaults \(every other component\):\n {4}delay: {2}10m$/m);
    assert.match(out.stdout, /^ {2}worker:\n {4}delay: {2}2h\n.*\n {4}action: stop/m);
    assert.match(out.stdout, /^ {2}shop\/web:\n {4}delay: {2}10m\n[\s\S]*?hook: {3}POST http:\/\/\{private_ip\}:8080\/drain \(timeout 30s, 3 calls, on failure: continue\)/m);
    assert.equal(out.stderr, '');
  });

  test('--json, and --delay / DDSRV_DELAY as serve takes them', async () => {
    const out = await checkConfig('components:\n  worker:\n    delay: 2h\n', ['--json'], { DDSRV_DELAY: '5m' });
    assert.equal(out.code, 0, out.stderr);
    const d = JSON.parse(out.stdout);
    assert.equal(d.default_delay, '5m');
    assert.equal(d.components.defaults.delay, '5m', 'the file sets no default delay: DDSRV_DELAY');
    assert.equal(d.components.worker.delay, '2h');
    assert.equal(d.components.worker.drain.load_balancers, true);
    const flagged = await checkConfig('', ['--json', '--delay', '90s'], { DDSRV_DELAY: '5m' });
    assert.equal(flagged.code, 0, flagged.stderr);
    const flag = JSON.parse(flagged.stdout);
    assert.equal(flag.components.defaults.delay, '1m30s', 'the flag wins over the variable');
    const bad = await checkConfig('', ['--delay', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--delay \(or DDSRV_DELAY\): 'soon' is not a duration/);
  });

  test('an invalid file: exit 2, every problem as file:line: key: problem, nothing on stdout', async () => {
    const out = await checkConfig('defaults:\n  action: destroy\n  drain:\n    hook:\n      url: "http://{private_ip}:9/drain"\nuser_data_overrides:\n  delay: true\n  min_delay: 6h\n  max_delay: 15m\n');
    assert.equal(out.code, 2);
    assert.equal(out.stdout, '');
    const lines = out.stderr.trim().split('\n');
    const file = out.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(lines[0]!, new RegExp(`^${file}:2: defaults\\.action: .*; got "destroy"$`));
    assert.match(lines[1]!, new RegExp(`^${file}:5: defaults\\.drain\\.hook\\.url: .*port 9 is one Node's fetch refuses`));
    assert.match(lines[2]!, new RegExp(`^${file}:8: user_data_overrides\\.min_delay: min_delay \\(6h\\) is longer than max_delay \\(15m\\)$`));
    assert.deepEqual(out.created, []);
  });

  test('the same file makes serve refuse to start with the same words', async () => {
    const yaml = 'defaults:\n  asg: sometimes\n';
    const checked = await checkConfig(yaml);
    const cwd = mkdtempSync(join(tmpdir(), 'ddsrv-check-serve-'));
    try {
      writeFileSync(join(cwd, 'policy.yaml'), yaml);
      const served = await runCli(['serve', '127.0.0.1:0', '--database', join(cwd, 'x.db'), '--config', 'policy.yaml'], {}, STARTUP_LIMIT_MS, cwd);
      assert.equal(served.code, 2);
      assert.match(checked.stderr, /^policy\.yaml:2: defaults\.asg: /);
      assert.ok(served.stderr.includes(checked.stderr.trim()), `${served.stderr} contains ${checked.stderr}`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('a missing file: exit 2 saying so', async () => {
    const out = await checkConfig(null);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /cannot read policy file .*policy\.yaml: ENOENT/);
  });
});
