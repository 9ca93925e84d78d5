/** Thin wrappers over the EC2 calls the worker makes, each counted for metrics. */
import { StopInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';

/** EC2 takes up to 1,000 ids per TerminateInstances/StopInstances call. */
export const MAX_IDS_PER_CALL = 1000;

export type CallCounter = (operation: string, outcome: 'ok' | 'error') => void;

export async function counted<T>(count: CallCounter | undefined, operation: string, run: () => Promise<T>): Promise<T> {
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
