// Auto Scaling groups, ELBv2 target groups and Classic Load Balancers in moto, for the drain pipeline's
// integration tests, with the real SDK v3 clients.
//
// What moto 5.2.1 does (measured in .probe experiments, relied on by the tests):
// - An ASG created with TargetGroupARNs / LoadBalancerNames registers its instances there itself.
// - DetachInstances (ShouldDecrementDesiredCapacity) removes the instance from the group and from the
//   group's classic load balancers, NOT from its target groups (AWS does both, with draining).
// - DetachInstances of an instance that is not in the group succeeds and still decrements the desired
//   capacity (AWS: ValidationError). The service only detaches members, so tests never hit this.
// - Deregistration is instant: targets read `unused` (Target.NotRegistered) right away, never `draining`.
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingClient,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ec2Client, findAmi } from './ec2-fixtures.js';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export function asgClient(endpoint: string, region: string): AutoScalingClient {
  return new AutoScalingClient({ endpoint, region, credentials, maxAttempts: 1 });
}
export function elbv2Client(endpoint: string, region: string): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({ endpoint, region, credentials, maxAttempts: 1 });
}
export function elbClient(endpoint: string, region: string): ElasticLoadBalancingClient {
  return new ElasticLoadBalancingClient({ endpoint, region, credentials, maxAttempts: 1 });
}

let serial = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++serial}`;

export interface Fleet {
  group: string;
  instances: string[];
  targetGroupArn: string;
  classicName: string;
}

/**
 * An ASG of `size` instances whose target group is attached to the group (so AWS and moto register the
 * instances there), and a Classic Load Balancer the instances are registered with directly.
 */
export async function createFleet(endpoint: string, region: string, size: number): Promise<Fleet> {
  const ec2 = ec2Client(endpoint, region);
  const asg = asgClient(endpoint, region);
  const elbv2 = elbv2Client(endpoint, region);
  const elb = elbClient(endpoint, region);
  try {
    const vpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs![0]!.VpcId!;
    const subnet = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets![0]!;
    const name = unique('web');
    const targetGroupArn = (await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpc, TargetType: 'instance' }))).TargetGroups![0]!.TargetGroupArn!;
    await elb.send(new CreateLoadBalancerCommand({ LoadBalancerName: name, Listeners: [{ Protocol: 'HTTP', LoadBalancerPort: 80, InstancePort: 80 }], AvailabilityZones: [subnet.AvailabilityZone!] }));
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: await findAmi(endpoint, region), InstanceType: 't3.micro' } }));
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateName: name },
        MinSize: 0,
        MaxSize: size + 5,
        DesiredCapacity: size,
        VPCZoneIdentifier: subnet.SubnetId!,
        TargetGroupARNs: [targetGroupArn],
      }),
    );
    const { instances } = await groupState(endpoint, region, name);
    if (instances.length !== size) throw new Error(`moto launched ${instances.length} instances, wanted ${size}`);
    await elb.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: name, Instances: instances.map((InstanceId) => ({ InstanceId })) }));
    return { group: name, instances, targetGroupArn, classicName: name };
  } finally {
    ec2.destroy();
    asg.destroy();
    elbv2.destroy();
    elb.destroy();
  }
}

/** Registers more instances with a target group (e.g. a lone instance outside any ASG). */
export async function registerTargets(endpoint: string, region: string, arn: string, ids: string[]): Promise<void> {
  const elbv2 = elbv2Client(endpoint, region);
  try {
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: ids.map((Id) => ({ Id })) }));
  } finally {
    elbv2.destroy();
  }
}

export async function groupState(endpoint: string, region: string, group: string): Promise<{ desired: number; instances: string[] }> {
  const asg = asgClient(endpoint, region);
  try {
    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups![0]!;
    return { desired: g.DesiredCapacity!, instances: (g.Instances ?? []).map((i) => i.InstanceId!).sort() };
  } finally {
    asg.destroy();
  }
}

/** Ids the target group still routes to or drains (any state but `unused`). */
export async function registeredTargets(endpoint: string, region: string, arn: string): Promise<string[]> {
  const elbv2 = elbv2Client(endpoint, region);
  try {
    const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    return (out.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State !== 'unused').map((d) => d.Target!.Id!).sort();
  } finally {
    elbv2.destroy();
  }
}

export async function classicInstances(endpoint: string, region: string, name: string): Promise<string[]> {
  const elb = elbClient(endpoint, region);
  try {
    const out = await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }));
    return (out.LoadBalancerDescriptions?.[0]?.Instances ?? []).map((i) => i.InstanceId!).sort();
  } finally {
    elb.destroy();
  }
}
