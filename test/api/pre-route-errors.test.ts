/**
 * The answers sent before any route runs, over real sockets (inject() skips Node's HTTP parser): headers
 * too large, a malformed request, an undecodable URL, no Host, a body over the limit, a request that
 * does not arrive in time, and requests that arrive while the server closes. Each is the documented JSON
 * error `{"error", "message"}`, never HTML or an empty "Bad Request".
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { testService, type TestService } from '../helpers/service.js';

interface RawAnswer {
  status: number;
  headers: string;
  body: { error: string; message: string };
}

function parse(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, `an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const headers = text.slice(0, split);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]);
  assert.match(headers, /content-type: application\/json/i);
  return { status, headers, body: JSON.parse(text.slice(split + 4)) };
}

/** Sends raw bytes and reads until the server closes the connection. */
function raw(port: number, bytes: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => {}); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close within ${timeoutMs} ms; got ${JSON.stringify(got.slice(0, 200))}`));
    }, timeoutMs);
    socket.write(bytes);
  });
}

function assertShape(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error, code);
  assert.ok(answer.body.message.length > 10, answer.body.message);
}

describe('errors before a route runs', () => {
  let svc: TestService;
  let port: number;
  before(async () => {
    svc = await testService();
    port = Number(new URL(await svc.app.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  after(() => svc.close());

  test('431: headers too large', async () => {
    assertShape(parse(await raw(port, `GET /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)), 431, 'headers_too_large');
  });

  test('400: a malformed request line or method', async () => {
    assertShape(parse(await raw(port, 'GARBAGE\r\n\r\n')), 400, 'malformed_request');
    assertShape(parse(await raw(port, 'G@T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), 400, 'malformed_request');
  });

  test('400: a URL that does not decode; 400: no Host header', async () => {
    assertShape(parse(await raw(port, 'GET /api/v1/terminations/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')), 400, 'invalid_url');
    assertShape(parse(await raw(port, 'GET /delayed-termination HTTP/1.1\r\nConnection: close\r\n\r\n')), 400, 'missing_host');
  });

  test('413: a body over the limit, announced or streamed', async () => {
    const announced = await raw(port, 'POST /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n{');
    assertShape(parse(announced), 413, 'body_too_large');
    const size = 2 * 1024 * 1024;
    const streamed = await raw(port, `POST /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${size.toString(16)}\r\n${' '.repeat(size)}\r\n0\r\n\r\n`);
    assertShape(parse(streamed), 413, 'body_too_large');
  });

  test('the whole request must arrive within 30 s, headers included', () => {
    assert.equal(svc.app.server.requestTimeout, 30_000);
    // Node enforces the larger of the two: the headers timeout must not exceed the request timeout.
    assert.equal(svc.app.server.headersTimeout, 30_000);
  });
});

describe('408: a body trickled in too slowly is dropped at the request timeout, not up to a minute later', () => {
  let svc: TestService;
  let port: number;
  before(async () => {
    svc = await testService();
    port = Number(new URL(await svc.app.listen({ host: '127.0.0.1', port: 0 })).port);
    // The default is 30 s; the same mechanism with a short limit. Node only looks for expired requests
    // every connectionsCheckingInterval (30 s by default), which is what made 30 s become 90 s.
    svc.app.server.headersTimeout = 1500;
    svc.app.server.requestTimeout = 1500;
  });
  after(() => svc.close());

  test('one byte every 200 ms: 408 in the JSON shape, within a second or two of the limit', async () => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    socket.write('POST /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    const started = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('close', () => resolve());
        setTimeout(() => reject(new Error(`still open after 6 s: ${JSON.stringify(got)}`)), 6000);
      });
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    assert.ok(Date.now() - started >= 1400, 'not dropped before the limit');
    assertShape(parse(got), 408, 'request_timeout');
  });
});

describe('503 while closing', () => {
  test('a request arriving on an open connection after close began gets the JSON 503, with Connection: close', async () => {
    const svc = await testService();
    const port = Number(new URL(await svc.app.listen({ host: '127.0.0.1', port: 0 })).port);
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // The first request is under way (half its body sent) when close begins, so its connection stays open.
    const body = JSON.stringify({ ec2_instance_id: 'i-0123456789abcdef0' });
    socket.write(`POST /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((r) => setTimeout(r, 200));
    const closing = svc.close();
    await new Promise((r) => setTimeout(r, 200));
    socket.write(`${body.slice(5)}GET /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await closed;
    await closing;
    const answers = got.split(/(?=HTTP\/1\.1 \d{3} )/);
    assert.equal(answers.length, 2, got);
    assert.equal(parse(answers[0]!).status, 200, 'the request under way is finished');
    const late = parse(answers[1]!);
    assertShape(late, 503, 'shutting_down');
    assert.match(late.headers, /connection: close/i);
    assert.match(late.body.message, /nothing of this request was recorded/);
  });
});
