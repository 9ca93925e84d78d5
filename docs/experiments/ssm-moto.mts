// What moto 5.2.1 really answers for the SSM Run Command calls the drain_ssm step makes (findings in
// docs/aws-calls.md, "SSM"). Starts its own moto on a free port on 127.0.0.1; no other traffic.
// Run from the repository root: `node --import tsx docs/experiments/ssm-moto.mts` (~5 s).
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { launchInstances } from '../../test/helpers/ec2-fixtures.js';
import { startMoto } from '../../test/helpers/moto.js';

const moto = await startMoto();
if (!moto) process.exit(1);
const region = 'us-east-1';
const ssm = new SSMClient({ endpoint: moto.endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });

async function show(label: string, call: () => Promise<unknown>): Promise<unknown> {
  try {
    const out = (await call()) as Record<string, unknown>;
    delete out.$metadata;
    console.log(`${label}: ok ${JSON.stringify(out).slice(0, 600)}`);
    return out;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    console.log(`${label}: ${e.name} (HTTP ${e.$metadata?.httpStatusCode}): ${e.message.slice(0, 200)}`);
    return undefined;
  }
}

try {
  const ids = await launchInstances(moto.endpoint, region, 3);
  const unknown = 'i-0123456789abcdef0';
  const send = (await show('SendCommand (3 real instances)', () =>
    ssm.send(new SendCommandCommand({
      InstanceIds: ids,
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ["echo 'hi'"], executionTimeout: ['600'] },
      TimeoutSeconds: 600,
      Comment: 'ddsrv drain_ssm k=abc123 t=1-3',
    })),
  )) as { Command: { CommandId: string } } | undefined;
  const commandId = send!.Command.CommandId;
  await show('SendCommand (an unknown instance id)', () => ssm.send(new SendCommandCommand({ InstanceIds: [unknown], DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] } })));
  await show('SendCommand (an unknown document)', () => ssm.send(new SendCommandCommand({ InstanceIds: ids, DocumentName: 'No-Such-Document', Parameters: { commands: ['true'] } })));
  await show('SendCommand (51 instance ids)', () => ssm.send(new SendCommandCommand({ InstanceIds: Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(17, '0')}`), DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] } })));
  await show('SendCommand (Comment of 101 characters)', () => ssm.send(new SendCommandCommand({ InstanceIds: ids, DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] }, Comment: 'x'.repeat(101) })));
  await show('SendCommand (TimeoutSeconds 10)', () => ssm.send(new SendCommandCommand({ InstanceIds: ids, DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] }, TimeoutSeconds: 10 })));
  await show('GetCommandInvocation (a real instance)', () => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: ids[0]! })));
  await show('GetCommandInvocation (an instance not in the command)', () => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: unknown })));
  await show('GetCommandInvocation (an unknown command id)', () => ssm.send(new GetCommandInvocationCommand({ CommandId: '00000000-0000-0000-0000-000000000000', InstanceId: ids[0]! })));
  const all = (await show('ListCommands (no arguments)', () => ssm.send(new ListCommandsCommand({})))) as { Commands: unknown[] } | undefined;
  console.log(`  -> ${all?.Commands.length} commands listed`);
  const byInstance = (await show('ListCommands (InstanceId)', () => ssm.send(new ListCommandsCommand({ InstanceId: ids[1]! })))) as { Commands: { Comment: string }[] } | undefined;
  console.log(`  -> comments: ${JSON.stringify(byInstance?.Commands.map((c) => c.Comment))}`);
  const filtered = (await show('ListCommands (Filters InvokedAfter = tomorrow)', () =>
    ssm.send(new ListCommandsCommand({ InstanceId: ids[1]!, Filters: [{ key: 'InvokedAfter', value: new Date(Date.now() + 86_400_000).toISOString() }] })),
  )) as { Commands: unknown[] } | undefined;
  console.log(`  -> ${filtered?.Commands.length} commands (0 if the filter is honoured)`);
  await show('ListCommands (MaxResults 1)', () => ssm.send(new ListCommandsCommand({ MaxResults: 1 })));
  await show('ListCommands (an unknown command id)', () => ssm.send(new ListCommandsCommand({ CommandId: '00000000-0000-0000-0000-000000000000' })));
  await show('ListCommandInvocations (CommandId, Details)', () => ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true })));
} finally {
  ssm.destroy();
  await moto.stop();
}
