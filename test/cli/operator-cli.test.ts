/**
 * `ddsrv list | show | cancel | expedite` against a real `ddsrv serve` process: tables by default, --json
 * for scripts, --url/--token/--token-file and DDSRV_URL/DDSRV_AUTH_TOKEN/DDSRV_AUTH_TOKEN_FILE, and exit
 * codes with messages that point at the CLI's own flags and commands. The server's AWS endpoint is a
 * closed local port: nothing here reaches AWS.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const TOKEN = 'cli-test-token-0123456789abcdef';
const NO_AWS = {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  DDSRV_URL: '',
  DDSRV_AUTH_TOKEN: '',
  DDSRV_AUTH_TOKEN_FILE: '',
};

describe('ddsrv list/show/cancel/expedite', () => {
  let server: ServerProcess;
  let webhook: Server;
  const notified: Record<string, any>[] = [];
  const ids: number[] = [];
  let env: Record<string, string>;

  before(async () => {
    webhook = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        notified.push(JSON.parse(text));
        res.end('ok');
      });
    });
    webhook.listen(0, '127.0.0.1');
    await once(webhook, 'listening');
    const hook = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
    server = await startServerProcess(['--delay', '1h', '--database', ':memory:', '--auth-token', TOKEN, '--notify-url', hook, '--notify-on', 'cancelled'], { ...NO_AWS, DDSRV_LOG_LEVEL: 'info' });
    env = { ...NO_AWS, DDSRV_URL: server.url, DDSRV_AUTH_TOKEN: TOKEN };
    const res = await fetch(`${server.url}/delayed-termination`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ ec2_instance_ids: ['i-0000000000000c001', 'i-0000000000000c002', 'i-0000000000000c003'], project: 'shop', component: 'web', ec2_region: 'eu-west-1' }),
    });
    assert.equal(res.status, 200);
    ids.push(...((await res.json()) as { terminations: { id: number }[] }).terminations.map((t) => t.id));
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    webhook?.close();
  });

  test('list prints a readable table, newest first', async () => {
    const out = await runCli(['list'], env);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+INSTANCE\s+REGION\s+STATE\s+DUE\s+PROJECT\/COMPONENT\s+NOTE$/);
    assert.equal(lines.length, 4);
    assert.match(lines[1]!, new RegExp(`^${ids[2]}\\s+i-0000000000000c003\\s+eu-west-1\\s+(pending|draining)\\s+in (59m \\d\\ds|1h 00m)\\s+shop/web`));
  });

  test('--json gives the API response; filters and paging flags reach the API', async () => {
    const out = await runCli(['list', '--json', '--limit', '2', '--state', 'active', '--project', 'shop'], env);
    assert.equal(out.code, 0, out.stderr);
    const page = JSON.parse(out.stdout);
    assert.equal(page.items.length, 2);
    assert.ok(page.next);
    const rest = JSON.parse((await runCli(['list', '--json', '--limit', '2', '--cursor', page.next], env)).stdout);
    assert.deepEqual([...page.items, ...rest.items].map((t: { id: number }) => t.id), [...ids].reverse());
    const all = JSON.parse((await runCli(['list', '--json', '--limit', '1', '--all'], env)).stdout);
    assert.equal(all.items.length, 3);
    assert.equal(all.next, null);
    const none = await runCli(['list', '--component', 'nope'], env);
    assert.equal(none.stdout.trim(), 'no terminations match');
  });

  test('--url and --token flags work without the variables', async () => {
    const out = await runCli(['list', '--url', server.url, '--token', TOKEN, '--json'], NO_AWS);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).items.length, 3);
  });

  test('the token from a file: --token-file, or DDSRV_AUTH_TOKEN_FILE as the server reads it (trimmed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddsrv-cli-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
      const viaFlag = await runCli(['list', '--url', server.url, '--token-file', file, '--json'], NO_AWS);
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.equal(JSON.parse(viaFlag.stdout).items.length, 3);
      const viaEnv = await runCli(['show', String(ids[0]), '--json'], { ...NO_AWS, DDSRV_URL: server.url, DDSRV_AUTH_TOKEN_FILE: file });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      assert.equal(JSON.parse(viaEnv.stdout).id, ids[0]);
      const both = await runCli(['list', '--token', TOKEN, '--token-file', file], env);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /give --token or --token-file, not both/);
      const missing = await runCli(['list', '--token-file', join(dir, 'absent')], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--token-file: cannot read '.*absent': ENOENT/);
      const wrongFile = join(dir, 'wrong');
      writeFileSync(wrongFile, 'wrong-token-wrong-token');
      const wrong = await runCli(['list'], { ...NO_AWS, DDSRV_URL: server.url, DDSRV_AUTH_TOKEN_FILE: wrongFile });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`refused the token \\(from DDSRV_AUTH_TOKEN_FILE \\(${wrongFile.replace(/[/.]/g, '\\$&')}\\)\\)`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('show prints the fields and the history', async () => {
    const out = await runCli(['show', String(ids[0])], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^instance:\s+i-0000000000000c001 \(eu-west-1\)$/m);
    assert.match(out.stdout, /^state:\s+(pending|draining)$/m);
    assert.match(out.stdout, /^history:\n\s+AT\s+EVENT\s+STATE\s+DETAIL\n\s+\S+\s+accepted\s+pending\s+handed off by bearer/m);
    const asJson = JSON.parse((await runCli(['show', String(ids[0]), '--json'], env)).stdout);
    assert.equal(asJson.history[0].event, 'accepted');
  });

  test('cancel keeps the instance (and notifies); a second cancel exits 3 naming the state', async () => {
    const out = await runCli(['cancel', String(ids[0]), '--reason', 'needed for the incident'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`termination ${ids[0]} of i-0000000000000c001 \\(eu-west-1\\) cancelled: the instance is kept`));
    const again = await runCli(['cancel', String(ids[0])], env);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /^ddsrv: error: termination \d+ is cancelled: only pending or draining terminations can be cancelled/);
    const deadline = Date.now() + 5000;
    while (notified.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(notified[0]?.state, 'cancelled', 'the --notify-url webhook got it');
    assert.equal(notified[0]?.termination.instance_id, 'i-0000000000000c001');
  });

  test('expedite makes it due now', async () => {
    const out = await runCli(['expedite', String(ids[1]), '--json'], env);
    assert.equal(out.code, 0, out.stderr);
    const d = JSON.parse(out.stdout);
    assert.ok(Date.parse(d.due_at) <= Date.now());
    assert.equal(d.history.at(-1).event, 'expedited');
  });

  test('failures: bad token, no token, unreachable server, unknown id, bad arguments', async () => {
    // In the CLI's own terms: its flags and variables, not the HTTP header.
    const wrong = await runCli(['list', '--token', 'wrong-token-wrong-token'], { ...env, DDSRV_AUTH_TOKEN: '' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^ddsrv: error: the server at http:\/\/127\.0\.0\.1:\d+ refused the token \(from --token\): check --token, --token-file, DDSRV_AUTH_TOKEN or DDSRV_AUTH_TOKEN_FILE/);
    assert.doesNotMatch(wrong.stderr, /Authorization|Bearer/);
    const missing = await runCli(['list'], { ...env, DDSRV_AUTH_TOKEN: '' });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /needs a token: give --token-file FILE, --token TOKEN, DDSRV_AUTH_TOKEN_FILE or DDSRV_AUTH_TOKEN/);
    assert.doesNotMatch(missing.stderr, /Authorization|Bearer/);
    // Port 2: closed here, never handed out as an ephemeral port to a concurrent test, not a fetch "bad port".
    const down = await runCli(['list', '--url', 'http://127.0.0.1:2'], env);
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /cannot reach ddsrv at http:\/\/127\.0\.0\.1:2 \(ECONNREFUSED\)/);
    const unknown = await runCli(['show', '987654'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^ddsrv: error: there is no termination 987654; `ddsrv list` shows them/);
    assert.doesNotMatch(unknown.stderr, /\/api\/v1/);
    const unknownCancel = await runCli(['cancel', '987654'], env);
    assert.match(unknownCancel.stderr, /there is no termination 987654; `ddsrv list`/);
    const badCursor = await runCli(['list', '--cursor', 'bogus'], env);
    assert.equal(badCursor.code, 2);
    assert.match(badCursor.stderr, /--cursor: not one this server gave out/);
    const badId = await runCli(['cancel', 'abc'], env);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /termination id is a positive whole number/);
    const badFlag = await runCli(['list', '--limit', '9999'], env);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--limit/);
    const blocked = await runCli(['list', '--url', 'http://127.0.0.1:9'], env);
    assert.match(blocked.stderr, /cannot reach ddsrv at http:\/\/127\.0\.0\.1:9 \(bad port\)/, 'the cause is named');
    const badUrl = await runCli(['list', '--url', 'ftp://x'], env);
    assert.equal(badUrl.code, 2);
    const help = await runCli(['expedite', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--url <URL>[\s\S]*--token-file <FILE>[\s\S]*--token <TOKEN>[\s\S]*--json/);
  });

  test('cancel --restore: an instance that had left nothing ends restored at once; --help explains --restore', async () => {
    const out = await runCli(['cancel', String(ids[2]), '--restore', '--reason', 'rolled back'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`termination ${ids[2]} of i-0000000000000c003 \\(eu-west-1\\) cancelled and restored: the instance is kept \\(it had left nothing to put back\\)`));
    assert.match(out.stdout, /cancelled with restore by bearer: rolled back\. The instance is kept; nothing to put back/);
    const shown = JSON.parse((await runCli(['show', String(ids[2]), '--json'], env)).stdout);
    assert.equal(shown.state, 'restored');
    assert.equal(shown.final, true);
    const again = await runCli(['cancel', String(ids[2]), '--restore'], env);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /is restored: only pending or draining terminations can be cancelled \(it is over\)/);
    const help = await runCli(['cancel', '--help'], env);
    assert.match(help.stdout, /--restore\s+also undo the drain: re-attach to its Auto Scaling group/);
  });
});
