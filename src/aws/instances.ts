/**
 * EC2's own record of instances, for the steps: whether each still exists, its state, its tags (for the
 * guards) and its private address (the drain hook's {private_ip} comes from here, never from the request).
 */
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { mapWithLimit } from '../lib/concurrency.js';
import { counted, type CallCounter } from './ec2.js';

/** Values per `instance-id` filter; the same modest chunk as the terminate step uses. */
const DESCRIBE_CHUNK = 200;

export interface InstanceRecord {
  state: string;
  privateIp: string | null;
  /** The instance's tags now (the guards read them just before acting). */
  tags: Record<string, string>;
}

/**
 * id -> record for the ids EC2 knows; unknown ids are left out (an `instance-id` filter, unlike
 * `InstanceIds`, does not fail the whole call on one unknown id). One call per 200 ids (plus pages).
 */
export async function describeInstanceRecords(client: EC2Client, ids: string[], count?: CallCounter): Promise<Map<string, InstanceRecord>> {
  const out = new Map<string, InstanceRecord>();
  for (let i = 0; i < ids.length; i += DESCRIBE_CHUNK) {
    let token: string | undefined;
    do {
      const page = await counted(count, 'DescribeInstances', () =>
        client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids.slice(i, i + DESCRIBE_CHUNK) }], NextToken: token })),
      );
      for (const r of page.Reservations ?? []) {
        for (const inst of r.Instances ?? []) {
          if (!inst.InstanceId) continue;
          const tags = Object.fromEntries((inst.Tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
          out.set(inst.InstanceId, { state: inst.State?.Name ?? 'unknown', privateIp: inst.PrivateIpAddress ?? null, tags });
        }
      }
      token = page.NextToken;
    } while (token);
  }
  return out;
}

/** Why an instance counts as gone, or null while it exists (stopped instances exist). */
export function goneReason(record: InstanceRecord | undefined): string | null {
  if (record === undefined) return 'EC2 has no such instance (DescribeInstances does not list it)';
  if (record.state === 'terminated') return 'the instance was already terminated (by someone else)';
  if (record.state === 'shutting-down') return 'the instance is already shutting down (terminated by someone else)';
  return null;
}

/** DescribeInstanceAttribute calls in flight at once (EC2 throttles per account). */
const ATTRIBUTE_CONCURRENCY = 8;

/**
 * The ids with EC2 termination protection on. EC2 answers this only per instance (DescribeInstanceAttribute
 * `disableApiTermination`), so it costs one call per id: the guard `check_termination_protection` opts in.
 */
export async function terminationProtected(client: EC2Client, ids: string[], count?: CallCounter): Promise<Set<string>> {
  const flags = await mapWithLimit(ids, ATTRIBUTE_CONCURRENCY, async (InstanceId) => {
    const out = await counted(count, 'DescribeInstanceAttribute', () =>
      client.send(new DescribeInstanceAttributeCommand({ InstanceId, Attribute: 'disableApiTermination' })),
    );
    return out.DisableApiTermination?.Value === true;
  });
  return new Set(ids.filter((_, i) => flags[i]));
}
