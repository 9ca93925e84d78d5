/**
 * Which load balancers hold which instances, per region, looked up once per batch and kept briefly.
 *
 * ELBv2 has no reverse lookup, so finding the target groups of one instance costs one
 * DescribeTargetGroups page per 400 groups plus one DescribeTargetHealth per group: the same as finding
 * them for a thousand instances. The index is therefore built for a whole claimed batch and shared by
 * the batches that follow within `ttlMs` (default 10 s). Concurrent callers share one lookup. What this
 * process deregisters is written into the cached index at once, so a later batch does not redo it.
 */
import type { AwsClients } from './clients.js';
import type { CallCounter } from './ec2.js';
import {
  describeTargetHealth,
  isLoadBalancerGone,
  listClassicLoadBalancers,
  listInstanceTargetGroups,
  type ClassicLoadBalancer,
  type Target,
  type TargetState,
} from './elb.js';
import { mapWithLimit } from '../lib/concurrency.js';

export interface LbCacheOptions {
  ttlMs: number;
  /** DescribeTargetHealth calls in flight at once while building a region's index. */
  concurrency: number;
  now: () => number;
}

export const DEFAULT_LB_CACHE: LbCacheOptions = { ttlMs: 10_000, concurrency: 8, now: Date.now };

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

export class LbCache {
  private readonly options: LbCacheOptions;
  private readonly groups = new Map<string, Entry<Map<string, TargetState[]>>>();
  private readonly classics = new Map<string, Entry<ClassicLoadBalancer[]>>();

  constructor(
    private readonly clients: AwsClients,
    options: Partial<LbCacheOptions> = {},
  ) {
    this.options = { ...DEFAULT_LB_CACHE, ...options };
  }

  /** Every instance target group of the region -> its targets (registered, draining, ...). */
  targetGroups(region: string, count?: CallCounter): Promise<Map<string, TargetState[]>> {
    return this.cached(this.groups, region, async () => {
      const client = this.clients.elbv2For(region);
      const arns = await listInstanceTargetGroups(client, count);
      const index = new Map<string, TargetState[]>();
      await mapWithLimit(arns, this.options.concurrency, async (arn) => {
        try {
          index.set(arn, await describeTargetHealth(client, arn, undefined, count));
        } catch (err) {
          if (!isLoadBalancerGone(err)) throw err; // deleted since it was listed: it holds nothing
        }
      });
      return index;
    });
  }

  /** Every Classic Load Balancer of the region with its registered instances. */
  classic(region: string, count?: CallCounter): Promise<ClassicLoadBalancer[]> {
    return this.cached(this.classics, region, () => listClassicLoadBalancers(this.clients.elbFor(region), count));
  }

  /** Records that these targets were deregistered (they now drain), so the index stays true. */
  async noteDeregistered(region: string, arn: string, targets: Target[]): Promise<void> {
    const entry = this.groups.get(region);
    if (!entry) return;
    const index = await entry.value.catch(() => undefined);
    const list = index?.get(arn);
    if (!list) return;
    const key = (t: Target) => `${t.id}:${t.port}`;
    const gone = new Set(targets.map(key));
    for (const t of list) if (gone.has(key(t))) t.state = 'draining';
  }

  async noteClassicDeregistered(region: string, name: string, ids: string[]): Promise<void> {
    const entry = this.classics.get(region);
    if (!entry) return;
    const lbs = await entry.value.catch(() => undefined);
    const lb = lbs?.find((l) => l.name === name);
    if (!lb) return;
    const gone = new Set(ids);
    lb.instances = lb.instances.filter((id) => !gone.has(id));
  }

  /** Forgets everything (tests; or after an error that suggests the index is wrong). */
  clear(): void {
    this.groups.clear();
    this.classics.clear();
  }

  private cached<T>(map: Map<string, Entry<T>>, region: string, load: () => Promise<T>): Promise<T> {
    const now = this.options.now();
    const hit = map.get(region);
    if (hit && now - hit.at < this.options.ttlMs) return hit.value;
    const value = load();
    const entry = { at: now, value };
    map.set(region, entry);
    // A failed lookup is not cached: the next batch asks again.
    value.catch(() => {
      if (map.get(region) === entry) map.delete(region);
    });
    return value;
  }
}
