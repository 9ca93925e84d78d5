/**
 * The container image's HEALTHCHECK (deploy/healthcheck.cjs) follows the address the server listens on
 * (DDSRV_LISTEN), and the Dockerfile wires it so: no Docker engine runs here, so the script runs on its own
 * against a real server, and the Dockerfile's lines are checked for what the script relies on.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { freePort, startServerProcess } from '../helpers/server-process.js';

const ROOT = new URL('../../', import.meta.url);
const SCRIPT = fileURLToPath(new URL('deploy/healthcheck.cjs', ROOT));

async function healthcheck(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

test('the health check asks the port of DDSRV_LISTEN, on loopback for 0.0.0.0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-healthcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServerProcess(['--database', join(dir, 'ddsrv.db')]);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const port = new URL(server.url).port;
  assert.deepEqual(await healthcheck({ DDSRV_LISTEN: `0.0.0.0:${port}` }), { code: 0, stderr: '' });
  assert.deepEqual(await healthcheck({ DDSRV_LISTEN: `127.0.0.1:${port}` }), { code: 0, stderr: '' });
  const nobody = await freePort();
  const refused = await healthcheck({ DDSRV_LISTEN: `0.0.0.0:${nobody}` });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`127\\.0\\.0\\.1:${nobody}: .*ECONNREFUSED`));
});

test('the health check fails on a non-2xx answer and on a malformed DDSRV_LISTEN', async (t) => {
  const unavailable = createServer((_req, res) => res.writeHead(503).end('{"error":"unavailable"}'));
  unavailable.listen(0, '127.0.0.1');
  await once(unavailable, 'listening');
  t.after(() => unavailable.close());
  const port = (unavailable.address() as { port: number }).port;
  assert.deepEqual(await healthcheck({ DDSRV_LISTEN: `0.0.0.0:${port}` }), { code: 1, stderr: `healthcheck: 127.0.0.1:${port} answered 503\n` });
  const bad = await healthcheck({ DDSRV_LISTEN: '8000' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /DDSRV_LISTEN '8000' is not HOST:PORT/);
});

test('the Dockerfile listens through DDSRV_LISTEN and checks health with the script', () => {
  const dockerfile = readFileSync(new URL('deploy/Dockerfile', ROOT), 'utf8');
  const ignore = readFileSync(new URL('deploy/Dockerfile.dockerignore', ROOT), 'utf8');
  assert.match(dockerfile, /^\s+DDSRV_LISTEN=0\.0\.0\.0:8000$/m, 'the image sets DDSRV_LISTEN');
  assert.match(dockerfile, /^COPY deploy\/healthcheck\.cjs \.\/healthcheck\.cjs$/m);
  assert.match(dockerfile, /^WORKDIR \/app$/m);
  assert.match(dockerfile, /^\s+CMD \["node", "\/app\/healthcheck\.cjs"\]$/m);
  // A --listen in the command would win over DDSRV_LISTEN, and the check would ask another port.
  const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1];
  assert.equal(cmd, '["node", "/app/dist/cli.js", "serve"]');
  assert.match(ignore, /^!deploy\/healthcheck\.cjs$/m, 'the build context must include the script');
});
