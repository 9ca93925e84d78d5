// The load generator shared by the acceptance and pending benchmarks: autocannon in the bench process,
// each request the full Skopos hand-off document (lib/skopos.ts) of a fresh, never-seen instance id
// ("i-<17 hex>"), so the service does a real insert every time (no duplicate short-cut).
//
// It keeps its own books, because autocannon's are not enough for what we check:
// - which ids got a 2xx, and which were sent but never answered (cut off when the load stopped), so the
//   durability check can compare the database with the exact set of acknowledged ids;
// - latency at microsecond resolution: autocannon's histogram records whole milliseconds, too coarse to
//   compare a ~1-3 ms p99 with another. A request's clock starts when autocannon builds it, right before
//   it writes it to the socket, and stops when its response is complete.
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { privateIp, skoposDocument } from './skopos.js';

export const HANDOFF_PATH = '/delayed-termination';

export interface LoadRun {
  /** 2xx answers in this run. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Seconds the run lasted (autocannon's measure). */
  seconds: number;
  /** 2xx answers per second. */
  rps: number;
  /** Latency percentiles in ms (2xx and non-2xx alike), from this run's samples. */
  p50: number;
  p99: number;
  max: number;
  /** autocannon's own p99 (whole ms), for comparison. */
  autocannonP99: number;
  statusCodes: Record<string, number>;
  /** Every request's latency in ms, sorted (what the percentiles are taken from; mergeRuns needs them). */
  samples: number[];
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

/**
 * Several runs against the same server as one: counts and seconds added up, percentiles over all their
 * requests together (the interleaved slices of the acceptance bench).
 */
export function mergeRuns(runs: LoadRun[]): LoadRun {
  const samples = runs.flatMap((r) => r.samples).sort((a, b) => a - b);
  const sum = (f: (r: LoadRun) => number) => runs.reduce((n, r) => n + f(r), 0);
  const statusCodes: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const seconds = sum((r) => r.seconds);
  const ok = sum((r) => r.ok);
  return {
    ok,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    seconds,
    rps: ok / seconds,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples.at(-1) ?? NaN,
    autocannonP99: Math.max(...runs.map((r) => r.autocannonP99)),
    statusCodes,
    samples,
  };
}

export class HandOffLoad {
  /** Ids that got a 2xx answer, over every run of this generator. */
  readonly okIds = new Set<string>();
  /** Ids sent but not answered (yet): after a run stops, the requests it cut off. */
  readonly unanswered = new Set<string>();
  private readonly prefix = randomBytes(3).toString('hex').slice(0, 5);
  private counter = 0;

  /** A fresh valid instance id: 'i-' + 5 random hex digits (per generator) + a 12-digit hex counter. */
  nextId(): string {
    this.counter += 1;
    return `i-${this.prefix}${this.counter.toString(16).padStart(12, '0')}`;
  }

  /** The document of the generator's `counter`-th id. */
  static body(id: string, counter: number): string {
    return skoposDocument(id, privateIp(counter));
  }

  /** One autocannon run against `origin` (http://127.0.0.1:PORT) for `duration` seconds or `amount` requests. */
  async run(origin: string, opts: { connections: number; duration?: number; amount?: number }): Promise<LoadRun> {
    const latencies: number[] = [];
    let ok = 0;
    let non2xx = 0;
    const request: autocannon.Request = {
      method: 'POST',
      path: HANDOFF_PATH,
      headers: { 'content-type': 'application/json' },
      setupRequest: (req, ctx) => {
        const id = this.nextId();
        ctx.id = id;
        ctx.t = performance.now();
        this.unanswered.add(id);
        return { ...req, body: HandOffLoad.body(id, this.counter) };
      },
      onResponse: (status, _body, ctx) => {
        latencies.push(performance.now() - (ctx.t as number));
        const id = ctx.id as string;
        this.unanswered.delete(id);
        if (status >= 200 && status < 300) {
          this.okIds.add(id);
          ok += 1;
        } else {
          non2xx += 1;
        }
      },
    };
    const result = await autocannon({
      url: origin,
      connections: opts.connections,
      ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.duration ?? 10 }),
      timeout: 10,
      requests: [request],
    });
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => percentile(latencies, p);
    const statusCodes: Record<string, number> = {};
    for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
    return {
      ok,
      non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      seconds: result.duration,
      rps: ok / result.duration,
      p50: pct(50),
      p99: pct(99),
      max: latencies.at(-1) ?? NaN,
      autocannonP99: result.latency.p99,
      statusCodes,
      samples: latencies,
    };
  }
}
