/**
 * Prometheus /metrics: hand-offs accepted and rejected by reason, instances scheduled, the active gauge,
 * operator actions, outcomes from the worker hook, AWS calls, and bounded labels (no instance ids).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Metrics } from '../../src/metrics.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { rowOf } from '../helpers/store-reads.js';
import { forceRow } from '../helpers/store-tables.js';

const TOKEN = 'metrics-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let svc: TestService;

before(async () => {
  svc = await testService({ authToken: TOKEN, delay: '1h' });
});
after(() => svc.close());

const scrape = async () => {
  const res = await svc.app.inject({ method: 'GET', url: '/metrics', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  return res.body;
};
/** The value of one series, e.g. value(text, 'ddsrv_handoffs_rejected_total{reason="invalid_json"}'). */
const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};
const handOff = (payload: unknown, headers: Record<string, string> = { ...json, ...auth }) =>
  svc.app.inject({ method: 'POST', url: '/delayed-termination', headers, payload: payload as string });

test('accepted and rejected hand-offs are counted, rejections by the error code of the answer', async () => {
  assert.equal((await handOff({ ec2_instance_ids: ['i-00000000000000a01', 'i-00000000000000a02'] })).statusCode, 200);
  assert.equal((await handOff({ ec2_instance_id: 'i-00000000000000a01' })).statusCode, 200); // a repeat
  assert.equal((await handOff({ ec2_instance_id: 'i-nothex' })).statusCode, 400);
  assert.equal((await handOff({ ec2_instance_id: 'i-nothex' })).statusCode, 400);
  assert.equal((await handOff('{"ec2_instance_id": ', { ...json, ...auth })).statusCode, 400);
  assert.equal((await handOff('x', { 'content-type': 'text/plain', ...auth })).statusCode, 415);
  assert.equal((await handOff({ ec2_instance_id: 'i-00000000000000a03' }, json)).statusCode, 401);
  const text = await scrape();
  assert.equal(value(text, 'ddsrv_handoffs_accepted_total'), 2);
  assert.equal(value(text, 'ddsrv_handoff_instances_total{result="scheduled"}'), 2);
  assert.equal(value(text, 'ddsrv_handoff_instances_total{result="already_scheduled"}'), 1);
  assert.equal(value(text, 'ddsrv_handoffs_rejected_total{reason="invalid_instance_id"}'), 2);
  assert.equal(value(text, 'ddsrv_handoffs_rejected_total{reason="invalid_json"}'), 1);
  assert.equal(value(text, 'ddsrv_handoffs_rejected_total{reason="unsupported_media_type"}'), 1);
  assert.equal(value(text, 'ddsrv_handoffs_rejected_total{reason="unauthorized"}'), 1);
  assert.equal(value(text, 'ddsrv_handoff_acceptance_seconds_count'), 2);
  assert.ok(value(text, 'ddsrv_handoff_acceptance_seconds_sum') > 0);
  assert.equal(value(text, 'ddsrv_terminations_active{state="pending"}'), 2);
  assert.equal(value(text, 'ddsrv_terminations_active{state="draining"}'), 0);
  // Operator API traffic is not a hand-off.
  await svc.app.inject({ method: 'GET', url: '/api/v1/terminations?state=nope', headers: auth });
  assert.equal(value(await scrape(), 'ddsrv_handoffs_rejected_total{reason="invalid_state"}'), 0);
});

test('operator actions, worker outcomes, drains and AWS calls are counted', async () => {
  const res = await handOff({ ec2_instance_ids: ['i-00000000000000b01', 'i-00000000000000b02', 'i-00000000000000b03'] });
  const [a, b, c] = res.json().terminations as { id: number }[];
  assert.equal((await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${a!.id}/cancel`, headers: { ...auth, ...json }, payload: {} })).statusCode, 200);
  assert.equal((await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${a!.id}/cancel`, headers: { ...auth, ...json }, payload: {} })).statusCode, 409);
  assert.equal((await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${b!.id}/expedite`, headers: { ...auth, ...json }, payload: {} })).statusCode, 200);

  // The worker hook, as the worker calls it: a terminated row, and a row that drained for 42 s.
  const row = (await rowOf(svc.store, b!.id))!;
  svc.metrics.outcome({ ...row, created_at: Date.now() - 90_000 }, { id: row.id, state: 'terminated', step: 'terminate', nextAttemptAt: null, attempts: 'keep', reason: null, event: 'terminate.ok', detail: null });
  const drained = (await rowOf(svc.store, c!.id))!;
  await forceRow(svc.store, c!.id, {}, [{ at: Date.now() - 42_000, state: 'draining', step: 'lb-deregister', event: 'lb-deregister.ok', detail: null }]);
  svc.metrics.outcome({ ...drained, state: 'draining', step: 'drain_wait' }, { id: drained.id, state: 'draining', step: 'terminate', nextAttemptAt: Date.now() + 60_000, attempts: 'reset', reason: null, event: 'drain_wait.ok', detail: null });
  // Leaving `draining` for the termination itself is not the end of a drain (it ended above).
  svc.metrics.outcome({ ...drained, state: 'draining', step: 'terminate' }, { id: drained.id, state: 'failed', step: 'terminate', nextAttemptAt: null, attempts: 'keep', reason: 'x', event: 'terminate.failed', detail: 'x' });
  svc.metrics.countAwsCall('TerminateInstances', 'ok');
  svc.metrics.countAwsCall('TerminateInstances', 'error');
  svc.metrics.countAwsCall('DescribeInstances', 'ok');
  await new Promise((r) => setTimeout(r, 50)); // the drain start is looked up off the worker's path

  const text = await scrape();
  assert.equal(value(text, 'ddsrv_operator_actions_total{action="cancel",result="done"}'), 1);
  assert.equal(value(text, 'ddsrv_operator_actions_total{action="cancel",result="conflict"}'), 1);
  assert.equal(value(text, 'ddsrv_operator_actions_total{action="expedite",result="done"}'), 1);
  assert.equal(value(text, 'ddsrv_terminations_finished_total{state="cancelled"}'), 1);
  assert.equal(value(text, 'ddsrv_terminations_finished_total{state="terminated"}'), 1);
  assert.equal(value(text, 'ddsrv_terminations_finished_total{state="failed"}'), 1);
  assert.equal(value(text, 'ddsrv_handoff_to_termination_seconds_count{state="terminated"}'), 1);
  assert.equal(value(text, 'ddsrv_handoff_to_termination_seconds_bucket{le="60",state="terminated"}'), 0);
  assert.equal(value(text, 'ddsrv_handoff_to_termination_seconds_bucket{le="120",state="terminated"}'), 1);
  assert.equal(value(text, 'ddsrv_drain_seconds_count'), 1);
  assert.equal(value(text, 'ddsrv_drain_seconds_bucket{le="30"}'), 0);
  assert.equal(value(text, 'ddsrv_drain_seconds_bucket{le="60"}'), 1);
  assert.equal(value(text, 'ddsrv_aws_calls_total{operation="TerminateInstances",outcome="ok"}'), 1);
  assert.equal(value(text, 'ddsrv_aws_calls_total{operation="TerminateInstances",outcome="error"}'), 1);
  assert.equal(value(text, 'ddsrv_aws_calls_total{operation="DescribeInstances",outcome="ok"}'), 1);
  assert.match(text, /^process_resident_memory_bytes /m, 'process metrics too');
});

test('label values are bounded: no instance id, project or free text ever becomes a label', async () => {
  await handOff({ ec2_instance_id: 'i-00000000000000c01', project: 'p-secret-project', component: 'c-web' });
  await handOff({ ec2_instance_id: 'i-definitely not valid "quoted"' });
  svc.metrics.countAwsCall('Weird Operation {"x"}', 'ok');
  const text = await scrape();
  assert.doesNotMatch(text, /i-[0-9a-f]{8}/);
  assert.doesNotMatch(text, /secret-project|c-web/);
  assert.match(text, /ddsrv_aws_calls_total\{operation="other",outcome="ok"\} 1/);
  const labels = [...text.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/="([^"]*)"/g)].map((v) => v[1]!));
  for (const l of labels) assert.match(l, /^[A-Za-z0-9_.+-]*$/, l);
});

test('each Metrics has its own registry (several services in one process)', async () => {
  const one = new Metrics({ defaultMetrics: false });
  const two = new Metrics({ defaultMetrics: false });
  one.handOffsAccepted.inc();
  assert.match((await one.render()).body, /ddsrv_handoffs_accepted_total 1/);
  assert.match((await two.render()).body, /ddsrv_handoffs_accepted_total 0/);
});
