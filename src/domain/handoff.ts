/**
 * The hand-off document of the original server, validated whole: either every id in it is
 * scheduled or none is. Pure: no I/O, so it is unit-tested without a server.
 */
import { z } from 'zod';
import { DEFAULT_REGION, INSTANCE_ID, REGION } from './ec2-names.js';

export const MAX_IDS_PER_DOCUMENT = 1000;
const MAX_LABEL_LENGTH = 255;

export interface HandOff {
  region: string;
  /** Unique, in the order given. */
  instanceIds: string[];
  /** As the caller reported it; informational only, never used to reach the instance. */
  ipAddress: string | null;
  project: string | null;
  component: string | null;
  /** The opaque `user_data` value as JSON text, or null when the document had none. */
  userData: string | null;
  /** The same value as parsed (policy may read `user_data.ddsrv`); undefined when absent. */
  userDataValue: unknown;
}

export class HandOffError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const idHelp = "EC2 instance ids are 'i-' then 8 or 17 lower-case hex digits, e.g. i-0123456789abcdef0";
const instanceId = z
  .string({ error: `must be a string (${idHelp})` })
  .regex(INSTANCE_ID, { error: (issue) => `${JSON.stringify(issue.input)} is not an EC2 instance id (${idHelp})` });
const label = z.string({ error: 'must be a string or null' }).max(MAX_LABEL_LENGTH, { error: `must be at most ${MAX_LABEL_LENGTH} characters` });
// `.` and `..` would move a drain hook's URL path when put into a segment of it (worker/hook-url.ts).
const name = label.refine((v) => v !== '.' && v !== '..', { error: (issue) => `${JSON.stringify(issue.input)} is not a usable name ('.' and '..' are path navigation, not names)` });

const documentSchema = z.object({
  ec2_instance_id: instanceId.nullish(),
  ec2_instance_ids: z
    .array(instanceId, { error: 'must be a list of instance id strings' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_IDS_PER_DOCUMENT, { error: `must hold at most ${MAX_IDS_PER_DOCUMENT} ids; split the hand-off into several requests` })
    .nullish(),
  ec2_region: z
    .string({ error: "must be a string such as 'us-east-1'" })
    .regex(REGION, { error: (issue) => `${JSON.stringify(issue.input)} is not an AWS region name (e.g. us-east-1, eu-central-2, us-gov-west-1)` })
    .nullish(),
  ip_address: label.nullish(),
  project: name.nullish(),
  component: name.nullish(),
  user_data: z.unknown().optional(),
});

/** Which error code a problem in a given top-level field gets. */
function codeFor(field: string | undefined, issueCode: string): string {
  if (field === 'ec2_instance_ids' && (issueCode === 'too_big')) return 'too_many_instance_ids';
  if (field === 'ec2_instance_ids' && (issueCode === 'too_small')) return 'empty_instance_ids';
  if (field === 'ec2_instance_id' || field === 'ec2_instance_ids') return 'invalid_instance_id';
  if (field === 'ec2_region') return 'invalid_region';
  return 'invalid_field';
}

function pathText(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Validates a parsed JSON body. Throws HandOffError naming the first problem (and how many more). */
export function parseHandOff(body: unknown): HandOff {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HandOffError(
      'invalid_document',
      'the body must be a JSON object such as {"ec2_instance_id": "i-0123456789abcdef0", "ec2_region": "us-east-1"}',
    );
  }
  const result = documentSchema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues;
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new HandOffError(codeFor(first.path[0] as string | undefined, first.code), `${pathText(first.path)}: ${first.message}${more}`);
  }
  const doc = result.data;
  const list = doc.ec2_instance_ids ?? null;
  const single = doc.ec2_instance_id ?? null;
  if (list === null && single === null) {
    throw new HandOffError(
      'missing_instance_id',
      'the document names no instance: set "ec2_instance_id" (a string) or "ec2_instance_ids" (a list of strings)',
    );
  }
  // The original uses the list when both are present. A single id that the list does not contain is
  // ambiguous (terminate it too, or ignore it?), so it is refused rather than guessed at.
  if (list !== null && single !== null && !list.includes(single)) {
    throw new HandOffError(
      'conflicting_instance_ids',
      `ec2_instance_id ${JSON.stringify(single)} is not in ec2_instance_ids; send one of the two fields, or include it in the list`,
    );
  }
  return {
    region: doc.ec2_region ?? DEFAULT_REGION,
    instanceIds: [...new Set(list ?? [single!])],
    ipAddress: doc.ip_address ?? null,
    project: doc.project ?? null,
    component: doc.component ?? null,
    userData: 'user_data' in body ? JSON.stringify((body as { user_data: unknown }).user_data) : null,
    userDataValue: (body as { user_data?: unknown }).user_data,
  };
}
