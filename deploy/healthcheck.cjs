// The container image's HEALTHCHECK: a plain GET of /delayed-termination (no credentials needed), exit 0
// on a 2xx, 1 otherwise. It asks the address the server listens on, read from DDSRV_LISTEN as the server
// reads it (the image sets 0.0.0.0:8000), so `-e DDSRV_LISTEN=0.0.0.0:9000` moves the check with the
// server. HTTPS when DDSRV_TLS_CERT is set (the certificate is not checked: this is the server itself).
// CommonJS and no dependencies: it runs with `node` alone, next to the image's ES-module package.
'use strict';

const listen = (process.env.DDSRV_LISTEN || '127.0.0.1:8000').trim();
// HOST:PORT or [IPv6]:PORT, as src/domain/listen.ts parses it.
const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen);
if (!match) {
  process.stderr.write(`healthcheck: DDSRV_LISTEN '${listen}' is not HOST:PORT\n`);
  process.exit(1);
}
const host = match[1] || match[2];
// A wildcard address is served on loopback too.
const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
const tls = Boolean(process.env.DDSRV_TLS_CERT);

const request = require(tls ? 'node:https' : 'node:http').get(
  { host: target, port: Number(match[3]), path: '/delayed-termination', timeout: 4000, rejectUnauthorized: false },
  (response) => {
    response.resume();
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    if (!ok) process.stderr.write(`healthcheck: ${target}:${match[3]} answered ${response.statusCode}\n`);
    process.exit(ok ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('no answer within 4 s')));
request.on('error', (err) => {
  process.stderr.write(`healthcheck: ${target}:${match[3]}: ${err.message}\n`);
  process.exit(1);
});
