/** The pending ceiling (429 with Retry-After) and HTTPS. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { json, testService } from '../helpers/service.js';

test('hand-offs beyond --max-pending get 429 with Retry-After, and nothing of them is scheduled', async () => {
  const svc = await testService({ maxPending: '3' });
  try {
    const post = (ids: string[]) => svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_ids: ids } });
    assert.equal((await post(['i-00000000000000001', 'i-00000000000000002'])).statusCode, 200);
    const over = await post(['i-00000000000000003', 'i-00000000000000004']);
    assert.equal(over.statusCode, 429);
    assert.equal(over.json().error, 'too_many_pending');
    assert.match(String(over.headers['retry-after']), /^\d+$/);
    assert.equal(await svc.store.reads.countLive(), 2);
    assert.equal((await post(['i-00000000000000003'])).statusCode, 200, 'what fits is accepted');
  } finally {
    await svc.close();
  }
});

test('--tls-cert/--tls-key serve HTTPS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const svc = await testService({ tlsCert: cert, tlsKey: key });
  try {
    const url = new URL(await svc.app.listen({ host: '127.0.0.1', port: 0 }));
    assert.equal(url.protocol, 'https:');
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: url.port, path: '/delayed-termination', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(status, 200);
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
