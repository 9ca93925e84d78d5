// A diagnostic rung of the acceptance benchmark (BENCH_DIAG=1), between the bare node:http server and the
// service: Fastify as the service configures it (no request logging, default JSON parser), answering 200
// to the parsed body with no validation, storage or logging. It shows what the framework alone costs.
// Usage: node bench/lib/fastify-server.mjs PORT
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.get('/delayed-termination', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(''));
app.post('/delayed-termination', async (req) => ({ accepted: typeof req.body === 'object' ? 1 : 0 }));
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
