/**
 * A service whose database holds terminations in the states a dashboard test or screenshot needs, without
 * AWS: hand-offs go through the API of a first service, then the progress the worker would have made is
 * written through its store (rows and history, helpers/store-tables.ts); once it is closed, a second
 * service opens the file, starting from what is stored. No worker runs: nothing moves unless the test
 * moves it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServeFlags } from '../../src/config.js';
import { testService, type TestService } from '../helpers/service.js';
import { forceRow } from '../helpers/store-tables.js';

export interface RowValues {
  state?: string;
  step?: string;
  due_at?: number;
  next_attempt_at?: number | null;
  attempts?: number;
  reason?: string | null;
  step_data?: string | null;
  created_at?: number;
  updated_at?: number;
}

export interface SeedEvent {
  at: number;
  state: string;
  step: string | null;
  event: string;
  detail?: string | null;
}

export interface Seeder {
  /** Through the API, as Skopos would (the ids, in order). */
  handOff(ids: string[], project: string, component: string, region?: string): Promise<number[]>;
  /** Written once the first service has closed. */
  set(id: number, values: RowValues): void;
  history(id: number, events: SeedEvent[]): void;
}

export async function seededService<T>(flags: ServeFlags & { authToken: string }, plan: (seed: Seeder) => Promise<T>): Promise<{ svc: TestService; planned: T }> {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-seed-'));
  const database = join(dir, 'ddsrv.db');
  const writes: (() => Promise<void>)[] = [];
  const first = await testService({ ...flags, database });
  let planned: T;
  try {
    planned = await plan({
      async handOff(ids, project, component, region = 'us-east-1') {
        const res = await first.app.inject({
          method: 'POST',
          url: '/delayed-termination',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${flags.authToken}` },
          payload: { ec2_instance_ids: ids, project, component, ec2_region: region },
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json().terminations.map((t: { id: number }) => t.id);
      },
      set(id, values) {
        writes.push(() => forceRow(first.store, id, values));
      },
      history(id, events) {
        writes.push(() => forceRow(first.store, id, {}, events.map((e) => ({ at: e.at, state: e.state, step: e.step, event: e.event, detail: e.detail ?? null }))));
      },
    });
    for (const write of writes) await write();
  } finally {
    await first.close();
  }
  const second = await testService({ ...flags, database });
  const svc: TestService = {
    ...second,
    dir,
    dbPath: database,
    close: async () => {
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return { svc, planned };
}
