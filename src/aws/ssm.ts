/**
 * The SSM Run Command calls of the drain_ssm step, each counted. What moto 5.2.1 does differently from
 * AWS is in docs/aws-calls.md ("SSM").
 *
 * - SendCommand: at most 50 instance ids a call (the API's limit). `timeoutSeconds` is both the delivery
 *   timeout (TimeoutSeconds, 30 s..30 d) and the documents' executionTimeout (1..172800 s). MaxErrors and
 *   MaxConcurrency are 100%, so one instance's failure never cancels the others' drain.
 * - The Comment (at most 100 characters) carries a random key and the termination ids, so a worker that
 *   died between the call and saving its CommandId finds the command again (ListCommands) instead of
 *   sending it twice. ListCommands cannot filter on the comment: it is matched here, among the commands
 *   invoked in a window around the mark.
 * - Progress: ListCommands by CommandId (1 call per command of up to 50 instances) says how many of its
 *   invocations ended; GetCommandInvocation then reads the ones that did (status, exit code, output).
 */
import { randomBytes } from 'node:crypto';
import { GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand, type Command, type SSMClient } from '@aws-sdk/client-ssm';
import { counted, type CallCounter } from './ec2.js';

export const MAX_INSTANCES_PER_COMMAND = 50;
const COMMENT_MAX = 100;
const COMMENT_PREFIX = 'ddsrv drain_ssm';
/** Pages of ListCommands read when looking for a command by its key, within the window. */
const LOOKUP_MAX_PAGES = 20;
/** The window around the mark in which the command can have been invoked (the SDK's own retries included). */
const LOOKUP_BEFORE_MS = 60_000;
const LOOKUP_AFTER_MS = 10 * 60_000;

/** A fresh key for one SendCommand: 12 hex digits, unique enough among the commands of one window. */
export function newCommandKey(): string {
  return randomBytes(6).toString('hex');
}

/** `ddsrv drain_ssm <key> t=12-14,20` (termination ids), cut to the API's 100 characters. */
export function commentFor(key: string, terminationIds: readonly number[]): string {
  const sorted = [...terminationIds].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j += 1;
    ranges.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  const full = `${COMMENT_PREFIX} ${key} t=${ranges.join(',')}`;
  if (full.length <= COMMENT_MAX) return full;
  const cut = full.slice(0, COMMENT_MAX - 3);
  return `${cut.slice(0, cut.lastIndexOf(','))},..`;
}

function hasKey(comment: string | undefined, key: string): boolean {
  return comment?.startsWith(`${COMMENT_PREFIX} ${key} `) ?? false;
}

export interface SendInput {
  instanceIds: string[];
  document: string;
  commands: string[];
  timeoutSeconds: number;
  comment: string;
}

/** Sends the command; returns its CommandId. */
export async function sendCommand(client: SSMClient, input: SendInput, count?: CallCounter): Promise<string> {
  if (input.instanceIds.length > MAX_INSTANCES_PER_COMMAND) throw new Error(`SendCommand takes at most ${MAX_INSTANCES_PER_COMMAND} instances`);
  const out = await counted(count, 'SendCommand', () =>
    client.send(
      new SendCommandCommand({
        InstanceIds: input.instanceIds,
        DocumentName: input.document,
        Parameters: { commands: input.commands, executionTimeout: [String(input.timeoutSeconds)] },
        TimeoutSeconds: input.timeoutSeconds,
        MaxConcurrency: '100%',
        MaxErrors: '100%',
        Comment: input.comment,
      }),
    ),
  );
  const id = out.Command?.CommandId;
  if (!id) throw new Error('SendCommand answered without a CommandId');
  return id;
}

/**
 * The CommandId of the command sent with `key` around `markedAt` (ms epoch), or null when there is none:
 * it was never sent. Throws when the window holds more commands than this looks through (try later).
 */
export async function findCommandByKey(client: SSMClient, key: string, document: string, markedAt: number, count?: CallCounter): Promise<string | null> {
  const Filters = [
    { key: 'InvokedAfter' as const, value: isoSeconds(markedAt - LOOKUP_BEFORE_MS) },
    { key: 'InvokedBefore' as const, value: isoSeconds(markedAt + LOOKUP_AFTER_MS) },
    { key: 'DocumentName' as const, value: document },
  ];
  let NextToken: string | undefined;
  for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
    const out = await counted(count, 'ListCommands', () => client.send(new ListCommandsCommand({ Filters, MaxResults: 50, NextToken })));
    const found = out.Commands?.find((c) => hasKey(c.Comment, key));
    if (found?.CommandId) return found.CommandId;
    NextToken = out.NextToken;
    if (!NextToken) return null;
  }
  throw new Error(`ListCommands: more than ${LOOKUP_MAX_PAGES * 50} ${document} commands around ${new Date(markedAt).toISOString()}; the command with key ${key} was not among the first`);
}

/** The timestamp form ListCommands' filters document: 2021-07-07T00:00:00Z. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface CommandProgress {
  /** Pending, InProgress, Success, Cancelled, Failed, TimedOut, Cancelling. */
  status: string;
  /** Invocations that reached a terminal status. */
  completed: number;
}

const COMMAND_DONE = new Set(['Success', 'Cancelled', 'Failed', 'TimedOut']);

/** The command's overall progress, or null when SSM does not know the id (expired, or another account). */
export async function commandProgress(client: SSMClient, commandId: string, count?: CallCounter): Promise<CommandProgress | null> {
  let command: Command | undefined;
  try {
    command = (await counted(count, 'ListCommands', () => client.send(new ListCommandsCommand({ CommandId: commandId })))).Commands?.[0];
  } catch (err) {
    if ((err as Error).name === 'InvalidCommandId') return null;
    throw err;
  }
  if (!command) return null;
  return { status: command.Status ?? 'Pending', completed: command.CompletedCount ?? 0 };
}

export function commandEnded(p: CommandProgress): boolean {
  return COMMAND_DONE.has(p.status);
}

export interface Invocation {
  /** Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling. */
  status: string;
  /** Finer: Undeliverable, DeliveryTimedOut, ExecutionTimedOut, Terminated, ... */
  details: string | null;
  exitCode: number | null;
  stderr: string;
  stdout: string;
}

const INVOCATION_DONE = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed']);

export function invocationEnded(i: Invocation): boolean {
  return INVOCATION_DONE.has(i.status);
}

/** One instance's invocation of the command, or null while SSM has none for it yet. */
export async function getInvocation(client: SSMClient, commandId: string, instanceId: string, count?: CallCounter): Promise<Invocation | null> {
  try {
    const out = await counted(count, 'GetCommandInvocation', () => client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })));
    return {
      status: out.Status ?? 'Pending',
      details: out.StatusDetails && out.StatusDetails !== out.Status ? out.StatusDetails : null,
      exitCode: out.ResponseCode === undefined || out.ResponseCode === -1 ? null : out.ResponseCode,
      stderr: out.StandardErrorContent ?? '',
      stdout: out.StandardOutputContent ?? '',
    };
  } catch (err) {
    // Right after SendCommand, AWS may not have created the invocation yet.
    if ((err as Error).name === 'InvocationDoesNotExist') return null;
    throw err;
  }
}

/** SendCommand's refusal of one or more instances (agent not running or not registered, instance gone). */
export function isInvalidInstance(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'InvalidInstanceId';
}

/** "Failed (Undeliverable), exit 3: <first lines of the error output>" */
export function describeInvocation(i: Invocation): string {
  const head = `${i.status}${i.details ? ` (${i.details})` : ''}${i.exitCode !== null && i.status !== 'Success' ? `, exit ${i.exitCode}` : ''}`;
  const output = firstLines(i.stderr.trim() !== '' ? i.stderr : i.stdout);
  return output ? `${head}: ${output}` : head;
}

/** The first lines of a command's output, for a reason line: at most 5 lines, 300 characters. */
export function firstLines(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l !== '').slice(0, 5);
  const joined = lines.join(' | ');
  return joined.length > 300 ? `${joined.slice(0, 297)}...` : joined;
}
