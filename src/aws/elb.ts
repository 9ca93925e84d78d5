/**
 * The Elastic Load Balancing calls of the drain steps, each counted: ELBv2 target groups (Application,
 * Network, Gateway Load Balancers) and Classic Load Balancers.
 *
 * There is no reverse lookup ("which target groups hold this instance?"): the only way is to list the
 * target groups and read each one's targets (lb-cache.ts does that once per batch and caches it briefly).
 * Listing pages hold up to 400 items (the APIs' maximum). AWS documents no limit on targets or instances
 * per (de)registration or health call; 200 per call keeps requests modest.
 */
import {
  DescribeLoadBalancersCommand,
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeInstanceHealthCommand,
  type ElasticLoadBalancingClient,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { chunks } from '../lib/chunks.js';
import { counted, type CallCounter } from './ec2.js';

const PAGE_SIZE = 400;
export const TARGETS_PER_CALL = 200;

export interface Target {
  id: string;
  /** The port it is registered on; the same instance may be registered on several. */
  port: number | null;
}

export interface TargetState extends Target {
  /** `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`, ... */
  state: string;
  reason: string | null;
}

/** Target groups whose targets are instances (ip, lambda and alb target groups cannot hold one by id). */
export async function listInstanceTargetGroups(client: ElasticLoadBalancingV2Client, count?: CallCounter): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await counted(count, 'DescribeTargetGroups', () => client.send(new DescribeTargetGroupsCommand({ PageSize: PAGE_SIZE, Marker: marker })));
    for (const tg of page.TargetGroups ?? []) {
      if (tg.TargetGroupArn && (tg.TargetType ?? 'instance') === 'instance') arns.push(tg.TargetGroupArn);
    }
    marker = page.NextMarker;
  } while (marker);
  return arns;
}

/** Every target of a group (registered or draining), or only `targets` when given. */
export async function describeTargetHealth(client: ElasticLoadBalancingV2Client, arn: string, targets?: Target[], count?: CallCounter): Promise<TargetState[]> {
  const out: TargetState[] = [];
  const parts = targets === undefined ? [undefined] : chunks(targets, TARGETS_PER_CALL);
  for (const part of parts) {
    const page = await counted(count, 'DescribeTargetHealth', () =>
      client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, ...(part ? { Targets: part.map(toSdkTarget) } : {}) })),
    );
    for (const d of page.TargetHealthDescriptions ?? []) {
      if (!d.Target?.Id) continue;
      out.push({ id: d.Target.Id, port: d.Target.Port ?? null, state: d.TargetHealth?.State ?? 'unknown', reason: d.TargetHealth?.Reason ?? null });
    }
  }
  return out;
}

export async function deregisterTargets(client: ElasticLoadBalancingV2Client, arn: string, targets: Target[], count?: CallCounter): Promise<void> {
  for (const part of chunks(targets, TARGETS_PER_CALL)) {
    await counted(count, 'DeregisterTargets', () => client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: part.map(toSdkTarget) })));
  }
}

export interface ClassicLoadBalancer {
  name: string;
  instances: string[];
}

export async function listClassicLoadBalancers(client: ElasticLoadBalancingClient, count?: CallCounter): Promise<ClassicLoadBalancer[]> {
  const out: ClassicLoadBalancer[] = [];
  let marker: string | undefined;
  do {
    const page = await counted(count, 'DescribeLoadBalancers', () => client.send(new DescribeLoadBalancersCommand({ PageSize: PAGE_SIZE, Marker: marker })));
    for (const lb of page.LoadBalancerDescriptions ?? []) {
      if (lb.LoadBalancerName) out.push({ name: lb.LoadBalancerName, instances: (lb.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => !!id) });
    }
    marker = page.NextMarker;
  } while (marker);
  return out;
}

export async function deregisterFromClassic(client: ElasticLoadBalancingClient, name: string, ids: string[], count?: CallCounter): Promise<void> {
  for (const part of chunks(ids, TARGETS_PER_CALL)) {
    await counted(count, 'DeregisterInstancesFromLoadBalancer', () =>
      client.send(new DeregisterInstancesFromLoadBalancerCommand({ LoadBalancerName: name, Instances: part.map((InstanceId) => ({ InstanceId })) })),
    );
  }
}

/**
 * id -> `InService` / `OutOfService` / `Unknown` with its description. While connection draining runs
 * AWS reports `InService` ("Instance deregistration currently in progress"); once done, `OutOfService`.
 */
export async function describeClassicHealth(client: ElasticLoadBalancingClient, name: string, ids: string[], count?: CallCounter): Promise<Map<string, { state: string; description: string | null }>> {
  const out = new Map<string, { state: string; description: string | null }>();
  for (const part of chunks(ids, TARGETS_PER_CALL)) {
    const page = await counted(count, 'DescribeInstanceHealth', () =>
      client.send(new DescribeInstanceHealthCommand({ LoadBalancerName: name, Instances: part.map((InstanceId) => ({ InstanceId })) })),
    );
    for (const s of page.InstanceStates ?? []) {
      if (s.InstanceId) out.set(s.InstanceId, { state: s.State ?? 'Unknown', description: s.Description ?? null });
    }
  }
  return out;
}

/** The error's code as the SDK names it (`TargetGroupNotFoundException`, `ValidationError`, ...). */
export function errorName(err: unknown): string {
  const e = err as { name?: string; Code?: string } | undefined;
  return e?.name && e.name !== 'Error' ? e.name : (e?.Code ?? 'Error');
}

/** The target group (or classic load balancer) is gone: nothing of it to deregister from or wait for. */
export function isLoadBalancerGone(err: unknown): boolean {
  return /^(TargetGroupNotFound|AccessPointNotFound|LoadBalancerNotFound)(Exception)?$/.test(errorName(err));
}

/** One of the targets or instances of the call is unknown or not registered (fails the whole call). */
export function isInvalidMember(err: unknown): boolean {
  return /^(InvalidTarget|InvalidEndPoint|InvalidInstance)(Exception)?$/.test(errorName(err));
}

function toSdkTarget(t: Target) {
  return t.port === null ? { Id: t.id } : { Id: t.id, Port: t.port };
}

/** `arn:aws:elasticloadbalancing:...:targetgroup/web/0123abcd` -> `web`, for messages. */
export function targetGroupName(arn: string): string {
  return /:targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;
}
