/**
 * Credentials that appear after the start clear the status: a real service (SQLite, the operator API
 * through inject()) whose AWS clients get an injected credential provider that finds nothing at first.
 * Nothing here leaves the process: the provider is a function, no AWS call is made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import { resolveServeConfig } from '../../src/config.js';
import { createService } from '../../src/server.js';

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

test('missing credentials: a warning, status not ok and a 0 metric; once they appear, all clear without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-creds-'));
  const { log, lines } = memoryLogger();
  let available = false;
  let asked = 0;
  const config = resolveServeConfig({ database: join(dir, 'd.db') }, {});
  config.aws = {
    ...config.aws,
    credentials: async () => {
      asked += 1;
      if (!available) throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      return { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    },
  };
  config.credentialsWatch = { recheckMissingMs: 50 };
  const svc = await createService(config, log);
  const status = async () => (await svc.app.inject({ method: 'GET', url: '/api/v1/status' })).json();
  try {
    const before = await status();
    assert.equal(before.aws_credentials.state, 'unchecked');

    await svc.credentials.start();
    const missing = await status();
    assert.equal(missing.ok, false);
    assert.equal(missing.aws_credentials.state, 'missing');
    assert.equal(missing.aws_credentials.message, 'Could not load credentials from any providers');
    assert.match(missing.aws_credentials.tried, /default credential chain: environment variables .*instance metadata service/);
    assert.match(missing.problems[0], /^no AWS credentials: Could not load credentials from any providers; nothing can be drained or terminated/);
    assert.match((await svc.app.inject({ method: 'GET', url: '/metrics' })).body, /^ddsrv_aws_credentials_available 0$/m);
    const warnings = lines.filter((l) => l.aws_credentials === 'missing');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 40, 'at warn');
    assert.match(String(warnings[0]!.msg), /^NO AWS CREDENTIALS: hand-offs are accepted and recorded, but nothing can be drained or terminated/);
    assert.equal(warnings[0]!.error, 'Could not load credentials from any providers');

    // Checked again while missing; still missing: no second warning.
    const askedBefore = asked;
    while (asked < askedBefore + 2) await sleep(20);
    assert.equal(lines.filter((l) => l.aws_credentials === 'missing').length, 1, 'one warning, not one per check');

    available = true; // an instance role was attached
    const deadline = Date.now() + 5000;
    while ((await status()).aws_credentials.state !== 'ok') {
      assert.ok(Date.now() < deadline, 'the status did not clear');
      await sleep(20);
    }
    const cleared = await status();
    assert.equal(cleared.ok, true);
    assert.deepEqual(cleared.problems, []);
    assert.equal(cleared.aws_credentials.message, null);
    assert.match((await svc.app.inject({ method: 'GET', url: '/metrics' })).body, /^ddsrv_aws_credentials_available 1$/m);
    const found = lines.find((l) => l.msg === 'AWS credentials found');
    assert.equal(found?.level, 30, 'at info');
    assert.doesNotMatch(JSON.stringify(lines), /AKIDEXAMPLE|secret/, 'the credentials themselves are never logged');
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a provider that never answers counts as missing after the timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-creds-'));
  const { log } = memoryLogger();
  const config = resolveServeConfig({ database: join(dir, 'd.db') }, {});
  config.aws = { ...config.aws, credentials: () => new Promise(() => {}) };
  config.credentialsWatch = { timeoutMs: 50 };
  const svc = await createService(config, log);
  try {
    const status = await svc.credentials.start();
    assert.equal(status.state, 'missing');
    assert.equal(status.message, 'no answer within 50 ms');
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
