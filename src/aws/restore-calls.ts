/**
 * The calls of the restore steps (a cancel that puts the instance back), each counted: re-attach to an
 * Auto Scaling group, re-register with ELBv2 target groups and Classic Load Balancers. Limits (AWS API
 * reference): AttachInstances takes at most 20 ids of one group; registrations go 200 per call, as the
 * deregistrations do.
 */
import { AttachInstancesCommand, DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { RegisterInstancesWithLoadBalancerCommand, type ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { RegisterTargetsCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { chunks } from '../lib/chunks.js';
import { counted, type CallCounter } from './ec2.js';
import { TARGETS_PER_CALL, type Target } from './elb.js';

export const ATTACH_MAX = 20;
const GROUPS_PER_CALL = 100;

export interface GroupSize {
  min: number;
  max: number;
  desired: number;
  /** Instances in the group now (any lifecycle state). */
  members: number;
}

/** Each group's size limits; a group that does not exist (any more) is absent from the map. */
export async function describeGroupSizes(client: AutoScalingClient, groups: string[], count?: CallCounter): Promise<Map<string, GroupSize>> {
  const out = new Map<string, GroupSize>();
  for (const chunk of chunks(groups, GROUPS_PER_CALL)) {
    let token: string | undefined;
    do {
      const page = await counted(count, 'DescribeAutoScalingGroups', () =>
        client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: chunk, MaxRecords: GROUPS_PER_CALL, NextToken: token })),
      );
      for (const g of page.AutoScalingGroups ?? []) {
        if (!g.AutoScalingGroupName) continue;
        out.set(g.AutoScalingGroupName, { min: g.MinSize ?? 0, max: g.MaxSize ?? 0, desired: g.DesiredCapacity ?? 0, members: g.Instances?.length ?? 0 });
      }
      token = page.NextToken;
    } while (token);
  }
  return out;
}

/** Attaches up to 20 ids to one group; AWS raises its desired capacity by as many, so nothing extra launches. */
export async function attachInstances(client: AutoScalingClient, group: string, ids: string[], count?: CallCounter): Promise<void> {
  if (ids.length > ATTACH_MAX) throw new Error(`AttachInstances takes at most ${ATTACH_MAX} ids (got ${ids.length})`);
  await counted(count, 'AttachInstances', () => client.send(new AttachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: ids })));
}

/** Registers targets with a target group (no port: the group's own port). Registering twice is harmless. */
export async function registerTargets(client: ElasticLoadBalancingV2Client, arn: string, targets: Target[], count?: CallCounter): Promise<void> {
  for (const part of chunks(targets, TARGETS_PER_CALL)) {
    const Targets = part.map((t) => (t.port === null ? { Id: t.id } : { Id: t.id, Port: t.port }));
    await counted(count, 'RegisterTargets', () => client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets })));
  }
}

/** Registers instances with a Classic Load Balancer. Registering twice is harmless. */
export async function registerWithClassic(client: ElasticLoadBalancingClient, name: string, ids: string[], count?: CallCounter): Promise<void> {
  for (const part of chunks(ids, TARGETS_PER_CALL)) {
    await counted(count, 'RegisterInstancesWithLoadBalancer', () =>
      client.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: name, Instances: part.map((InstanceId) => ({ InstanceId })) })),
    );
  }
}
