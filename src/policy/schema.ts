/**
 * The policy file (`--config`; the README's policy file reference), as a strict schema: unknown keys are errors, every value is
 * checked at start-up. Durations are strings as elsewhere (`10s`, `30m`).
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { isRegion } from '../domain/ec2-names.js';
import { blockedPortProblem } from '../domain/fetch-ports.js';
import { commandTemplateProblems, SSM_DOCUMENTS } from './ssm-command.js';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(String(value));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const TEMPLATE_VARIABLES = ['instance_id', 'private_ip', 'region', 'project', 'component'] as const;

const templateUrl = z.string().superRefine((url, ctx) => {
  for (const [, name] of url.matchAll(/\{([^}]*)\}/g)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name!)) {
      ctx.addIssue({ code: 'custom', message: `unknown template variable {${name}}; use ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')}` });
    }
  }
  // The scheme and host part must be fixed or come from EC2's record ({private_ip}): never free text.
  if (!/^https?:\/\//.test(url)) {
    ctx.addIssue({ code: 'custom', message: `must start with http:// or https:// (got ${JSON.stringify(url.slice(0, 60))})` });
    return;
  }
  for (const [, name] of (/^https?:\/\/([^/?#]*)/.exec(url)?.[1] ?? '').matchAll(/\{([^}]*)\}/g)) {
    if (name !== 'private_ip') ctx.addIssue({ code: 'custom', message: `{${name}} may not be used in the host part (only {private_ip}, which comes from EC2)` });
  }
  // The URL as it will be called, with sample values: it must parse, on a port fetch will call.
  let sample: URL;
  try {
    sample = new URL(url.replaceAll('{private_ip}', '10.0.0.1').replace(/\{[a-z_]+\}/g, 'x'));
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)} is not a valid URL` });
    return;
  }
  const port = blockedPortProblem(sample);
  if (port) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)}: ${port}` });
});

const hook = z.strictObject({
  url: templateUrl,
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('POST'),
  timeout: duration.default(30_000),
  /** Tries of the hook call before it counts as failed. */
  attempts: z.number().int().min(1).max(20).default(3),
  /** What a hook that keeps failing does: go on to terminate, or stop (the termination ends `failed`). */
  on_failure: z.enum(['continue', 'stop']).default('continue'),
});

/**
 * SendCommand's delivery timeout (TimeoutSeconds) is at least 30 s; the documents' executionTimeout at
 * most 172800 s (48 h), in whole seconds. `timeout` is both, and how long the step waits.
 */
const SSM_TIMEOUT_MIN_MS = 30_000;
const SSM_TIMEOUT_MAX_MS = 172_800_000;

const ssm = z
  .strictObject({
    commands: z
      .array(z.string({ error: 'must be a string (a command line)' }).refine((c) => c.trim() !== '', { error: 'must not be empty (a command with something to run)' }), {
        error: (issue) => (issue.input === undefined ? 'is required: the commands to run on the instance' : 'must be a list of command strings'),
      })
      .min(1, { error: 'must list at least one command' }),
    document: z.enum(SSM_DOCUMENTS).default('AWS-RunShellScript'),
    timeout: duration.default(600_000),
    /** What a command that fails, times out or cannot be delivered does: go on to terminate, or stop. */
    on_failure: z.enum(['continue', 'stop']).default('continue'),
  })
  .superRefine((s, ctx) => {
    s.commands.forEach((command, i) => {
      for (const message of commandTemplateProblems(command, s.document)) ctx.addIssue({ code: 'custom', path: ['commands', i], message });
    });
    if (s.timeout < SSM_TIMEOUT_MIN_MS || s.timeout > SSM_TIMEOUT_MAX_MS || s.timeout % 1000 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        message: `${formatDuration(s.timeout)} is not an SSM command timeout: whole seconds from 30s to 48h (SendCommand waits at least 30 s for delivery; the documents run a command at most 172800 s)`,
      });
    }
  });

const drain = z.strictObject({
  load_balancers: z.boolean().optional(),
  timeout: duration.optional(),
  hook: hook.nullable().optional(),
  /** A drain command on the instance through SSM Run Command, after the load balancers let go. */
  ssm: ssm.nullable().optional(),
});

/** The settings that may differ per component; every key optional, filled from `defaults`. */
const settings = z.strictObject({
  delay: duration.optional(),
  asg: z.enum(['detach', 'leave']).optional(),
  action: z.enum(['terminate', 'stop']).optional(),
  drain: drain.optional(),
});

const tagValue = z.string().min(1).max(256);

export const policySchema = z.strictObject({
  defaults: settings.optional(),
  /** Keyed by `component` or `project/component` (the more specific wins). */
  components: z.record(z.string().min(1), settings).optional(),
  guard: z
    .strictObject({
      /** Only instances carrying all of these tags may be terminated; `*` wildcards, {project}, {component}. */
      require_tags: z.record(z.string().min(1).max(128), tagValue).optional(),
      /** Instances carrying this tag (any value) are never terminated. */
      protect_tag: z.string().min(1).max(128).optional(),
      /** Only these regions are acted on. */
      regions: z
        .array(z.string().refine(isRegion, { error: (issue) => `${JSON.stringify(issue.input)} is not an AWS region name (e.g. us-east-1, eu-central-2)` }))
        .min(1)
        .optional(),
      /**
       * Ask EC2 whether termination protection is on before acting (one DescribeInstanceAttribute per
       * instance), so a protected instance is refused without an attempt. Off: the attempt itself is the
       * check (EC2 refuses it; the instance ends `failed`, isolated from its batch, not retried).
       */
      check_termination_protection: z.boolean().default(false),
    })
    .optional(),
  /** What a cancel with restore does after putting the instance back (not per component: it is the operator's call). */
  restore: z
    .strictObject({
      /** Wait until every target group it was put back in reports it `healthy`; not healthy in time: `failed`. */
      wait_healthy: z.boolean().default(false),
      timeout: duration.default(600_000),
    })
    .optional(),
  /** What a hand-off's `user_data` may change, within bounds. */
  user_data_overrides: z
    .strictObject({
      /** Allow `user_data.ddsrv.delay` to lengthen the delay, up to `max_delay`. */
      delay: z.boolean().default(false),
      min_delay: duration.optional(),
      max_delay: duration.optional(),
    })
    .superRefine((bounds, ctx) => {
      if (bounds.min_delay !== undefined && bounds.max_delay !== undefined && bounds.min_delay > bounds.max_delay) {
        ctx.addIssue({
          code: 'custom',
          path: ['min_delay'],
          message: `min_delay (${formatDuration(bounds.min_delay)}) is longer than max_delay (${formatDuration(bounds.max_delay)})`,
        });
      }
    })
    .optional(),
});

export type PolicyFile = z.output<typeof policySchema>;
export type Settings = z.output<typeof settings>;
export type SsmSettings = z.output<typeof ssm>;
export { TEMPLATE_VARIABLES };
