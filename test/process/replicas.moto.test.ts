/**
 * Several replicas on one PostgreSQL database, as real processes: three `ddsrv serve` started at the same
 * moment (they migrate once), hundreds of hand-offs spread over them the way a load balancer would (a
 * replica that does not answer is skipped), and one replica killed with SIGKILL in the middle of a step.
 * The survivors take its leased work over once the lease runs out.
 *
 * Each replica reaches moto through its own fault proxy, so the test knows which replica made each EC2
 * call, and calls its drain hook on its own path of one hook server. Calls are counted per instance: a
 * step that was in flight when its replica died runs once more (the dead replica's call may still have
 * had its effect), never more. Every instance is terminated, with `terminate.ok` recorded exactly once.
 *
 * 1. Killed inside TerminateInstances (no drain hook): exactly that batch is terminated twice.
 * 2. Killed while its drain hook calls are in flight: those hooks are called twice, none more.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { createTestDatabase, postgresSkip, queryDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const REGION = 'us-east-1';
const REPLICAS = 3;
const INSTANCES = 300;
const WAVES = 10;
const LEASE = '3s';
/**
 * The first TerminateInstances call each replica makes once the stall is armed hangs this long (then
 * reaches EC2 anyway, even if the caller died). Longer than the lease: a surviving replica keeps its
 * stalled batch only because its heartbeat extends the lease, or the batch would be called twice too.
 */
const STALL_MS = 4000;

const skip = motoSkip() || (await postgresSkip());

/** Counts per key. */
function tally(keys: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}
const sorted = (xs: Iterable<string>) => [...xs].sort();

interface Run {
  db: TestDatabase;
  proxies: FaultProxy[];
  servers: ServerProcess[];
  instances: string[];
  /** The replica whose 200 first acknowledged each instance. */
  ackedBy: Map<string, number>;
  /** Hand-off attempts that failed on one replica and went to the next. */
  redirected: number;
}

describe('replicas on one PostgreSQL database', { skip }, () => {
  let moto: Moto;
  let dir: string;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    moto = (await startMoto())!;
    dir = mkdtempSync(join(tmpdir(), 'ddsrv-replicas-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  after(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh database, one fault proxy per replica, three replicas started at the same moment. */
  async function startReplicas(extraArgs: (k: number) => string[] = () => []): Promise<Run> {
    const db = await createTestDatabase('replicas');
    cleanups.push(() => db.drop());
    const proxies = await Promise.all(Array.from({ length: REPLICAS }, () => startFaultProxy(moto.endpoint)));
    cleanups.push(() => Promise.all(proxies.map((p) => p.stop())));
    const instances = await launchInstances(moto.endpoint, REGION, INSTANCES);
    const args = ['--database', db.url, '--delay', '1s', '--poll-interval', '200ms', '--lease', LEASE, '--retry-base', '200ms', '--log-level', 'info'];
    const servers = await Promise.all(proxies.map((p, k) => startServerProcess([...args, ...extraArgs(k)], awsTestEnv(p.url))));
    cleanups.push(async () => {
      for (const s of servers) s.child.kill('SIGKILL');
      await Promise.all(servers.map((s) => s.exited));
    });
    const migrated = servers.filter((s) => s.logs.some((l) => l.msg === 'database migrated'));
    assert.equal(migrated.length, 1, 'replicas started together: exactly one ran the migrations');
    return { db, proxies, servers, instances, ackedBy: new Map(), redirected: 0 };
  }

  /** A load balancer's job: send each hand-off to a replica, and to the next one if it does not answer. */
  async function handOff(run: Run, id: string, prefer: number): Promise<void> {
    for (let attempt = 0; attempt < REPLICAS * 3; attempt++) {
      const k = (prefer + attempt) % REPLICAS;
      try {
        const res = await fetch(`${run.servers[k]!.url}/delayed-termination`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ec2_instance_id: id, ec2_region: REGION }),
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        if (res.status === 200) {
          if (!run.ackedBy.has(id)) run.ackedBy.set(id, k);
          return;
        }
      } catch {
        // connection refused or reset: the replica died; try the next one
      }
      run.redirected++;
    }
    throw new Error(`no replica accepted ${id}`);
  }

  /**
   * Hands every instance off in waves, round robin. After wave 4, `arm()` sets up the kill; before
   * wave 7, `killed` must have happened, so the last waves go out with one replica dead.
   */
  async function handOffInWaves(run: Run, arm: () => void, killed: Promise<unknown>): Promise<void> {
    const perWave = INSTANCES / WAVES;
    for (let w = 0; w < WAVES; w++) {
      const wave = run.instances.slice(w * perWave, (w + 1) * perWave);
      await Promise.all(wave.map((id, i) => handOff(run, id, (w * perWave + i) % REPLICAS)));
      if (w === 4) arm();
      if (w === 6) await killed;
      await sleep(250);
    }
    assert.ok(run.redirected > 0, 'hand-offs sent to the dead replica were refused and went to another one');
  }

  async function kill(run: Run, k: number): Promise<void> {
    run.servers[k]!.child.kill('SIGKILL');
    assert.equal(await run.servers[k]!.exited, 'SIGKILL');
  }

  /** Waits until every termination is final, then checks EC2, the database and the logs. */
  async function expectAllTerminatedOnce(run: Run): Promise<{ rows: { instance_id: string; starts: number }[] }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await queryDatabase<{ total: number; live: number }>(run.db.url, 'select count(*)::int as total, count(next_attempt_at)::int as live from terminations');
      if (row!.total === INSTANCES && row!.live === 0) break;
      if (Date.now() > deadline) assert.fail(`not done in time: ${JSON.stringify(row)}`);
      await sleep(200);
    }
    const states = await instanceStates(moto.endpoint, REGION, run.instances);
    assert.deepEqual(Object.entries(states).filter(([, s]) => s !== 'terminated'), [], 'every instance is terminated in EC2');

    const rows = await queryDatabase<{ instance_id: string; state: string; oks: number; starts: number }>(
      run.db.url,
      `select t.instance_id, t.state,
              count(*) filter (where h.event = 'terminate.ok')::int as oks,
              count(*) filter (where h.event = 'terminate.started')::int as starts
         from terminations t left join termination_history h on h.termination_id = t.id
        group by t.id, t.instance_id, t.state`,
    );
    assert.equal(rows.length, INSTANCES, 'one termination per instance');
    assert.deepEqual(new Set(rows.map((r) => r.instance_id)), new Set(run.instances));
    assert.deepEqual(rows.filter((r) => r.state !== 'terminated' || r.oks !== 1), [], 'each terminated, with terminate.ok recorded once');

    // The workers' logs (the killed one's included, up to its death): terminate.ok once per instance. A line
    // is written (asynchronously) after its commit, so it may reach us a moment after the database says done.
    const logged = () => tally(run.servers.flatMap((s) => s.logs.filter((l) => l.event === 'terminate.ok').map((l) => l.instance_id as string)));
    const logDeadline = Date.now() + 5_000;
    while (logged().size < INSTANCES && Date.now() < logDeadline) await sleep(50);
    const okLogs = logged();
    assert.equal(okLogs.size, INSTANCES);
    assert.deepEqual([...okLogs].filter(([, n]) => n !== 1), [], 'terminate.ok logged once per instance');
    return { rows };
  }

  const terminateCalls = (run: Run) => run.proxies.flatMap((p) => p.requests.filter((r) => r.action === 'TerminateInstances'));

  /** Batching across replicas: some call held hand-offs that different replicas accepted. */
  function mixedBatches(run: Run): number {
    const mixed = terminateCalls(run).filter((r) => new Set(r.instanceIds.map((id) => run.ackedBy.get(id))).size > 1);
    assert.ok(mixed.length > 0, 'some TerminateInstances call mixed hand-offs accepted by different replicas');
    return mixed.length;
  }

  async function stopSurvivors(run: Run, killed: number): Promise<void> {
    for (const [k, s] of run.servers.entries()) {
      if (k === killed) continue;
      s.child.kill('SIGTERM');
      assert.equal(await s.exited, 0, `replica ${k} stops cleanly`);
    }
  }

  test('killed inside TerminateInstances: every instance terminated, the in-flight batch twice, none more', async (t: TestContext) => {
    const run = await startReplicas();
    // Kill the first replica seen inside a (stalled) TerminateInstances call once the run is under way.
    let killed = -1;
    let killedBatch: string[] = [];
    let armed = false;
    const killer = (async () => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const k = armed ? run.proxies.findIndex((p) => p.requests.some((r) => r.fault === 'stall')) : -1;
        if (k >= 0) {
          killed = k;
          killedBatch = run.proxies[k]!.requests.find((r) => r.fault === 'stall')!.instanceIds;
          await kill(run, k);
          return;
        }
        await sleep(10);
      }
      throw new Error('no replica made a TerminateInstances call after the stall was armed');
    })();
    await handOffInWaves(
      run,
      () => {
        for (const p of run.proxies) p.inject({ kind: 'stall', ms: STALL_MS, action: 'TerminateInstances' });
        armed = true;
      },
      killer,
    );
    await killer;
    assert.ok(killedBatch.length > 0, 'a replica was killed inside a TerminateInstances call');

    const { rows } = await expectAllTerminatedOnce(run);
    const calls = tally(terminateCalls(run).flatMap((r) => r.instanceIds));
    assert.equal(calls.size, INSTANCES);
    assert.deepEqual([...calls].filter(([, n]) => n > 2), [], 'no instance terminated more than twice');
    const twice = sorted([...calls].filter(([, n]) => n === 2).map(([id]) => id));
    assert.deepEqual(twice, sorted(killedBatch), "exactly the dead replica's in-flight batch was called again");
    assert.deepEqual(sorted(rows.filter((r) => r.starts === 2).map((r) => r.instance_id)), sorted(killedBatch), 'the takeover is in the history');
    const survivorsWork = run.servers
      .filter((_, k) => k !== killed)
      .flatMap((s) => s.logs.filter((l) => l.event === 'terminate.ok' && killedBatch.includes(l.instance_id as string)));
    assert.equal(survivorsWork.length, killedBatch.length, "the survivors finished the dead replica's batch");
    const mixed = mixedBatches(run);
    t.diagnostic(
      `killed replica ${killed} inside a call for ${killedBatch.length} instances; ${terminateCalls(run).length} TerminateInstances calls ` +
        `(${mixed} mixing replicas' hand-offs); ${run.redirected} hand-off attempts redirected to another replica`,
    );
    await stopSurvivors(run, killed);
  });

  test('killed while its drain hook calls are in flight: every hook called at most twice, every instance terminated', async (t: TestContext) => {
    // One hook server; each replica calls it on its own path, so the server knows who is calling.
    const hookCalls: { replica: number; id: string }[] = [];
    const held: { replica: number; id: string; res: ServerResponse }[] = [];
    let armed = false;
    let target = -1;
    let onTarget: (k: number) => void = () => {};
    const targetChosen = new Promise<number>((resolve) => (onTarget = resolve));
    const hooks: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://hook');
      const replica = Number(/^\/drain\/(\d+)$/.exec(url.pathname)?.[1] ?? -1);
      const id = url.searchParams.get('id') ?? '';
      hookCalls.push({ replica, id });
      req.resume();
      if (armed && target === -1) {
        target = replica;
        onTarget(replica);
      }
      // The chosen replica's calls are never answered: it dies with them in flight.
      if (replica === target) held.push({ replica, id, res });
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('drained');
    });
    hooks.listen(0, '127.0.0.1');
    await once(hooks, 'listening');
    cleanups.push(async () => {
      hooks.closeAllConnections();
      await new Promise((r) => hooks.close(r));
    });
    const port = (hooks.address() as { port: number }).port;
    const policyFor = (k: number) => {
      const file = join(dir, `policy-${k}.yaml`);
      writeFileSync(
        file,
        [
          'defaults:',
          '  drain:',
          '    load_balancers: false',
          '    hook:',
          `      url: "http://127.0.0.1:${port}/drain/${k}?id={instance_id}"`,
          '      method: POST',
          '      timeout: 20s',
          '',
        ].join('\n'),
      );
      return ['--config', file];
    };

    const run = await startReplicas(policyFor);
    let killed = -1;
    const killer = (async () => {
      const k = await Promise.race([targetChosen, sleep(30_000).then(() => -1)]);
      if (k < 0) throw new Error('no drain hook call after the kill was armed');
      await sleep(100); // let the rest of its batch's calls arrive (held too)
      killed = k;
      await kill(run, k);
      for (const h of held) h.res.destroy();
    })();
    await handOffInWaves(run, () => (armed = true), killer);
    await killer;
    const inFlight = sorted(new Set(held.map((h) => h.id)));
    assert.ok(inFlight.length > 0, 'the replica died with drain hook calls in flight');

    await expectAllTerminatedOnce(run);
    const calls = tally(hookCalls.map((c) => c.id));
    assert.equal(calls.size, INSTANCES, 'every instance had its drain hook called');
    assert.deepEqual([...calls].filter(([, n]) => n > 2), [], 'no drain hook called more than twice');
    const twice = sorted([...calls].filter(([, n]) => n === 2).map(([id]) => id));
    for (const id of inFlight) assert.ok(twice.includes(id), `${id}'s call was in flight when its replica died: called again`);
    const calledByKilled = new Set(hookCalls.filter((c) => c.replica === killed).map((c) => c.id));
    assert.deepEqual(twice.filter((id) => !calledByKilled.has(id)), [], 'only calls of the dead replica were repeated');
    const terminations = tally(terminateCalls(run).flatMap((r) => r.instanceIds));
    assert.deepEqual([...terminations].filter(([, n]) => n > 2), [], 'no instance terminated more than twice');
    const mixed = mixedBatches(run);
    t.diagnostic(
      `killed replica ${killed} with ${inFlight.length} hook calls in flight; ${twice.length} hooks called twice, ${hookCalls.length} hook calls in all; ` +
        `${terminateCalls(run).length} TerminateInstances calls (${mixed} mixing replicas' hand-offs); ${run.redirected} hand-off attempts redirected`,
    );
    await stopSurvivors(run, killed);
  });
});
