// A drain hook endpoint for tests: records every request and answers what the test decides (a status, or
// never, to simulate a hung endpoint). Listens on 127.0.0.1 only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookRequest {
  method: string;
  url: URL;
  body: string;
  headers: IncomingMessage['headers'];
}

export interface HookServer {
  /** `http://127.0.0.1:PORT` */
  base: string;
  requests: HookRequest[];
  /** Decides each answer: a status code, or 'hang' (never answer). Default 200. */
  respond: (req: HookRequest) => Promise<number | 'hang'> | number | 'hang';
  stop(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const hung = new Set<ServerResponse>();
  const hook: HookServer = {
    base: '',
    requests: [],
    respond: () => 200,
    stop: async () => {
      for (const res of hung) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: HookRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', hook.base), body: Buffer.concat(chunks).toString('utf8'), headers: req.headers };
      hook.requests.push(seen);
      void Promise.resolve(hook.respond(seen)).then(
        (answer) => {
          if (answer === 'hang') {
            hung.add(res);
            return;
          }
          res.writeHead(answer, { 'content-type': 'text/plain' }).end(`hook says ${answer}`);
        },
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hook;
}
