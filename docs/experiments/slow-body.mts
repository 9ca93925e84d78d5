// How long a request whose body is trickled at 1 byte/s is kept before the server drops it (and what it
// answers). Run from the repository root: `node --import tsx docs/experiments/slow-body.mts` (~30 s; it
// was 90 s before the request timeout was enforced as documented, see src/api/app.ts).
import { connect } from 'node:net';
import { testService } from '../../test/helpers/service.js';
const svc = await testService();
const url = await svc.app.listen({ host: '127.0.0.1', port: 0 });
const port = Number(new URL(url).port);
const start = Date.now();
const s = connect(port, '127.0.0.1');
let got = '';
s.on('data', (d) => { got += d; });
s.on('error', () => {});
s.write('POST /delayed-termination HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
const timer = setInterval(() => { if (s.writable) s.write(' '); }, 1000);
s.on('close', async () => {
  clearInterval(timer);
  console.log(`dropped after ${((Date.now() - start) / 1000).toFixed(1)} s; response: ${JSON.stringify(got.slice(0, 300))}`);
  await svc.close();
  process.exit(0);
});
