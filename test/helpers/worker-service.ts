/**
 * A service with a running worker tuned for tests (fast polls and retries, SDK retries off so the
 * worker's own are exercised), and the two things every worker test does: hand off, wait until final.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServeFlags } from '../../src/config.js';
import type { TerminationRow } from '../../src/store/schema.js';
import { json, testService, type TestService } from './service.js';
import { rowOf } from './store-reads.js';

export async function workerService(flags: ServeFlags = {}, policy?: string): Promise<TestService> {
  let policyDir: string | undefined;
  if (policy !== undefined) {
    policyDir = mkdtempSync(join(tmpdir(), 'ddsrv-policy-'));
    writeFileSync(join(policyDir, 'policy.yaml'), policy);
  }
  const svc = await testService(
    { delay: '0', pollInterval: '50ms', retryBase: '50ms', maxAttempts: '6', ...(policyDir ? { config: join(policyDir, 'policy.yaml') } : {}), ...flags },
    (c) => {
      c.aws = { maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 3000 };
      c.pipeline = { drainPollMinMs: 50, drainPollMaxMs: 200, hookRetryBaseMs: 50 };
    },
  );
  svc.worker.start();
  return {
    ...svc,
    close: async () => {
      await svc.close();
      if (policyDir) rmSync(policyDir, { recursive: true, force: true });
    },
  };
}

export async function handOff(svc: TestService, ids: string[], region: string, extra: Record<string, unknown> = {}): Promise<number[]> {
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_ids: ids, ec2_region: region, ...extra } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().terminations.map((t: { id: number }) => t.id);
}

export async function waitFinal(svc: TestService, ids: number[], timeoutMs = 20_000): Promise<TerminationRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await Promise.all(ids.map((id) => rowOf(svc.store, id)));
    if (rows.every((r) => r && r.next_attempt_at === null)) return rows.map((r) => r!);
    if (Date.now() > deadline) throw new Error(`not final in time: ${JSON.stringify(rows.map((r) => [r?.id, r?.state, r?.step, r?.reason]))}`);
    await sleep(50);
  }
}
