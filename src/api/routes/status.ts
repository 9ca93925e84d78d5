/**
 * GET /api/v1/status: what the service can do right now, for operators and their monitoring (behind the
 * token, like the rest of the operator API). `ok` is false while something stops terminations from
 * happening (no AWS credentials); hand-offs are still recorded then, and the public health check
 * (`GET /delayed-termination`) still answers 200, because acceptance never depends on AWS.
 */
import type { FastifyInstance } from 'fastify';
import type { CredentialsStatus } from '../../aws/credentials.js';
import { ERROR_SCHEMA } from './schemas.js';

export interface ServiceStatus {
  aws_credentials: CredentialsStatus;
  worker: { state: string; last_round_at: string | null; last_error: string | null };
  dry_run: boolean;
}

const nullableString = (description: string, extra: Record<string, unknown> = {}) => ({ type: ['string', 'null'], description, ...extra });

const STATUS_SCHEMA = {
  type: 'object',
  required: ['ok', 'problems', 'aws_credentials', 'worker', 'dry_run'],
  properties: {
    ok: { type: 'boolean', description: 'false while something stops terminations (see `problems`)' },
    problems: { type: 'array', items: { type: 'string' }, description: 'one sentence per problem, empty when ok' },
    aws_credentials: {
      type: 'object',
      required: ['state', 'checked_at', 'message', 'tried', 'source', 'next_check_at'],
      properties: {
        state: {
          type: 'string',
          enum: ['unchecked', 'ok', 'missing'],
          description: "whether the AWS SDK's default credential chain finds credentials (checked at start, every 30 s while missing, every 10 min otherwise)",
        },
        checked_at: nullableString('the last check', { format: 'date-time' }),
        message: nullableString("the SDK's answer when they are missing"),
        tried: { type: 'string', description: 'where the SDK looked' },
        source: { type: ['array', 'null'], items: { type: 'string' }, description: "the SDK's names for where it found them, when it says" },
        next_check_at: nullableString('the next check', { format: 'date-time' }),
      },
    },
    worker: {
      type: 'object',
      required: ['state', 'last_round_at', 'last_error'],
      properties: {
        state: { type: 'string', enum: ['created', 'running', 'stopping', 'stopped'] },
        last_round_at: nullableString('when it last looked at the schedule', { format: 'date-time' }),
        last_error: nullableString('why its last round failed (the database), or null'),
      },
    },
    dry_run: { type: 'boolean', description: 'the server runs with --dry-run: nothing is changed or terminated' },
  },
} as const;

export function statusRoute(app: FastifyInstance, status: () => ServiceStatus): void {
  app.get(
    '/api/v1/status',
    {
      schema: {
        operationId: 'getStatus',
        summary: 'What the service can do right now: AWS credentials, the worker',
        description:
          'Answers 200 whatever the state; `ok: false` with `problems` when terminations cannot happen (no AWS credentials). ' +
          'Hand-offs are still recorded then, and the public health check still answers 200.',
        tags: ['operator'],
        response: { 200: STATUS_SCHEMA, 401: ERROR_SCHEMA },
      },
    },
    async () => {
      const s = status();
      const problems: string[] = [];
      if (s.aws_credentials.state === 'missing') {
        problems.push(`no AWS credentials: ${s.aws_credentials.message ?? 'none found'}; nothing can be drained or terminated until they appear (tried ${s.aws_credentials.tried})`);
      }
      if (s.worker.last_error !== null) problems.push(`the worker's last round failed: ${s.worker.last_error}`);
      return { ok: problems.length === 0, problems, ...s };
    },
  );
}
