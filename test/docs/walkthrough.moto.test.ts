/**
 * The README's moto walk-through, run as a user would paste it: its shell blocks (marked
 * `<!-- walkthrough:moto -->`, and the one that stops everything `<!-- walkthrough:moto:stop -->`) go to
 * one bash, in a fresh directory holding the built package, with no AWS_* or DDSRV_* variables inherited.
 * Only the ports differ from the README: MOTO_PORT and DDSRV_PORT, which the walk-through itself reads.
 * Between the blocks and the stop block the test checks moto and ddsrv itself: the instance is terminated.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { ec2Client } from '../helpers/ec2-fixtures.js';
import { motoSkip, processGroupAlive } from '../helpers/moto.js';
import { freePort } from '../helpers/server-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHECKPOINT = '__walkthrough_checkpoint__';

/** The walk-through's blocks from README.md, in order, and its stop block. */
function walkthroughBlocks(readme: string): { run: string[]; stop: string } {
  const run: string[] = [];
  const stop: string[] = [];
  for (const m of readme.matchAll(/<!-- walkthrough:moto(:stop)? -->\s*\n```(?:sh|bash)\n([\s\S]*?)\n```/g)) {
    (m[1] ? stop : run).push(m[2]!);
  }
  assert.ok(run.length > 0, 'README.md has no block marked <!-- walkthrough:moto -->');
  assert.equal(stop.length, 1, 'README.md needs exactly one block marked <!-- walkthrough:moto:stop -->');
  return { run, stop: stop[0]! };
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** moto_server as the moto helper decides; the AWS CLI and curl the same way (CI=true: missing fails). */
function skipReason(): string | false {
  const moto = motoSkip();
  if (moto) return moto;
  for (const tool of ['aws', 'curl']) {
    if (onPath(tool)) continue;
    const hint = `${tool} is not on PATH: the README's moto walk-through uses it (pip install awscli; apt-get install curl)`;
    if (process.env.CI === 'true') throw new Error(`${hint} (CI=true: refusing to skip)`);
    return hint;
  }
  return false;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs);
  }
  return newest;
}

/** A directory that looks like a clone after `npm ci`: package.json, node_modules, and a dist/ built from today's src/. */
async function packageDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-walkthrough-'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const built = join(ROOT, 'dist', 'cli.js');
  if (existsSync(built) && statSync(built).mtimeMs > newestMtime(join(ROOT, 'src'))) {
    symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'));
    return dir;
  }
  // dist/ is missing or older than src/: build as `npm ci` would (its prepare script), into this directory.
  const tsc = spawn(process.execPath, [join(ROOT, 'scripts/build.mjs'), join(dir, 'dist')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  tsc.stdout!.on('data', (d) => (out += d));
  tsc.stderr!.on('data', (d) => (out += d));
  const [code] = (await once(tsc, 'exit')) as [number | null];
  assert.equal(code, 0, `the build failed:\n${out}`);
  return dir;
}

/** The environment of a fresh shell: nothing of AWS or ddsrv, no shared AWS files; the two ports. */
function freshShellEnv(dir: string, ports: { moto: number; ddsrv: number }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(AWS_|DDSRV_|CI$)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HOME: process.env.HOME ?? dir,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    // Nothing here may ask the EC2 instance metadata address (the walk-through sets credentials anyway).
    AWS_EC2_METADATA_DISABLED: 'true',
    MOTO_PORT: String(ports.moto),
    DDSRV_PORT: String(ports.ddsrv),
  };
}

const tail = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').slice(-3000) : '(none)');

test('the README moto walk-through terminates its instance and stops what it started', { skip: skipReason(), timeout: 180_000 }, async (t) => {
  const { run, stop } = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const dir = await packageDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ports = { moto: await freePort(), ddsrv: await freePort() };
  // -e: a failing step fails the run (a pasted shell would just go on). The checkpoint waits for the test.
  const script = ['set -e -o pipefail', ...run, `echo ${CHECKPOINT}`, 'read -r _', stop].join('\n');
  const shell = spawn('bash', ['-c', script], { cwd: dir, env: freshShellEnv(dir, ports), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const pgid = shell.pid!;
  // Whatever happens, nothing the walk-through started outlives the test.
  t.after(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let stdout = '';
  let stderr = '';
  shell.stdout!.on('data', (d) => (stdout += d));
  shell.stderr!.on('data', (d) => (stderr += d));
  let ended = false;
  const exited = once(shell, 'exit').then(([code]) => {
    ended = true;
    return code as number | null;
  });
  const report = () => `stdout:\n${stdout}\nstderr:\n${stderr}\nddsrv.log:\n${tail(join(dir, 'ddsrv.log'))}\nmoto.log:\n${tail(join(dir, 'moto.log'))}`;

  while (!stdout.includes(CHECKPOINT) && !ended) await sleep(50);
  if (!stdout.includes(CHECKPOINT)) assert.fail(`the walk-through stopped before its end (exit ${await exited}):\n${report()}`);

  // moto's own record: the one instance the walk-through launched is terminated.
  const ec2 = ec2Client(`http://127.0.0.1:${ports.moto}`, 'us-east-1');
  const found = await ec2.send(new DescribeInstancesCommand({}));
  const instances = (found.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  assert.equal(instances.length, 1, report());
  assert.equal(instances[0]!.State?.Name, 'terminated', report());
  // ddsrv's record of it, through the operator API the walk-through showed.
  const page = (await (await fetch(`http://127.0.0.1:${ports.ddsrv}/api/v1/terminations`)).json()) as { items: { instance_id: string; state: string }[] };
  assert.deepEqual(page.items.map((i) => [i.instance_id, i.state]), [[instances[0]!.InstanceId, 'terminated']], report());
  ec2.destroy();

  shell.stdin!.end('\n');
  assert.equal(await exited, 0, report());
  // The stop block stopped moto and ddsrv: no process of the walk-through is left.
  const deadline = Date.now() + 10_000;
  while (processGroupAlive(pgid) && Date.now() < deadline) await sleep(50);
  assert.equal(processGroupAlive(pgid), false, `something the walk-through started is still running after its stop block:\n${report()}`);
  assert.match(stdout, /"state":"terminated"/, report());
});
