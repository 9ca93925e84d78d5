/** A client that sends half a request and stalls must not hold up anyone else (real sockets). */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { testService, type TestService } from '../helpers/service.js';

let svc: TestService;
let url: string;
before(async () => {
  svc = await testService();
  url = await svc.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => svc.close());

test('stalled half-sent requests do not block other clients, and the server bounds them', async () => {
  const port = new URL(url).port;
  const stalled = Array.from({ length: 20 }, () => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('POST /delayed-termination HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ec2_instance_id":');
    return socket;
  });
  try {
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${url}/delayed-termination`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ec2_instance_id: `i-${(0xabc000 + i).toString(16).padStart(17, '0')}` }),
        }),
      ),
    );
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.ok(Date.now() - started < 5000, 'served while the stalled requests hang');
    // Node's HTTP server drops a request not fully received within these bounds.
    assert.equal(svc.app.server.requestTimeout, 30_000);
    assert.ok(svc.app.server.headersTimeout > 0 && svc.app.server.headersTimeout <= 60_000);
  } finally {
    for (const s of stalled) s.destroy();
  }
});
