/**
 * The operator API (README "Operator API") through `inject()` on a real service with a real SQLite file: listing with
 * filters and keyset pages, one termination with its history, cancel and expedite with their conflicts,
 * the races with the worker, authentication, the OpenAPI document. The list's query plans are checked
 * on both engines in test/store/contract/list-plans.test.ts.
 */
import { parsePolicy } from '../../src/policy/load.js';
import { Policy } from '../../src/policy/resolve.js';
import { skipReason } from '../../src/worker/pipeline.js';
import { readStepData } from '../../src/worker/step-data.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALL_STATES } from '../../src/domain/states.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';
import { forceRow } from '../helpers/store-tables.js';

const TOKEN = 'operator-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let svc: TestService;
let seq = 0x1000;
const nextId = () => `i-${(seq++).toString(16).padStart(17, '0')}`;

before(async () => {
  svc = await testService({ authToken: TOKEN, delay: '1h' });
});
after(() => svc.close());

async function handOff(doc: Record<string, unknown>): Promise<{ id: number; instance_id: string }[]> {
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, ...auth, 'user-agent': 'skopos-test/1' }, payload: doc });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().terminations;
}
const get = (url: string, headers: Record<string, string> = auth) => svc.app.inject({ method: 'GET', url, headers });
// Actions are JSON-typed, `{}` when there is nothing to say (request-guard.ts).
const post = (url: string, payload: unknown = {}) => svc.app.inject({ method: 'POST', url, headers: { ...auth, ...json }, payload: payload as object });

describe('listing', () => {
  const ids: Record<string, number[]> = { shop: [], blog: [] };
  before(async () => {
    for (let i = 0; i < 7; i++) {
      const project = i % 2 === 0 ? 'shop' : 'blog';
      const [t] = await handOff({ ec2_instance_id: nextId(), project, component: i < 4 ? 'web' : 'worker', ec2_region: 'eu-west-1' });
      ids[project]!.push(t!.id);
    }
  });

  test('pages newest first with an opaque cursor, every row once, then next is null', async () => {
    const seen: number[] = [];
    let url = '/api/v1/terminations?limit=3';
    let pages = 0;
    for (;;) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      seen.push(...body.items.map((t: { id: number }) => t.id));
      pages += 1;
      if (body.next === null) break;
      assert.match(body.next, /^[A-Za-z0-9_-]+$/);
      url = `/api/v1/terminations?limit=3&cursor=${body.next}`;
    }
    const all = [...ids.shop!, ...ids.blog!].sort((a, b) => b - a);
    assert.deepEqual(seen.filter((id) => all.includes(id)), all);
    assert.deepEqual([...seen].sort((a, b) => b - a), seen, 'strictly newest first');
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    assert.ok(pages >= 3);
  });

  test('an item has the documented fields', async () => {
    const item = (await get('/api/v1/terminations?limit=1')).json().items[0];
    for (const key of ['id', 'instance_id', 'region', 'state', 'due_at', 'project', 'component', 'final', 'step', 'reason', 'created_at']) assert.ok(key in item, key);
    assert.equal(item.region, 'eu-west-1');
    assert.equal(item.state, 'pending');
    assert.equal(item.final, false);
    assert.ok(Date.parse(item.due_at) > Date.now() + 3500_000, 'due in about an hour');
    assert.equal('user_data' in item, false, 'user_data only in the detail');
  });

  test('filters by project, component, state (several) and instance, combined with AND, across pages', async () => {
    const shop = (await get('/api/v1/terminations?project=shop&limit=500')).json().items;
    assert.deepEqual(shop.map((t: { id: number }) => t.id), [...ids.shop!].reverse());
    const shopWeb = (await get('/api/v1/terminations?project=shop&component=web&state=pending')).json().items;
    assert.ok(shopWeb.length === 2 && shopWeb.every((t: { project: string; component: string }) => t.project === 'shop' && t.component === 'web'));
    const paged = (await get('/api/v1/terminations?project=blog&limit=2')).json();
    assert.equal(paged.items.length, 2);
    const rest = (await get(`/api/v1/terminations?project=blog&limit=2&cursor=${paged.next}`)).json();
    assert.deepEqual([...paged.items, ...rest.items].map((t: { id: number }) => t.id), [...ids.blog!].reverse().slice(0, 2 + rest.items.length));
    const instance = shop[0].instance_id;
    const one = (await get(`/api/v1/terminations?instance_id=${instance}`)).json();
    assert.deepEqual(one.items.map((t: { instance_id: string }) => t.instance_id), [instance]);
    assert.equal(one.next, null);
    assert.equal((await get(`/api/v1/terminations?instance_id=${instance}&project=blog`)).json().items.length, 0);
    const none = (await get('/api/v1/terminations?state=terminated,failed&project=shop')).json();
    assert.deepEqual(none, { items: [], next: null });
  });

  test('order=due pages soonest due first and order=ended final rows only, each with its own cursor', async () => {
    const pages = async (query: string) => {
      const seen: { id: number; due_at: string; final: boolean }[] = [];
      let url = `/api/v1/terminations?${query}&limit=2`;
      for (let n = 0; n < 50; n++) {
        const res = await get(url);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        seen.push(...body.items);
        if (body.next === null) return seen;
        url = `/api/v1/terminations?${query}&limit=2&cursor=${body.next}`;
      }
      throw new Error('too many pages');
    };
    const byDue = await pages('order=due&state=pending,draining');
    const sorted = [...byDue].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at) || a.id - b.id);
    assert.deepEqual(byDue.map((t) => t.id), sorted.map((t) => t.id));
    assert.ok([...ids.shop!, ...ids.blog!].every((id) => byDue.some((t) => t.id === id)), 'every pending row, once');
    assert.equal(new Set(byDue.map((t) => t.id)).size, byDue.length);
    const ended = await pages('order=ended');
    assert.ok(ended.every((t) => t.final), 'final rows only');
    assert.equal(ended.some((t) => [...ids.shop!, ...ids.blog!].includes(t.id)), false);
    // A cursor belongs to its order.
    const first = (await get('/api/v1/terminations?order=due&limit=1')).json();
    const wrong = await get(`/api/v1/terminations?order=id&cursor=${first.next}`);
    assert.equal(wrong.statusCode, 400);
    assert.equal(wrong.json().error, 'invalid_cursor');
  });

  test('bad parameters get 400 naming the problem', async () => {
    const cases: [string, string][] = [
      ['state=bogus', 'invalid_state'],
      ['state=pending,nope', 'invalid_state'],
      ['limit=0', 'invalid_parameter'],
      ['limit=501', 'invalid_parameter'],
      ['limit=abc', 'invalid_parameter'],
      ['cursor=not-a-cursor', 'invalid_cursor'],
      ['stat=pending', 'invalid_parameter'],
      ['order=newest', 'invalid_parameter'],
      ['order=ended&state=pending', 'invalid_parameter'],
    ];
    for (const [query, code] of cases) {
      const res = await get(`/api/v1/terminations?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().error, code, query);
      assert.ok(res.json().message.length > 10, query);
    }
    assert.match((await get('/api/v1/terminations?stat=pending')).json().message, /'stat'/);
    assert.match((await get('/api/v1/terminations?limit=0')).json().message, /limit/);
    assert.equal((await get('/api/v1/terminations/abc')).statusCode, 400);
  });
});

describe('one termination', () => {
  test('with its full history, the hand-off first (told from the row), user_data parsed', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId(), project: 'shop', user_data: { build: 42, tags: ['a'] } });
    const res = await get(`/api/v1/terminations/${t!.id}`);
    assert.equal(res.statusCode, 200);
    const d = res.json();
    assert.equal(d.instance_id, t!.instance_id);
    assert.deepEqual(d.user_data, { build: 42, tags: ['a'] });
    assert.equal(d.user_agent, 'skopos-test/1');
    assert.equal(d.history.length, 1);
    assert.equal(d.history[0].event, 'accepted');
    assert.equal(d.history[0].state, 'pending');
    assert.match(d.history[0].detail, /handed off by bearer/);
    assert.equal(d.history[0].at, d.created_at);
  });

  test('an unknown id is 404', async () => {
    const res = await get('/api/v1/terminations/999999');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'not_found');
  });
});

describe('cancel and expedite', () => {
  test('cancel: pending -> cancelled, the instance kept, said in the history; again -> 409 with the state', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId() });
    const res = await post(`/api/v1/terminations/${t!.id}/cancel`, { reason: 'still needed for the demo' });
    assert.equal(res.statusCode, 200, res.body);
    const d = res.json();
    assert.equal(d.state, 'cancelled');
    assert.equal(d.final, true);
    assert.equal(d.next_attempt_at, null);
    assert.match(d.reason, /cancelled by bearer: still needed for the demo/);
    const last = d.history.at(-1);
    assert.equal(last.event, 'cancelled');
    assert.match(last.detail, /The instance is kept/);
    assert.doesNotMatch(last.detail, /draining/);

    const again = await post(`/api/v1/terminations/${t!.id}/cancel`);
    assert.equal(again.statusCode, 409);
    assert.deepEqual(Object.keys(again.json()).sort(), ['error', 'message', 'state']);
    assert.equal(again.json().error, 'conflict');
    assert.equal(again.json().state, 'cancelled');
    const expedite = await post(`/api/v1/terminations/${t!.id}/expedite`);
    assert.equal(expedite.statusCode, 409);
    assert.equal(expedite.json().state, 'cancelled');
    // The instance can be handed off again: a cancelled termination is over.
    const [again2] = await handOff({ ec2_instance_id: t!.instance_id });
    assert.notEqual(again2!.id, t!.id);
  });

  test('cancel while draining says the instance was already deregistered and is not put back', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId() });
    const now = Date.now();
    const stepData = {
      asg: { group: 'web-asg', lifecycle: 'InService', detached: true, classic: [], targetGroups: [] },
      lb: { targets: [{ arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0ecf831eec9f09', port: 80 }], classic: ['legacy-elb'], startedAt: now, deadline: now + 600_000 },
    };
    await forceRow(svc.store, t!.id, { state: 'draining', step: 'drain_wait', step_data: JSON.stringify(stepData) }, [{ at: now, state: 'draining', step: 'lb_deregister', event: 'lb_deregister.ok', detail: 'deregistered from 2 load balancers' }]);
    const d = (await post(`/api/v1/terminations/${t!.id}/cancel`)).json();
    assert.equal(d.state, 'cancelled');
    const detail = d.history.at(-1).detail;
    assert.match(detail, /already started draining \(lb_deregister\.ok\)/);
    assert.match(detail, /detached from Auto Scaling group web-asg \(its desired capacity was decremented\)/);
    assert.match(detail, /deregistered from target group web-tg; it was deregistered from classic load balancer legacy-elb/);
    assert.match(detail, /NOT undone/);
  });

  test('expedite: due now, straight to the terminate step, history says so, worker woken; then conflicts', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId() });
    let poked = 0;
    const realPoke = svc.worker.poke.bind(svc.worker);
    svc.worker.poke = () => {
      poked += 1;
      realPoke();
    };
    try {
      await forceRow(svc.store, t!.id, { state: 'draining', step: 'drain_wait', attempts: 2 });
      const before = Date.now();
      const res = await post(`/api/v1/terminations/${t!.id}/expedite`, {});
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json();
      assert.ok(Date.parse(d.due_at) >= before - 5 && Date.parse(d.due_at) <= Date.now());
      assert.equal(d.next_attempt_at, d.due_at);
      assert.equal(d.step, 'terminate');
      assert.equal(d.attempts, 0);
      assert.equal(d.final, false);
      assert.equal(d.history.at(-1).event, 'expedited');
      assert.match(d.history.at(-1).detail, /the rest of the drain \(from step 'drain_wait'\) and of the delay skipped; terminating now/);
      assert.equal(poked, 1);
      // The worker's next claim takes it at once.
      const claimed = await svc.store.work.claim('test-worker', Date.now(), 30_000, 10_000);
      assert.ok(claimed.some((r) => r.id === t!.id));
      await svc.store.work.enter('test-worker', [t!.id], 'terminating', 'terminate.started', Date.now());
      const conflict = await post(`/api/v1/terminations/${t!.id}/expedite`);
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json().state, 'terminating');
      assert.match(conflict.json().message, /already under way/);
      assert.equal((await post(`/api/v1/terminations/${t!.id}/cancel`)).json().state, 'terminating');
      await svc.store.work.release('test-worker', Date.now());
    } finally {
      svc.worker.poke = realPoke;
    }
  });

  test('expedite never skips the guard, nor leaving the Auto Scaling group and load balancers', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId() });
    const kept: [string, string][] = [
      ['guard', 'guard, asg_detach, lb_deregister'],
      ['asg_detach', 'asg_detach, lb_deregister'],
      ['lb_deregister', 'lb_deregister'],
    ];
    for (const [step, rest] of kept) {
      await forceRow(svc.store, t!.id, { state: step === 'guard' ? 'pending' : 'draining', step, next_attempt_at: Date.now() + 60_000 });
      const d = (await post(`/api/v1/terminations/${t!.id}/expedite`)).json();
      assert.equal(d.step, step);
      assert.ok(Date.parse(d.due_at) <= Date.now() && Date.parse(d.next_attempt_at) <= Date.now());
      assert.ok(d.history.at(-1).detail.includes(`still run first (from step '${step}': ${rest})`), d.history.at(-1).detail);
    }
    for (const step of ['drain_wait', 'drain_hook']) {
      await forceRow(svc.store, t!.id, { state: 'draining', step, next_attempt_at: Date.now() + 60_000 });
      assert.equal((await post(`/api/v1/terminations/${t!.id}/expedite`)).json().step, 'terminate', step);
    }
    // After the steps it keeps, the pipeline skips the drain wait and the hook of an expedited row.
    const data = readStepData((await rowOf(svc.store, t!.id))!);
    assert.equal(data.expedited, true);
    const policy = new Policy(parsePolicy('defaults:\n  drain:\n    hook: { url: "http://{private_ip}/drain" }\n'), 0).resolve(null, null);
    assert.equal(skipReason('drain_wait', policy, data), 'expedited by an operator');
    assert.equal(skipReason('drain_hook', policy, data), 'expedited by an operator');
    assert.equal(skipReason('drain_hook', policy, {}), null);
  });

  test('a cancel wins against a worker that holds the row but has not started terminating', async () => {
    const [t] = await handOff({ ec2_instance_id: nextId() });
    await post(`/api/v1/terminations/${t!.id}/expedite`);
    const claimed = await svc.store.work.claim('w1', Date.now(), 30_000, 10_000);
    assert.ok(claimed.some((r) => r.id === t!.id), 'the worker holds it');
    const cancel = await post(`/api/v1/terminations/${t!.id}/cancel`);
    assert.equal(cancel.statusCode, 200);
    // The worker's move to `terminating` (before its AWS call) no longer matches: it will not terminate.
    const held = await svc.store.work.enter('w1', [t!.id], 'terminating', 'terminate.started', Date.now());
    assert.deepEqual(held, []);
    const settled = await svc.store.work.settle('w1', [{ id: t!.id, state: 'terminated', step: 'terminate', nextAttemptAt: null, attempts: 'keep', reason: null, event: 'terminate.ok', detail: null }], Date.now());
    assert.deepEqual(settled, []);
    assert.equal((await rowOf(svc.store, t!.id))?.state, 'cancelled');
    await svc.store.work.release('w1', Date.now());
  });

  test('unknown ids are 404, bad bodies 400', async () => {
    assert.equal((await post('/api/v1/terminations/424242/cancel')).statusCode, 404);
    assert.equal((await post('/api/v1/terminations/424242/expedite')).statusCode, 404);
    const [t] = await handOff({ ec2_instance_id: nextId() });
    const bad = await post(`/api/v1/terminations/${t!.id}/cancel`, { reason: { text: 'x' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'invalid_parameter');
    const extra = await post(`/api/v1/terminations/${t!.id}/cancel`, { reason: 'x', force: true });
    assert.equal(extra.statusCode, 200, 'unknown body keys are ignored'); // forward compatible, like hand-offs
  });
});

describe('authentication and documents', () => {
  test('the API and /metrics need the token; the dashboard page and the OpenAPI document do not', async () => {
    for (const url of ['/api/v1/terminations', '/api/v1/terminations/1', '/api/v1/status', '/metrics']) {
      const res = await get(url, {});
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().error, 'unauthorized');
    }
    assert.equal((await svc.app.inject({ method: 'POST', url: '/api/v1/terminations/1/cancel' })).statusCode, 401);
    const page = await get('/', {});
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /script-src 'sha256-/);
    assert.match(page.body, /<title>ddsrv<\/title>/);
    assert.doesNotMatch(page.body, /i-0000/, 'the page holds no data');
    assert.equal((await get('/api/v1/openapi.json', {})).statusCode, 200);
  });

  test('the OpenAPI document is generated from the route schemas', async () => {
    const doc = (await get('/api/v1/openapi.json', {})).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/api/v1/terminations', '/api/v1/terminations/{id}', '/api/v1/terminations/{id}/cancel', '/api/v1/terminations/{id}/expedite', '/api/v1/status', '/delayed-termination', '/metrics', '/']) {
      assert.ok(doc.paths[path], path);
    }
    const list = doc.paths['/api/v1/terminations'].get;
    assert.deepEqual(list.parameters.map((p: { name: string }) => p.name).sort(), ['component', 'cursor', 'instance_id', 'limit', 'order', 'project', 'state']);
    assert.deepEqual(list.parameters.find((p: { name: string }) => p.name === 'order').schema.enum, ['id', 'due', 'ended']);
    assert.equal(list.parameters.find((p: { name: string }) => p.name === 'limit').schema.maximum, 500);
    assert.deepEqual(list.responses['200'].content['application/json'].schema.properties.items.items.properties.state.enum, [...ALL_STATES]);
    const cancel = doc.paths['/api/v1/terminations/{id}/cancel'].post;
    assert.deepEqual(cancel.responses['409'].content['application/json'].schema.required, ['error', 'message', 'state']);
    assert.equal(cancel.parameters[0].in, 'path');
    assert.equal(cancel.requestBody.required, true, 'application/json, {} when there is nothing to say');
    assert.equal(cancel.responses['403'].content['application/json'].schema.required[0], 'error');
    assert.ok(cancel.responses['415'] && cancel.responses['421'] && doc.paths['/delayed-termination'].post.responses['413'].description.includes('user_data_too_large'));
    assert.equal(list.responses['403'], undefined, 'reads are never refused as cross-origin');
    assert.deepEqual(doc.paths['/delayed-termination'].get.security, []);
    assert.ok(doc.components.securitySchemes.bearer);
    const status = doc.paths['/api/v1/status'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(status.properties.aws_credentials.properties.state.enum, ['unchecked', 'ok', 'missing']);
    assert.equal(doc.paths['/api/v1/status'].get.security, undefined, 'behind the token');
  });
});
