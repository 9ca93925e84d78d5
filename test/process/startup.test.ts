/**
 * What a real `ddsrv serve` says about itself when it starts: the ready line names the policy file and
 * the delay of each component, and with no AWS credentials at all (an empty environment, no shared
 * files, the instance metadata service disabled: the SDK's real chain, which sends nothing anywhere)
 * it warns, and its operator status says so, while hand-offs are still accepted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ddsrv-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every link of the SDK's default chain finds nothing, without a network call. */
const NO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  HOME: dir,
  AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
  AWS_CONFIG_FILE: join(dir, 'no-config'),
  AWS_WEB_IDENTITY_TOKEN_FILE: '',
  AWS_ROLE_ARN: '',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_REGION: 'us-east-1',
  DDSRV_AUTH_TOKEN: '',
};

async function waitForLog(server: ServerProcess, match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = server.logs.find(match);
    if (line) return line;
    assert.ok(Date.now() < deadline, `no such log line: ${JSON.stringify(server.logs)}`);
    await sleep(50);
  }
}

test('no AWS credentials: a warning at start naming what was tried, status not ok, hand-offs still accepted', async () => {
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'defaults:\n  delay: 10m\ncomponents:\n  worker:\n    delay: 2h\n  shop/web:\n    delay: 45m\n');
  const server = await startServerProcess(['--database', join(dir, 'a.db'), '--config', policy], NO_CREDENTIALS);
  try {
    const ready = server.logs.find((l) => l.msg === 'ddsrv ready')!;
    assert.equal(ready.policy_file, policy);
    assert.equal(ready.delay, '10m');
    assert.deepEqual(ready.component_delays, { worker: '2h', 'shop/web': '45m' });

    const warning = await waitForLog(server, (l) => l.aws_credentials === 'missing');
    assert.equal(warning.level, 40);
    assert.match(String(warning.msg), /^NO AWS CREDENTIALS/);
    assert.match(String(warning.tried), /default credential chain: .*AWS_ACCESS_KEY_ID.*~\/\.aws\/credentials.*instance metadata service \(disabled here by AWS_EC2_METADATA_DISABLED\)/);
    assert.match(String(warning.error), /metadata|credentials/i, "the SDK's own words");

    const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as any;
    assert.equal(status.ok, false);
    assert.equal(status.aws_credentials.state, 'missing');
    assert.match(status.problems[0], /^no AWS credentials/);
    assert.equal(status.worker.state, 'running');

    assert.equal((await fetch(`${server.url}/delayed-termination`)).status, 200, 'the health check does not depend on AWS');
    const handOff = await fetch(`${server.url}/delayed-termination`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ec2_instance_id: 'i-0000000000000d001', component: 'worker' }),
    });
    assert.equal(handOff.status, 200, 'hand-offs are still recorded');
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^ddsrv_aws_credentials_available 0$/m);

    const openapi = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as any;
    const schema = openapi.paths['/api/v1/status'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(schema.properties.aws_credentials.properties.state.enum, ['unchecked', 'ok', 'missing']);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test('with credentials in the environment: no warning, status ok; the ready line without a policy file', async () => {
  const server = await startServerProcess(['--database', join(dir, 'b.db'), '--delay', '90s'], { ...NO_CREDENTIALS, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
  try {
    const ready = server.logs.find((l) => l.msg === 'ddsrv ready')!;
    assert.equal(ready.policy_file, null);
    assert.equal(ready.delay, '1m30s');
    assert.equal(ready.component_delays, undefined);
    const resolved = await waitForLog(server, (l) => l.aws_credentials === 'ok');
    assert.equal(resolved.level, 30);
    const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as any;
    assert.equal(status.ok, true);
    assert.equal(status.aws_credentials.state, 'ok');
    assert.ok(!server.logs.some((l) => l.aws_credentials === 'missing'));
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
