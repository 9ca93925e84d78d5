// A TCP proxy that can stop passing the server's answers on, to model a database that froze (or a
// network that broke) at a chosen moment; and that can switch to another server, to model a DNS name that
// now points elsewhere (DNS rebinding). fault-proxy.ts speaks HTTP; PostgreSQL's protocol needs bytes.
// Client-to-server traffic always passes: what the client sent reaches the server, as it does when a
// server freezes after reading a COMMIT, or when only the way back breaks.
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Hold back every answer from now on, on every connection. */
  holdReplies(): void;
  /** Hold back the answers of a connection once its client has sent `marker` (e.g. `commit`), case-insensitively. */
  holdRepliesAfter(marker: string): void;
  /** Pass on everything held back, and stop holding. */
  release(): void;
  /** New connections go to this server; open ones are closed (a client re-resolving the name). */
  retarget(host: string, port: number): void;
  stop(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
  holding: boolean;
  held: Buffer[];
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let target = { host: targetHost, port: targetPort };
  const pairs = new Set<Pair>();
  let holdAll = false;
  let marker: string | null = null;

  const proxy = createServer((client) => {
    const server = connect(target.port, target.host);
    const pair: Pair = { client, server, holding: holdAll, held: [] };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    client.on('data', (chunk) => {
      server.write(chunk);
      if (marker !== null && chunk.toString('latin1').toLowerCase().includes(marker)) pair.holding = true;
    });
    server.on('data', (chunk) => {
      if (pair.holding) pair.held.push(chunk);
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;

  return {
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    holdReplies() {
      holdAll = true;
      for (const p of pairs) p.holding = true;
    },
    holdRepliesAfter(text) {
      marker = text.toLowerCase();
    },
    release() {
      holdAll = false;
      marker = null;
      for (const p of pairs) {
        p.holding = false;
        for (const chunk of p.held.splice(0)) p.client.write(chunk);
      }
    },
    retarget(host, port) {
      target = { host, port };
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
    },
    async stop() {
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
