/**
 * What no web page may make a browser do (src/api/request-guard.ts), through `inject()`: state-changing
 * requests must be JSON-typed and must not come from another origin, and only requests whose Host names
 * the service are served (DNS rebinding). Every refusal is the documented JSON error and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveServeConfig, ConfigError } from '../../src/config.js';
import { hostPolicy, parseAllowedHosts } from '../../src/domain/allowed-hosts.js';
import { json, testService, type TestService } from '../helpers/service.js';

const ID = 'i-0123456789abcdef0';
const handOffDoc = JSON.stringify({ ec2_instance_id: ID });

let svc: TestService;
let termId: number;
before(async () => {
  svc = await testService({ delay: '1h' });
  const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: handOffDoc });
  assert.equal(res.statusCode, 200, res.body);
  termId = res.json().terminations[0].id;
});
after(() => svc.close());

const STATE_CHANGING = () => [`/api/v1/terminations/${termId}/cancel`, `/api/v1/terminations/${termId}/expedite`, '/delayed-termination'];

/** Every termination with its history: an attempt that changed anything changes this. */
async function snapshot(): Promise<string> {
  const items = (await svc.app.inject({ method: 'GET', url: '/api/v1/terminations' })).json().items as { id: number }[];
  const details = await Promise.all(items.map(async (i) => (await svc.app.inject({ method: 'GET', url: `/api/v1/terminations/${i.id}` })).json()));
  return JSON.stringify(details);
}

function assertError(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): { error: string; message: string } {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()));
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as { error: string; message: string };
  assert.equal(body.error, code);
  assert.equal(typeof body.message, 'string');
  return body;
}

describe('state-changing requests must be application/json (else 415)', () => {
  test('the CORS "simple request" bodies a page can send without a preflight are refused', async () => {
    const simple: { name: string; headers: Record<string, string>; payload?: string }[] = [
      { name: 'text/plain, empty', headers: { 'content-type': 'text/plain' }, payload: '' },
      { name: 'text/plain with JSON in it', headers: { 'content-type': 'text/plain;charset=UTF-8' }, payload: handOffDoc },
      { name: 'no body at all', headers: {} },
      { name: 'a form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'reason=x' },
      { name: 'a multipart form', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--\r\n' },
    ];
    const before = await snapshot();
    for (const url of STATE_CHANGING()) {
      for (const s of simple) {
        const res = await svc.app.inject({ method: 'POST', url, headers: s.headers, ...(s.payload === undefined ? {} : { payload: s.payload }) });
        const body = assertError(res, 415, 'unsupported_media_type');
        assert.match(body.message, /application\/json/, `${url}: ${s.name}`);
      }
    }
    assert.equal(await snapshot(), before, 'nothing changed');
  });

  test('JSON-typed actions still work; routes that change nothing keep their own answers', async () => {
    const other = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: JSON.stringify({ ec2_instance_id: 'i-0123456789abcdef1' }) });
    assert.equal(other.statusCode, 200, other.body);
    const id = other.json().terminations[0].id;
    const cancelled = await svc.app.inject({ method: 'POST', url: `/api/v1/terminations/${id}/cancel`, headers: json, payload: {} });
    assert.equal(cancelled.json().state, 'cancelled');
    assertError(await svc.app.inject({ method: 'POST', url: '/no-such-thing', headers: { 'content-type': 'text/plain' }, payload: '' }), 404, 'not_found');
    assertError(await svc.app.inject({ method: 'PUT', url: '/delayed-termination', headers: { 'content-type': 'text/plain' }, payload: '' }), 405, 'method_not_allowed');
  });
});

describe('cross-origin requests are refused (403 cross_origin)', () => {
  const refused: Record<string, string>[] = [
    { origin: 'http://evil.example' },
    { origin: 'http://127.0.0.1:9999' }, // another port on the same machine is another origin
    { origin: 'null' }, // sandboxed frames, data: pages
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
  ];

  test('for every state-changing route, with a JSON body too, and nothing changes', async () => {
    const before = await snapshot();
    for (const url of STATE_CHANGING()) {
      for (const headers of refused) {
        const res = await svc.app.inject({ method: 'POST', url, headers: { ...json, host: '127.0.0.1:8000', ...headers }, payload: url === '/delayed-termination' ? handOffDoc : '{}' });
        const body = assertError(res, 403, 'cross_origin');
        assert.match(body.message, /Nothing was done/, JSON.stringify(headers));
      }
    }
    assert.equal(await snapshot(), before, 'nothing changed');
  });

  test('the dashboard (same origin), curl and Skopos (no such headers) are unaffected; reads are not refused', async () => {
    const allowed: Record<string, string>[] = [
      {},
      { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin' },
      { origin: 'https://127.0.0.1:8000' }, // behind a TLS-terminating proxy the page is https, this hop http
      { 'sec-fetch-site': 'none' }, // typed into the address bar
    ];
    for (const headers of allowed) {
      const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, host: '127.0.0.1:8000', ...headers }, payload: handOffDoc });
      assert.equal(res.statusCode, 200, `${JSON.stringify(headers)}: ${res.body}`);
      assert.equal(res.json().terminations[0].already_scheduled, true);
    }
    const read = await svc.app.inject({ method: 'GET', url: '/api/v1/terminations', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(read.statusCode, 200, 'CORS keeps the answer from the page: reads are not refused');
  });

  test('behind a proxy that rewrites Host: the browser\'s same-origin, or an origin named by --allowed-hosts', async () => {
    const viaProxy = { ...json, host: '127.0.0.1:8000', origin: 'https://ddsrv.example.com' };
    const sameOrigin = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...viaProxy, 'sec-fetch-site': 'same-origin' }, payload: handOffDoc });
    assert.equal(sameOrigin.statusCode, 200, sameOrigin.body);
    assertError(await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: viaProxy, payload: handOffDoc }), 403, 'cross_origin');
    const proxied = await testService({ allowedHosts: 'ddsrv.example.com' });
    try {
      const res = await proxied.app.inject({ method: 'POST', url: '/delayed-termination', headers: viaProxy, payload: handOffDoc });
      assert.equal(res.statusCode, 200, res.body);
      const foreign = await proxied.app.inject({ method: 'POST', url: '/delayed-termination', headers: { ...json, host: '127.0.0.1:8000', origin: 'https://evil.example' }, payload: handOffDoc });
      assertError(foreign, 403, 'cross_origin');
    } finally {
      await proxied.close();
    }
  });
});

describe('only requests whose Host names the service are served (421 otherwise)', () => {
  test('a loopback listener answers to the loopback names and IP addresses, with or without a port', async () => {
    for (const host of ['localhost', 'localhost:8000', '127.0.0.1', '127.0.0.1:8000', '[::1]', '[::1]:8000', 'LOCALHOST:8000', '10.0.0.5:8000']) {
      const res = await svc.app.inject({ method: 'GET', url: '/api/v1/terminations', headers: { host } });
      assert.equal(res.statusCode, 200, host);
    }
  });

  test('a foreign name (DNS rebinding) gets 421 naming the flag, for reads, hand-offs and the health check', async () => {
    for (const [method, url] of [['GET', '/api/v1/terminations'], ['GET', '/delayed-termination'], ['POST', '/delayed-termination'], ['GET', '/metrics']] as const) {
      for (const host of ['evil.example', 'evil.example:8000', 'localhost.evil.example', 'localhost.']) {
        const res = await svc.app.inject({ method, url, headers: { ...json, host }, ...(method === 'POST' ? { payload: JSON.stringify({ ec2_instance_id: 'i-0123456789abcdef9' }) } : {}) });
        const body = assertError(res, 421, 'unknown_host');
        assert.match(body.message, /--allowed-hosts .*DDSRV_ALLOWED_HOSTS/);
      }
    }
    const listed = await svc.app.inject({ method: 'GET', url: '/api/v1/terminations?instance_id=i-0123456789abcdef9' });
    assert.deepEqual(listed.json().items, [], 'the rebinding hand-off was not recorded');
  });

  test('--allowed-hosts adds names; * allows any; a non-loopback listener allows any unless the flag is given', () => {
    assert.equal(hostPolicy('127.0.0.1', ['ddsrv.internal']).allows('ddsrv.internal:8000'), true);
    assert.equal(hostPolicy('127.0.0.1', ['ddsrv.internal']).allows('localhost'), true);
    assert.equal(hostPolicy('127.0.0.1', ['ddsrv.internal']).allows('evil.example'), false);
    assert.equal(hostPolicy('127.0.0.1', '*').allows('evil.example'), true);
    assert.equal(hostPolicy('0.0.0.0', null).allows('ddsrv:8000'), true);
    assert.equal(hostPolicy('0.0.0.0', ['ddsrv']).allows('ddsrv:8000'), true);
    assert.equal(hostPolicy('0.0.0.0', ['ddsrv']).allows('evil.example'), false);
    assert.equal(hostPolicy('0.0.0.0', ['ddsrv']).allows('10.1.2.3:8000'), true, 'an IP address cannot be rebound');
    assert.deepEqual(parseAllowedHosts(' ddsrv.internal, DDSRV ,'), ['ddsrv.internal', 'ddsrv']);
    assert.throws(() => parseAllowedHosts('http://ddsrv'), /not a host name/);
    assert.throws(() => parseAllowedHosts('*,ddsrv'), /alone/);
  });

  test('the flag and DDSRV_ALLOWED_HOSTS are validated at start-up, naming both', () => {
    assert.deepEqual(resolveServeConfig({}, { DDSRV_ALLOWED_HOSTS: 'a.example,b.example' }).allowedHosts, ['a.example', 'b.example']);
    assert.equal(resolveServeConfig({ allowedHosts: '*' }, {}).allowedHosts, '*');
    assert.equal(resolveServeConfig({}, {}).allowedHosts, null);
    assert.throws(() => resolveServeConfig({ allowedHosts: 'ddsrv:8000' }, {}), (e: Error) => e instanceof ConfigError && /--allowed-hosts \(or DDSRV_ALLOWED_HOSTS\)/.test(e.message));
  });
});

describe('user_data has its own limit (413 user_data_too_large)', () => {
  test('16 KiB serialized by default, counted in bytes; larger is refused naming the limit, nothing scheduled', async () => {
    const post = (user_data: unknown, id: string) =>
      svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: JSON.stringify({ ec2_instance_id: id, user_data }) });
    const atLimit = 'x'.repeat(16 * 1024 - 2); // + 2 quotes = 16384 bytes serialized
    assert.equal((await post(atLimit, 'i-00000000000000a01')).statusCode, 200);
    const over = assertError(await post(`${atLimit}x`, 'i-00000000000000a02'), 413, 'user_data_too_large');
    assert.match(over.message, /16385 bytes serialized; the limit is 16384 bytes \(--max-user-data\)/);
    assertError(await post('é'.repeat(8192), 'i-00000000000000a03'), 413, 'user_data_too_large'); // 16386 bytes, 8194 characters
    const listed = await svc.app.inject({ method: 'GET', url: '/api/v1/terminations?instance_id=i-00000000000000a02' });
    assert.deepEqual(listed.json().items, []);
  });

  test('--max-user-data sets it', async () => {
    const small = await testService({ maxUserData: '1KiB' });
    try {
      const res = await small.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: JSON.stringify({ ec2_instance_id: ID, user_data: { blob: 'x'.repeat(1100) } }) });
      assert.match(assertError(res, 413, 'user_data_too_large').message, /the limit is 1024 bytes/);
    } finally {
      await small.close();
    }
  });
});

test('a project or component of . or .. is refused at hand-off: it would move a drain hook URL', async () => {
  for (const field of ['project', 'component']) {
    for (const value of ['.', '..']) {
      const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: JSON.stringify({ ec2_instance_id: 'i-00000000000000a09', [field]: value }) });
      assert.match(assertError(res, 400, 'invalid_field').message, new RegExp(`${field}: .* is not a usable name`));
    }
  }
});
