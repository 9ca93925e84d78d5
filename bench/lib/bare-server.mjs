// The baseline of the acceptance benchmark: the least a Node HTTP server can do with a hand-off. It
// reads the body, parses the JSON (a 400 if it is not JSON) and answers 200 with a short JSON document;
// nothing is validated, stored or logged. Plain JavaScript on plain `node` (no TypeScript loader), as the
// built service runs, so the comparison is node:http vs the whole service and nothing else.
// Usage: node bench/lib/bare-server.mjs PORT
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const ACCEPTED = '{"accepted":1}';

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 0 });
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_json"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': ACCEPTED.length });
    res.end(ACCEPTED);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
