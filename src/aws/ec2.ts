/** Thin wrappers over the EC2 calls the worker makes, each counted for metrics. */
import { DescribeInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';

/** EC2 takes up to 1,000 ids per TerminateInstances/StopInstances call. */
export const MAX_IDS_PER_CALL = 1000;
/** Values per DescribeInstances filter: AWS documents no limit, 200 keeps requests modest. */
const DESCRIBE_CHUNK = 200;

export type CallCounter = (operation: string, outcome: 'ok' | 'error') => void;

async function counted<T>(count: CallCounter | undefined, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    const out = await run();
    count?.(operation, 'ok');
    return out;
  } catch (err) {
    count?.(operation, 'error');
    throw err;
  }
}

/** Terminates the ids (or checks that it would, with DryRun); returns a short description for history. */
export async function terminateInstances(client: EC2Client, ids: string[], dryRun: boolean, count?: CallCounter): Promise<string> {
  const out = await counted(count, 'TerminateInstances', () => client.send(new TerminateInstancesCommand({ InstanceIds: ids, DryRun: dryRun })));
  const state = out.TerminatingInstances?.[0]?.CurrentState?.Name;
  return `TerminateInstances accepted${state ? ` (now ${state})` : ''}`;
}

export async function stopInstances(client: EC2Client, ids: string[], dryRun: boolean, count?: CallCounter): Promise<string> {
  const out = await counted(count, 'StopInstances', () => client.send(new StopInstancesCommand({ InstanceIds: ids, DryRun: dryRun })));
  const state = out.StoppingInstances?.[0]?.CurrentState?.Name;
  return `StopInstances accepted${state ? ` (now ${state})` : ''}`;
}

/**
 * id -> state name for the ids EC2 knows. Uses an `instance-id` filter rather than `InstanceIds`, which
 * would fail the whole call on a single unknown id.
 */
export async function describeInstanceStates(client: EC2Client, ids: string[], count?: CallCounter): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (let i = 0; i < ids.length; i += DESCRIBE_CHUNK) {
    let token: string | undefined;
    do {
      const out = await counted(count, 'DescribeInstances', () =>
        client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids.slice(i, i + DESCRIBE_CHUNK) }], NextToken: token })),
      );
      for (const r of out.Reservations ?? []) {
        for (const inst of r.Instances ?? []) if (inst.InstanceId) states.set(inst.InstanceId, inst.State?.Name ?? 'unknown');
      }
      token = out.NextToken;
    } while (token);
  }
  return states;
}
