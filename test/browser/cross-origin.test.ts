/**
 * Web pages attack the service through a real browser (headless Chromium), as an operator's browser
 * would run them: a page on another origin (127.0.0.1, another port) fires no-cors fetches, a beacon and
 * auto-submitted text/plain forms at cancel, expedite and the hand-off; the same through a reverse proxy
 * that does Basic auth, with the operator's browser signed in to it (the browser then sends the
 * credentials whichever page makes the request); and a DNS-rebinding page (a foreign name that resolves to 127.0.0.1, then serves as the service's
 * "own" origin). Afterwards nothing has changed, read through the API and the store.
 *
 * No traffic leaves the machine: `rebind.test` is mapped to 127.0.0.1 inside Chromium.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { browserSkip, launchChromium } from '../helpers/browser.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { rowOf, historyOf } from '../helpers/store-reads.js';

const TOKEN = 'cross-origin-test-token-0123456789';
const REBIND_NAME = 'rebind.test';
const skip = browserSkip();

/** The attacking page: everything a page can send without a CORS preflight, plus one JSON fetch that needs one. */
function attackPage(target: string, ids: number[]): string {
  const [a, b, c, d, e, f, g] = ids;
  const formField = (name: string, value: string) => `<input type="hidden" name='${name}' value='${value}'>`;
  return `<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="cancel-form" method="post" enctype="text/plain" target="sink1" action="${target}/api/v1/terminations/${d}/cancel"></form>
<form id="handoff-form" method="post" enctype="text/plain" target="sink2" action="${target}/delayed-termination">${formField('{"ec2_instance_id":"i-0bad0000000000bad","x":"', '"}')}</form>
<script>
(async () => {
  const t = ${JSON.stringify(target)};
  const settle = (p) => p.then(() => 'sent', (err) => 'blocked: ' + err.message);
  const noCors = (path, init) => settle(fetch(t + path, { method: 'POST', mode: 'no-cors', credentials: 'include', ...init }));
  const loaded = [...document.querySelectorAll('iframe')].map((frame) => new Promise((r) => frame.addEventListener('load', r, { once: true })));
  document.getElementById('cancel-form').submit();
  document.getElementById('handoff-form').submit();
  const results = await Promise.all([
    noCors('/api/v1/terminations/${a}/expedite', { headers: { 'content-type': 'text/plain' }, body: '' }),
    noCors('/api/v1/terminations/${b}/expedite', { headers: { 'content-type': 'text/plain' }, body: '' }),
    noCors('/api/v1/terminations/${c}/cancel', {}),
    noCors('/delayed-termination', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ ec2_instance_id: 'i-0bad0000000000bae' }) }),
    Promise.resolve(navigator.sendBeacon(t + '/api/v1/terminations/${e}/cancel', '') ? 'queued' : 'refused'),
    settle(fetch(t + '/api/v1/terminations/${f}/expedite', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' })),
    noCors('/api/v1/terminations/${g}/cancel', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=x' }),
  ]);
  await Promise.all(loaded);
  window.attackResults = results;
  document.title = 'done';
})();
</script></body></html>`;
}

/**
 * A reverse proxy that does Basic auth in front of the service, as an ingress often does: it forwards
 * every header but Authorization, and sets Host to the upstream's (nginx's default).
 */
async function basicAuthProxy(upstreamPort: number, user: string, password: string): Promise<{ base: string; close(): Promise<void> }> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="ingress"', 'content-type': 'text/plain' }).end('sign in');
      return;
    }
    const { authorization: _dropped, ...headers } = req.headers;
    const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: { ...headers, host: `127.0.0.1:${upstreamPort}` } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Seen {
  method: string;
  url: string;
  status: number;
}

describe('web pages cannot act on the service through a browser', { skip }, () => {
  let browser: Browser;
  let attacker: Server;
  let attackerPort: number;
  let pageHtml = '';

  before(async () => {
    browser = await launchChromium([`--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.1`]);
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(pageHtml));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  /** A listening service with seven pending terminations, and a log of every answer it gave. */
  async function victim(): Promise<{ svc: TestService; base: string; ids: number[]; seen: Seen[]; snapshot(): Promise<string> }> {
    const svc = await testService({ delay: '1h' });
    const seen: Seen[] = [];
    svc.app.addHook('onResponse', async (request, reply) => {
      seen.push({ method: request.method, url: request.url, status: reply.statusCode });
    });
    const base = await svc.app.listen({ host: '127.0.0.1', port: 0 });
    const instanceIds = Array.from({ length: 7 }, (_, i) => `i-0c0ffee00000000${i + 1}a`);
    const res = await svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_ids: instanceIds, project: 'shop', component: 'web' } });
    assert.equal(res.statusCode, 200, res.body);
    seen.length = 0;
    const snapshot = async () => {
      const list = (await svc.app.inject({ method: 'GET', url: '/api/v1/terminations' })).json();
      const histories = await Promise.all(list.items.map((i: { id: number }) => historyOf(svc.store, i.id)));
      return JSON.stringify({ list, histories });
    };
    return { svc, base, ids: res.json().terminations.map((t: { id: number }) => t.id), seen, snapshot };
  }

  async function runAttack(context: BrowserContext, target: string, ids: number[]): Promise<string[]> {
    pageHtml = attackPage(target, ids);
    const page = await context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${attackerPort}/attack.html`);
      await page.waitForFunction(() => (globalThis as any).document.title === 'done', undefined, { timeout: 20_000 });
      // A beacon is sent after the page moves on at the latest; give it a moment to arrive.
      await page.waitForTimeout(300);
      return await page.evaluate(() => (globalThis as any).attackResults as string[]);
    } finally {
      await page.close();
    }
  }

  function assertRefused(seen: Seen[], ids: number[]): void {
    const actions = seen.filter((s) => s.method === 'POST');
    // The browser did send them (this is not a test that passes because nothing arrived): both forms,
    // the no-cors fetches and the beacon reached the service, and every one was refused.
    assert.ok(actions.length >= 7, `state-changing requests that arrived: ${JSON.stringify(seen)}`);
    for (const s of actions) assert.ok([403, 415].includes(s.status), `${s.method} ${s.url} answered ${s.status}`);
    // The JSON fetch needs a preflight, which gets no CORS answer: its POST is never sent.
    assert.ok(!actions.some((s) => s.url === `/api/v1/terminations/${ids[5]}/expedite`), 'the JSON POST after a failed preflight was never sent');
  }

  test('without a token (the default on loopback): no-cors fetches, a beacon and text/plain forms change nothing', { timeout: 60_000 }, async () => {
    const v = await victim();
    const context = await browser.newContext();
    try {
      const before = await v.snapshot();
      const results = await runAttack(context, v.base, v.ids);
      assert.equal(results.length, 7);
      assertRefused(v.seen, v.ids);
      assert.equal(await v.snapshot(), before, 'nothing changed');
      for (const id of v.ids) assert.equal((await rowOf(v.svc.store, id))!.state, 'pending');
    } finally {
      await context.close();
      await v.svc.close();
    }
  });

  test('through a proxy doing Basic auth, with the browser signed in to it: still nothing changes', { timeout: 60_000 }, async () => {
    const v = await victim();
    const proxy = await basicAuthProxy(Number(new URL(v.base).port), 'op', TOKEN);
    // The operator signed in at the proxy's prompt; the browser now sends those credentials with every
    // request to it, whichever page makes the request.
    const context = await browser.newContext({ httpCredentials: { username: 'op', password: TOKEN } });
    try {
      const signIn = await context.newPage();
      assert.equal((await signIn.goto(`${proxy.base}/api/v1/terminations`))?.status(), 200);
      await signIn.close();
      v.seen.length = 0;
      const before = await v.snapshot();
      await runAttack(context, proxy.base, v.ids);
      assertRefused(v.seen, v.ids);
      assert.equal(await v.snapshot(), before, 'nothing changed');
    } finally {
      await context.close();
      await proxy.close();
      await v.svc.close();
    }
  });

  test('DNS rebinding: a foreign name that now resolves to the service reads and changes nothing (421)', { timeout: 60_000 }, async () => {
    const v = await victim();
    const svcPort = Number(new URL(v.base).port);
    // rebind.test:<port> first reaches the attacker's server, which serves the page; then the name
    // "resolves" to the service (the proxy switches, dropping open connections, as a new DNS answer would).
    const proxy: TcpProxy = await startTcpProxy('127.0.0.1', attackerPort);
    const origin = `http://${REBIND_NAME}:${new URL(proxy.via('http://x:1/')).port}`;
    const context = await browser.newContext();
    try {
      const before = await v.snapshot();
      pageHtml = '<!doctype html><title>rebinding</title>';
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      proxy.retarget('127.0.0.1', svcPort);
      // The page's own script, in its own (now "same") origin: it may send JSON and read the answers.
      // (A string, not a function: tsx's helpers would not exist in the page.)
      const answers = (await page.evaluate(`(async () => {
        const call = async (path, init) => {
          const res = await fetch(path, init);
          return { status: res.status, body: await res.text() };
        };
        const post = { method: 'POST', headers: { 'content-type': 'application/json' } };
        return [
          await call('/api/v1/terminations'),
          await call('/api/v1/terminations/${v.ids[0]}/expedite', { ...post, body: '{}' }),
          await call('/delayed-termination', { ...post, body: JSON.stringify({ ec2_instance_id: 'i-0bad0000000000baf' }) }),
        ];
      })()`)) as { status: number; body: string }[];
      await page.close();
      for (const a of answers) {
        assert.equal(a.status, 421, a.body);
        assert.equal(JSON.parse(a.body).error, 'unknown_host');
        assert.doesNotMatch(a.body, /i-0c0ffee/, 'no termination was revealed');
      }
      assert.equal(await v.snapshot(), before, 'nothing changed');
    } finally {
      await context.close();
      await proxy.stop();
      await v.svc.close();
    }
  });
});
