/**
 * The Auto Scaling calls of the `asg_detach` step, each counted. Limits (AWS API reference):
 * DescribeAutoScalingInstances takes at most 50 ids; DetachInstances at most 20 ids of one group;
 * DescribeAutoScalingGroups pages of up to 100 groups.
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DetachInstancesCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { counted, type CallCounter } from './ec2.js';

export const DESCRIBE_ASG_INSTANCES_MAX = 50;
export const DETACH_MAX = 20;
const GROUPS_PER_CALL = 100;

export interface AsgMembership {
  group: string;
  /** `InService`, `Standby`, `Pending`, `Detaching`, `Terminating:Wait`, ... */
  lifecycle: string;
}

/** id -> its group and lifecycle state, for the ids that are in a group (others are left out). */
export async function describeAsgMembership(client: AutoScalingClient, ids: string[], count?: CallCounter): Promise<Map<string, AsgMembership>> {
  const out = new Map<string, AsgMembership>();
  for (let i = 0; i < ids.length; i += DESCRIBE_ASG_INSTANCES_MAX) {
    const chunk = ids.slice(i, i + DESCRIBE_ASG_INSTANCES_MAX);
    let token: string | undefined;
    do {
      const page = await counted(count, 'DescribeAutoScalingInstances', () =>
        client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: chunk, MaxRecords: DESCRIBE_ASG_INSTANCES_MAX, NextToken: token })),
      );
      for (const inst of page.AutoScalingInstances ?? []) {
        if (inst.InstanceId && inst.AutoScalingGroupName) out.set(inst.InstanceId, { group: inst.AutoScalingGroupName, lifecycle: inst.LifecycleState ?? 'unknown' });
      }
      token = page.NextToken;
    } while (token);
  }
  return out;
}

/** Detaches up to 20 ids from one group, decrementing its desired capacity so nothing replaces them. */
export async function detachInstances(client: AutoScalingClient, group: string, ids: string[], count?: CallCounter): Promise<void> {
  if (ids.length > DETACH_MAX) throw new Error(`DetachInstances takes at most ${DETACH_MAX} ids (got ${ids.length})`);
  await counted(count, 'DetachInstances', () =>
    client.send(new DetachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: ids, ShouldDecrementDesiredCapacity: true })),
  );
}

export interface GroupLoadBalancers {
  classic: string[];
  targetGroups: string[];
}

/**
 * The load balancers attached to each group. AWS deregisters a detached instance from them itself (with
 * connection draining), so the drain wait must watch them even though the instance no longer shows in
 * their member lists.
 */
export async function describeGroupLoadBalancers(client: AutoScalingClient, groups: string[], count?: CallCounter): Promise<Map<string, GroupLoadBalancers>> {
  const out = new Map<string, GroupLoadBalancers>();
  for (let i = 0; i < groups.length; i += GROUPS_PER_CALL) {
    const chunk = groups.slice(i, i + GROUPS_PER_CALL);
    let token: string | undefined;
    do {
      const page = await counted(count, 'DescribeAutoScalingGroups', () =>
        client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: chunk, MaxRecords: GROUPS_PER_CALL, NextToken: token })),
      );
      for (const g of page.AutoScalingGroups ?? []) {
        if (g.AutoScalingGroupName) out.set(g.AutoScalingGroupName, { classic: g.LoadBalancerNames ?? [], targetGroups: g.TargetGroupARNs ?? [] });
      }
      token = page.NextToken;
    } while (token);
  }
  return out;
}
