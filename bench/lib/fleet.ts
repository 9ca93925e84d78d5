// The pipeline benchmark's fleet in moto: Auto Scaling groups, each attached to its own ELBv2 target group
// (so moto registers the group's instances there), and one Classic Load Balancer that every instance of
// every group is registered with directly. Afterwards, what moto says became of it.
// Built from the test fixture (test/helpers/lb-fixtures.ts), which knows moto's quirks: it gives each group
// its own classic ELB, so all instances go into the first one and the others are deleted.
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DeleteLoadBalancerCommand, RegisterInstancesWithLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing';
import { ec2Client, instanceStates } from '../../test/helpers/ec2-fixtures.js';
import { classicInstances, createFleet as createGroup, elbClient, groupState, registeredTargets } from '../../test/helpers/lb-fixtures.js';

export interface Fleet {
  region: string;
  groups: { name: string; targetGroupArn: string; instances: string[] }[];
  classicName: string;
  /** Every instance, group after group. */
  instances: string[];
}

/** `groups` ASGs of `perGroup` instances, each with its own target group, all in one classic ELB. */
export async function createFleet(endpoint: string, region: string, groups: number, perGroup: number): Promise<Fleet> {
  const made = [];
  for (let g = 0; g < groups; g++) made.push(await createGroup(endpoint, region, perGroup));
  const classicName = made[0]!.classicName;
  const elb = elbClient(endpoint, region);
  try {
    for (const other of made.slice(1)) {
      await elb.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: classicName, Instances: other.instances.map((InstanceId) => ({ InstanceId })) }));
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerName: other.classicName }));
    }
  } finally {
    elb.destroy();
  }
  return {
    region,
    groups: made.map((f) => ({ name: f.group, targetGroupArn: f.targetGroupArn, instances: f.instances })),
    classicName,
    instances: made.flatMap((f) => f.instances),
  };
}

export interface FleetAfter {
  /** Fleet instances moto calls terminated. */
  terminated: number;
  groups: { name: string; desired: number; members: number; targets: number }[];
  /** Instances still in the classic ELB. */
  inClassic: number;
  /** Instances in the region that are not the fleet's and not terminated: replacements a group launched. */
  replacements: number;
}

/** What moto says became of the fleet. */
export async function fleetAfter(endpoint: string, fleet: Fleet): Promise<FleetAfter> {
  const states = await instanceStates(endpoint, fleet.region, fleet.instances);
  const groups = [];
  for (const g of fleet.groups) {
    const { desired, instances } = await groupState(endpoint, fleet.region, g.name);
    groups.push({ name: g.name, desired, members: instances.length, targets: (await registeredTargets(endpoint, fleet.region, g.targetGroupArn)).length });
  }
  return {
    terminated: Object.values(states).filter((s) => s === 'terminated').length,
    groups,
    inClassic: (await classicInstances(endpoint, fleet.region, fleet.classicName)).length,
    replacements: (await liveInstances(endpoint, fleet.region)).filter((id) => !fleet.instances.includes(id)).length,
  };
}

/** Every instance in the region that is not terminated (or shutting down). */
async function liveInstances(endpoint: string, region: string): Promise<string[]> {
  const ec2 = ec2Client(endpoint, region);
  const ids: string[] = [];
  try {
    let NextToken: string | undefined;
    do {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], NextToken }));
      for (const inst of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) if (inst.InstanceId) ids.push(inst.InstanceId);
      NextToken = out.NextToken;
    } while (NextToken);
  } finally {
    ec2.destroy();
  }
  return ids;
}
