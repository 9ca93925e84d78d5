// A small HTTP reverse proxy in front of moto that injects AWS faults, so retry and timeout paths are
// tested against real SDK behaviour. node:http is enough; no proxy tool to install.
//
// Why it is built this way:
// - Point a client at `proxy.url` instead of moto's endpoint. Every request is recorded with its AWS
//   action, read from the form-encoded body (`Action=TerminateInstances&InstanceId.1=...`: EC2, Auto
//   Scaling, ELB) or from `X-Amz-Target` (JSON services such as SSM), so tests can assert how many
//   attempts the code made and with which ids, faulted or not.
// - Faults wait in a FIFO queue; each request consumes the first queued fault whose `action` matches
//   (or that has none). Unmatched requests pass straight through to moto.
// - `status` answers with EC2's XML error document, which the SDK v3 EC2 client turns into an error
//   whose `name` is the code (verified in test/harness/harness.test.ts: RequestLimitExceeded + 503). Other query
//   services (Auto Scaling, ELBv2) use a different `<ErrorResponse>` document: their clients will see
//   the HTTP status but not the code until a branch for them is added here.
// - `stall` with a finite `ms` forwards the request afterwards even if the client has given up in the
//   meantime: that is the "AWS did it but the caller timed out" case a worker must survive. Use
//   `ms: Infinity` for a request that is never executed and never answered.
// - `stop()` destroys every socket, stalled or not, and aborts in-flight upstream requests, so a test
//   cannot hang on a proxy it injected an infinite stall into.
import { Agent, createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export type Fault =
  | { kind: 'status'; status: number; code?: string; message?: string; action?: string } // e.g. 503 with an EC2 XML error body; code 'RequestLimitExceeded' for throttling, 'InternalError' for 500
  | { kind: 'drop'; action?: string } // destroy the client socket without any response
  | { kind: 'stall'; ms: number; action?: string }; // hold the request that long, then pass it through (or never answer if ms is Infinity)

export interface ProxiedRequest {
  /** AWS action (`TerminateInstances`), or `METHOD /path` when the request names none. */
  action: string;
  /** Ids from `InstanceId`, `InstanceId.N` (EC2), `InstanceIds.member.N` (Auto Scaling), `Targets.member.N.Id` (ELBv2), or JSON `InstanceIds`/`InstanceId`; filter values are not included. */
  instanceIds: string[];
  /** The fault this request consumed, if any. */
  fault?: Fault['kind'];
}

export interface FaultProxy {
  url: string;
  inject(...faults: Fault[]): void;
  /** Every request seen, in arrival order; clear it with `requests.length = 0`. */
  requests: ProxiedRequest[];
  /** How many requests (faulted ones included) carried this action. */
  count(action: string): number;
  stop(): Promise<void>;
}

/** Longest delay setTimeout honours; anything longer (or Infinity) would fire after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const ID_KEY = /^(InstanceId(\.\d+)?|InstanceIds\.member\.\d+|Targets\.member\.\d+\.Id)$/;

function describeRequest(req: IncomingMessage, body: Buffer): Omit<ProxiedRequest, 'fault'> {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    // JSON protocol: "AmazonSSM.SendCommand"
    const ids: string[] = [];
    try {
      const json = JSON.parse(body.toString('utf8')) as { InstanceIds?: unknown; InstanceId?: unknown };
      if (Array.isArray(json.InstanceIds)) ids.push(...json.InstanceIds.map(String));
      if (typeof json.InstanceId === 'string') ids.push(json.InstanceId);
    } catch {
      // not JSON: no ids
    }
    return { action: target.slice(target.lastIndexOf('.') + 1), instanceIds: ids };
  }
  const params = new URLSearchParams(url.search);
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  const instanceIds = [...params].filter(([k]) => ID_KEY.test(k)).map(([, v]) => v);
  return { action: params.get('Action') ?? `${req.method} ${url.pathname}`, instanceIds };
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function defaultCode(status: number): string {
  if (status === 503) return 'Unavailable';
  if (status >= 500) return 'InternalError';
  return 'InvalidRequest';
}

/** EC2's error document, as AWS sends it (and as the SDK's EC2 protocol parser reads `Errors.Error.Code`). */
function sendError(res: ServerResponse, fault: Extract<Fault, { kind: 'status' }>): void {
  const requestId = randomUUID();
  const code = fault.code ?? defaultCode(fault.status);
  const message = fault.message ?? `Injected by fault-proxy: ${code}`;
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors>` +
    `<RequestID>${requestId}</RequestID></Response>`;
  res.writeHead(fault.status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: false }); // moto closes every connection anyway; nothing to leak on stop
  const queue: Fault[] = [];
  const requests: ProxiedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<ClientRequest>();

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const up = httpRequest(
      { agent, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        if (res.destroyed) {
          upRes.resume(); // the client gave up (stall, timeout): moto still did the work
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    inFlight.add(up);
    up.on('close', () => inFlight.delete(up));
    up.on('error', (err) => {
      if (res.destroyed) return;
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault-proxy: upstream error: ${err.message}`);
    });
    up.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // client went away mid-body
    }
    const body = Buffer.concat(chunks);
    const seen = describeRequest(req, body);
    const i = queue.findIndex((f) => f.action === undefined || f.action === seen.action);
    const fault = i >= 0 ? queue.splice(i, 1)[0] : undefined;
    requests.push(fault ? { ...seen, fault: fault.kind } : seen);

    if (!fault) return forward(req, res, body);
    switch (fault.kind) {
      case 'status':
        return sendError(res, fault);
      case 'drop':
        req.socket.destroy();
        return;
      case 'stall': {
        if (!(fault.ms <= MAX_TIMER_MS)) return; // never answered; stop() or the client closes it
        const timer = setTimeout(() => {
          timers.delete(timer);
          forward(req, res, body);
        }, fault.ms);
        timers.add(timer);
        return;
      }
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    inject(...faults: Fault[]) {
      queue.push(...faults);
    },
    requests,
    count(action: string) {
      return requests.filter((r) => r.action === action).length;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const up of inFlight) up.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // includes stalled requests, which close() alone would wait for
      await closed;
      agent.destroy();
    },
  };
}
