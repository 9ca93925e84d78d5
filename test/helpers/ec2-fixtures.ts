// Makes and inspects EC2 instances in moto with the real SDK v3, for integration tests.
//
// Why it is built this way (measured against moto 5.2.1, see test/harness/harness.test.ts):
// - AMI: moto accepts any ImageId today, but real EC2 does not and moto can be told to validate
//   (MOTO_ENABLE_AMI_VALIDATION), so we ask moto's DescribeImages for a real Amazon Linux 2 image once per
//   endpoint+region. moto's AMIs come from a static file, so the id survives /moto-api/reset.
// - Counts: moto has no per-call cap, but 2,000 instances in one RunInstances take ~5 s (~9 s with tags),
//   and a few smaller calls are no faster; we launch in calls of at most 1,000 to stay within what a
//   real account could plausibly be asked for per call.
// - Termination protection: moto 5.2.1 IGNORES `DisableApiTermination` on RunInstances (the attribute
//   reads false afterwards); it only honours ModifyInstanceAttribute. So we set it that way, per instance.
// - States: DescribeInstances with `InstanceIds` fails the whole call on one unknown id
//   (InvalidInstanceID.NotFound), while an `instance-id` filter just omits unknown ids. We use the
//   filter and call the missing 'absent'. Chunks of 200 values: moto has no limit, real EC2 caps the
//   values per filter, and each moto call scans every instance (~0.3 s per call with 2,000 instances).
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  type EC2ClientConfig,
} from '@aws-sdk/client-ec2';

const LAUNCH_CHUNK = 1000;
const DESCRIBE_CHUNK = 200;

/** An EC2 client for moto with fake credentials. Pass `{ maxAttempts: 1 }` where a failure is expected. */
export function ec2Client(endpoint: string, region: string, config: Partial<EC2ClientConfig> = {}): EC2Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new EC2Client({
    endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    ...config,
  });
}

const amiCache = new Map<string, Promise<string>>();

/** A real image id from moto's catalogue for this region (cached). */
export function findAmi(endpoint: string, region: string): Promise<string> {
  const key = `${endpoint} ${region}`;
  let ami = amiCache.get(key);
  if (!ami) {
    ami = (async () => {
      const ec2 = ec2Client(endpoint, region);
      try {
        const out = await ec2.send(
          new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['amzn2-ami-hvm-*'] }] }),
        );
        const id = out.Images?.find((i) => i.ImageId)?.ImageId ?? (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
        if (!id) throw new Error(`moto at ${endpoint} lists no images in ${region}`);
        return id;
      } finally {
        ec2.destroy();
      }
    })();
    ami.catch(() => amiCache.delete(key)); // do not cache a failure
    amiCache.set(key, ami);
  }
  return ami;
}

/** Launches `count` running instances and returns their ids in launch order. */
export async function launchInstances(
  endpoint: string,
  region: string,
  count: number,
  opts: { tags?: Record<string, string>; terminationProtection?: boolean } = {},
): Promise<string[]> {
  const ec2 = ec2Client(endpoint, region);
  try {
    const imageId = await findAmi(endpoint, region);
    const tags = Object.entries(opts.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const ids: string[] = [];
    for (let left = count; left > 0; left -= LAUNCH_CHUNK) {
      const n = Math.min(left, LAUNCH_CHUNK);
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: imageId,
          InstanceType: 't3.micro',
          MinCount: n,
          MaxCount: n,
          ...(opts.terminationProtection ? { DisableApiTermination: true } : {}), // honoured by AWS, not by moto
          ...(tags.length ? { TagSpecifications: [{ ResourceType: 'instance', Tags: tags }] } : {}),
        }),
      );
      const got = (out.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => !!id);
      if (got.length !== n) throw new Error(`RunInstances asked for ${n} instances, got ${got.length}`);
      ids.push(...got);
    }
    if (opts.terminationProtection) {
      for (const InstanceId of ids) {
        await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId, DisableApiTermination: { Value: true } }));
      }
    }
    return ids;
  } finally {
    ec2.destroy();
  }
}

/** id -> EC2 state name ('running', 'terminated', ...); ids moto does not know map to 'absent'. */
export async function instanceStates(endpoint: string, region: string, ids: string[]): Promise<Record<string, string>> {
  const ec2 = ec2Client(endpoint, region);
  const states: Record<string, string> = {};
  try {
    for (let i = 0; i < ids.length; i += DESCRIBE_CHUNK) {
      const chunk = ids.slice(i, i + DESCRIBE_CHUNK);
      let NextToken: string | undefined;
      do {
        const out = await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: chunk }], NextToken }),
        );
        for (const inst of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          if (inst.InstanceId) states[inst.InstanceId] = inst.State?.Name ?? 'unknown';
        }
        NextToken = out.NextToken;
      } while (NextToken);
    }
  } finally {
    ec2.destroy();
  }
  for (const id of ids) states[id] ??= 'absent';
  return states;
}
