// The pipeline benchmark's fleet in moto: Auto Scaling groups, each attached to its own ELBv2 target group
// (so moto registers the group's instances there), and one Classic Load Balancer that every instance of
// every group is registered with directly. Afterwards, what moto says became of it.
// Built with the test fixtures' clients (test/helpers/lb-fixtures.ts), which know moto's quirks.
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, RegisterInstancesWithLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ec2Client, findAmi, instanceStates } from '../../test/helpers/ec2-fixtures.js';
import { asgClient, classicInstances, elbClient, elbv2Client, groupState, registeredTargets } from '../../test/helpers/lb-fixtures.js';

export interface Fleet {
  region: string;
  groups: { name: string; targetGroupArn: string; instances: string[] }[];
  classicName: string;
  /** Every instance, group after group. */
  instances: string[];
}

/** `groups` ASGs of `perGroup` instances, each with its own target group, all in one classic ELB. */
export async function createFleet(endpoint: string, region: string, groups: number, perGroup: number): Promise<Fleet> {
  const ec2 = ec2Client(endpoint, region);
  const asg = asgClient(endpoint, region);
  const elbv2 = elbv2Client(endpoint, region);
  const elb = elbClient(endpoint, region);
  try {
    const vpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs![0]!.VpcId!;
    const subnet = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets![0]!;
    const imageId = await findAmi(endpoint, region);
    const classicName = 'bench-classic';
    await elb.send(new CreateLoadBalancerCommand({ LoadBalancerName: classicName, Listeners: [{ Protocol: 'HTTP', LoadBalancerPort: 80, InstancePort: 80 }], AvailabilityZones: [subnet.AvailabilityZone!] }));
    const fleet: Fleet = { region, groups: [], classicName, instances: [] };
    for (let g = 1; g <= groups; g++) {
      const name = `bench-web-${g}`;
      const targetGroupArn = (await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpc, TargetType: 'instance' }))).TargetGroups![0]!.TargetGroupArn!;
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.micro' } }));
      await asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          LaunchTemplate: { LaunchTemplateName: name },
          MinSize: 0,
          MaxSize: perGroup + 5,
          DesiredCapacity: perGroup,
          VPCZoneIdentifier: subnet.SubnetId!,
          TargetGroupARNs: [targetGroupArn],
        }),
      );
      const { instances } = await groupState(endpoint, region, name);
      if (instances.length !== perGroup) throw new Error(`moto launched ${instances.length} instances in ${name}, wanted ${perGroup}`);
      fleet.groups.push({ name, targetGroupArn, instances });
      fleet.instances.push(...instances);
    }
    await elb.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: classicName, Instances: fleet.instances.map((InstanceId) => ({ InstanceId })) }));
    return fleet;
  } finally {
    ec2.destroy();
    asg.destroy();
    elbv2.destroy();
    elb.destroy();
  }
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
