/**
 * Property-based tests: thousands of generated documents, bodies and headers thrown at the app through
 * inject(). Never a 5xx, never a crash, never a partial schedule: a 200 schedules every id of the
 * document, a 4xx schedules none. The run counts are printed (the issue asks for them).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { json, testService, type TestService } from '../helpers/service.js';

let svc: TestService;
const TOKEN = 'property-test-token-0123456789';
before(async () => {
  svc = await testService({ authToken: TOKEN, delay: '1d' });
});
after(() => svc.close());

const auth = { authorization: `Bearer ${TOKEN}` };
const post = (payload: string | Buffer, headers: Record<string, string> = { ...json, ...auth }) =>
  svc.app.inject({ method: 'POST', url: '/delayed-termination', headers, payload });

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const goodId = fc.oneof(hex(17), hex(8)).map((h) => `i-${h}`);
const badId = fc.oneof(
  fc.string(),
  hex(16).map((h) => `i-${h}`),
  hex(17).map((h) => `i-${h.toUpperCase()}X`),
  fc.constantFrom('i-', '', ' i-0123abcd', 'i-0123abcd ', 'I-0123ABCD', 'i-0123456789abcdef0\n'),
);
const anyId = fc.oneof(goodId, badId, fc.integer(), fc.constant(null), fc.array(goodId, { maxLength: 2 }));
const region = fc.oneof(fc.constantFrom('us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1'), fc.string(), fc.constant(null), fc.integer());
const document = fc.record(
  {
    ec2_instance_id: anyId,
    ec2_instance_ids: fc.oneof(fc.array(fc.oneof(goodId, goodId, goodId, badId), { maxLength: 30 }), anyId),
    ec2_region: region,
    ip_address: fc.oneof(fc.string(), fc.ipV4(), fc.constant(null), fc.integer()),
    project: fc.oneof(fc.string({ maxLength: 300 }), fc.constant(null)),
    component: fc.oneof(fc.string({ maxLength: 300 }), fc.constant(null)),
    user_data: fc.jsonValue({ maxDepth: 6 }),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
/** Now and then a prototype-pollution key as an own property (an object literal would set the prototype). */
const poisoned = fc.tuple(document, fc.constantFrom('__proto__', 'constructor'), fc.jsonValue({ maxDepth: 2 })).map(([doc, key, value]) => {
  const out: Record<string, unknown> = { ...doc };
  Object.defineProperty(out, key, { value: key === 'constructor' ? { prototype: value } : value, enumerable: true, configurable: true, writable: true });
  return out;
});
const anyDocument = fc.oneof({ arbitrary: document, weight: 9 }, { arbitrary: poisoned, weight: 1 });

const counts: Record<string, number> = {};
after(() => {
  console.log(`# property runs: ${JSON.stringify(counts)}`);
});

function isValidId(v: unknown): v is string {
  return typeof v === 'string' && /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(v);
}

test('generated documents: 200 schedules all of them, 4xx schedules none, never a 5xx', async () => {
  const runs = 3000;
  counts.documents = runs;
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(anyDocument, async (doc) => {
      const before = await svc.store.reads.countLive();
      const res = await post(JSON.stringify(doc));
      assert.ok(res.statusCode < 500, `5xx for ${JSON.stringify(doc).slice(0, 200)}: ${res.body}`);
      const after = await svc.store.reads.countLive();
      if (res.statusCode === 200) {
        accepted += 1;
        const body = res.json() as { terminations: { instance_id: string; already_scheduled: boolean }[] };
        assert.ok(body.terminations.every((t) => isValidId(t.instance_id)));
        const fresh = body.terminations.filter((t) => !t.already_scheduled).length;
        assert.equal(after - before, fresh, 'exactly the new ids were scheduled');
      } else {
        assert.ok(res.statusCode >= 400 && res.statusCode < 500);
        const body = res.json() as { error: string; message: string };
        assert.equal(typeof body.error, 'string');
        assert.equal(typeof body.message, 'string');
        assert.equal(after, before, 'a refused document schedules nothing');
      }
    }),
    { numRuns: runs },
  );
  counts.documentsAccepted = accepted;
  assert.ok(accepted > 50, `the generator should also produce valid documents (got ${accepted})`);
});

test('arbitrary bytes as a body (invalid UTF-8 included) never give a 5xx', async () => {
  const runs = 2000;
  counts.rawBodies = runs;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string().map((s) => new TextEncoder().encode(s))), async (bytes) => {
      const res = await post(Buffer.from(bytes));
      assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
    }),
    { numRuns: runs },
  );
});

test('arbitrary content types and authorization headers never give a 5xx, and never authenticate', async () => {
  const runs = 2000;
  counts.headers = runs;
  const live = await svc.store.reads.countLive();
  await fc.assert(
    fc.asyncProperty(fc.string(), fc.string(), async (contentType, authorization) => {
      const headers: Record<string, string> = {};
      // inject() refuses header values that no HTTP client could send; keep to printable ones.
      if (/^[\x20-\x7e]*$/.test(contentType)) headers['content-type'] = contentType;
      if (/^[\x20-\x7e]*$/.test(authorization)) headers.authorization = authorization;
      const res = await post(JSON.stringify({ ec2_instance_id: 'i-0000000000000abcd' }), headers);
      assert.ok(res.statusCode < 500 && res.statusCode !== 200, `${res.statusCode} ${res.body}`);
    }),
    { numRuns: runs },
  );
  assert.equal(await svc.store.reads.countLive(), live);
});

test('deep nesting, huge strings and prototype keys are refused cleanly', async () => {
  const deep = `{"ec2_instance_id":"i-0123456789abcdef0","user_data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  const res = await post(deep);
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error, 'too_deep');
  const huge = await post(JSON.stringify({ ec2_instance_id: 'i-0123456789abcdef0', project: 'p'.repeat(900_000) }));
  assert.equal(huge.statusCode, 400);
  assert.equal(huge.json().error, 'invalid_field');
  for (const body of ['{"__proto__":{"polluted":1},"ec2_instance_id":"i-0123456789abcdef0"}', '{"a":{"constructor":{"prototype":{"polluted":1}}}}']) {
    const r = await post(body);
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error, 'forbidden_key');
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
