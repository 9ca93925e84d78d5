/**
 * Every guard against moto: require_tags, protect_tag, regions, checked before the first change and
 * again just before terminating. A refused instance ends `refused` with the reason, stays running, and
 * never holds back the rest of its batch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { ec2Client, instanceStates, launchInstances } from '../helpers/ec2-fixtures.js';
import { awsTestEnv, motoSkip, startMoto, type Moto } from '../helpers/moto.js';
import { handOff, waitFinal, workerService } from '../helpers/worker-service.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

const POLICY = `
guard:
  require_tags: { team: payments, app: "{project}*" }
  protect_tag: "ddsrv:protect"
  regions: [us-east-1, eu-west-1]
`;

describe('guards against moto', { skip: motoSkip() }, () => {
  let moto: Moto;
  before(async () => {
    moto = (await startMoto())!;
    Object.assign(process.env, awsTestEnv(moto.endpoint));
  });
  after(() => moto?.stop());

  test('refused instances end refused with the reason, stay running, and do not hold back the batch', async () => {
    const svc = await workerService({}, POLICY);
    try {
      const ok = await launchInstances(moto.endpoint, 'us-east-1', 2, { tags: { team: 'payments', app: 'shop-web' } });
      const [untagged] = await launchInstances(moto.endpoint, 'us-east-1', 1);
      const [wrongTeam] = await launchInstances(moto.endpoint, 'us-east-1', 1, { tags: { team: 'search', app: 'shop' } });
      const [wrongApp] = await launchInstances(moto.endpoint, 'us-east-1', 1, { tags: { team: 'payments', app: 'blog' } });
      const [guarded] = await launchInstances(moto.endpoint, 'us-east-1', 1, { tags: { team: 'payments', app: 'shop', 'ddsrv:protect': 'yes' } });
      const all = [ok[0]!, untagged!, wrongTeam!, wrongApp!, guarded!, ok[1]!];
      const ids = await handOff(svc, all, 'us-east-1', { project: 'shop', component: 'web' });
      const rows = await waitFinal(svc, ids);
      const by = new Map(rows.map((r) => [r.instance_id, r]));
      assert.equal(by.get(ok[0]!)!.state, 'terminated');
      assert.equal(by.get(ok[1]!)!.state, 'terminated');
      assert.match(by.get(untagged!)!.reason!, /lacks the required tag 'team'/);
      assert.match(by.get(wrongTeam!)!.reason!, /'search'.*'payments'/);
      assert.match(by.get(wrongApp!)!.reason!, /'blog'.*'\{project\}\*'/);
      assert.match(by.get(guarded!)!.reason!, /protect tag 'ddsrv:protect'/);
      for (const id of [untagged!, wrongTeam!, wrongApp!, guarded!]) {
        assert.equal(by.get(id)!.state, 'refused', id);
        assert.deepEqual((await historyOf(svc.store, by.get(id)!.id)).map((h) => h.event), ['guard.refused'], 'refused before any change');
      }
      const states = await instanceStates(moto.endpoint, 'us-east-1', all);
      assert.deepEqual([untagged, wrongTeam, wrongApp, guarded].map((id) => states[id!]), ['running', 'running', 'running', 'running']);
    } finally {
      await svc.close();
    }
  });

  test('a region outside the allow-list is refused', async () => {
    const svc = await workerService({}, POLICY);
    try {
      const [far] = await launchInstances(moto.endpoint, 'ap-south-1', 1, { tags: { team: 'payments', app: 'shop' } });
      const rows = await waitFinal(svc, await handOff(svc, [far!], 'ap-south-1', { project: 'shop' }));
      assert.equal(rows[0]!.state, 'refused');
      assert.match(rows[0]!.reason!, /region ap-south-1 is not in guard\.regions/);
      assert.equal((await instanceStates(moto.endpoint, 'ap-south-1', [far!]))[far!], 'running');
    } finally {
      await svc.close();
    }
  });

  test('a region outside the allow-list is refused before any AWS call, even for an id EC2 does not know there', async () => {
    const svc = await workerService({}, POLICY);
    try {
      // Before the fix: DescribeInstances in ap-south-1, "not found", and the row ended `gone`.
      const rows = await waitFinal(svc, await handOff(svc, ['i-0fa2fa2fa2fa2fa20'], 'ap-south-1', { project: 'shop' }));
      assert.equal(rows[0]!.state, 'refused');
      assert.match(rows[0]!.reason!, /region ap-south-1 is not in guard\.regions \(us-east-1, eu-west-1\); no AWS call was made there/);
      const calls = (await svc.metrics.awsCalls.get()).values.reduce((sum, v) => sum + v.value, 0);
      assert.equal(calls, 0, 'no AWS call at all');
    } finally {
      await svc.close();
    }
  });

  test('a protect tag added during the delay is honoured just before terminating', async () => {
    const svc = await workerService({ delay: '2s' }, POLICY);
    try {
      const [late] = await launchInstances(moto.endpoint, 'us-east-1', 1, { tags: { team: 'payments', app: 'shop' } });
      const [id] = await handOff(svc, [late!], 'us-east-1', { project: 'shop' });
      const deadline = Date.now() + 5000;
      while ((await rowOf(svc.store, id!))!.step !== 'terminate' && Date.now() < deadline) await sleep(50);
      assert.equal((await rowOf(svc.store, id!))!.step, 'terminate', 'passed the first guard check, waiting for its due time');
      const ec2 = ec2Client(moto.endpoint, 'us-east-1');
      await ec2.send(new CreateTagsCommand({ Resources: [late!], Tags: [{ Key: 'ddsrv:protect', Value: 'hands off' }] }));
      ec2.destroy();
      const [row] = await waitFinal(svc, [id!]);
      assert.equal(row!.state, 'refused');
      const events = (await historyOf(svc.store, id!)).map((h) => h.event);
      assert.equal(events[0], 'guard.ok');
      assert.equal(events.at(-1), 'terminate.refused');
      assert.equal((await instanceStates(moto.endpoint, 'us-east-1', [late!]))[late!], 'running');
    } finally {
      await svc.close();
    }
  });

  test('with check_termination_protection, a protected instance is refused without an attempt', async () => {
    const svc = await workerService({}, 'guard:\n  check_termination_protection: true\n');
    try {
      const [plain] = await launchInstances(moto.endpoint, 'us-east-1', 1);
      const [locked] = await launchInstances(moto.endpoint, 'us-east-1', 1, { terminationProtection: true });
      const rows = await waitFinal(svc, await handOff(svc, [plain!, locked!], 'us-east-1'));
      const by = new Map(rows.map((r) => [r.instance_id, r]));
      assert.equal(by.get(plain!)!.state, 'terminated');
      assert.equal(by.get(locked!)!.state, 'refused');
      assert.match(by.get(locked!)!.reason!, /termination protection is on.*not attempted/);
      assert.deepEqual((await historyOf(svc.store, by.get(locked!)!.id)).map((h) => h.event), ['guard.refused']);
      assert.equal((await instanceStates(moto.endpoint, 'us-east-1', [locked!]))[locked!], 'running');
    } finally {
      await svc.close();
    }
  });
});
