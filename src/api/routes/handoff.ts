/**
 * The original server's endpoint, drop-in compatible: `GET` is the health check Skopos probes, `POST`
 * hands instances off. A 2xx is sent only after the hand-off is committed to the store.
 */
import type { FastifyInstance } from 'fastify';
import { parseHandOff } from '../../domain/handoff.js';
import type { Scheduled } from '../../store/ports.js';
import { IsoClock } from '../../lib/iso-time.js';
import { HttpError } from '../errors.js';
import { CommitOutcomeUnknownError, storeFailureReason } from '../../store/failures.js';
import type { AppDeps } from '../app.js';

const PATH = '/delayed-termination';

/** `user_data` is opaque but not free: a megabyte per hand-off grew the database by gigabytes in seconds. */
function checkUserDataSize(userData: string | null, limit: number): void {
  if (userData === null || userData.length <= limit / 3) return; // cheap: a UTF-8 character is at most 3 bytes per UTF-16 unit
  const bytes = Buffer.byteLength(userData, 'utf8');
  if (bytes > limit) {
    throw new HttpError(413, 'user_data_too_large', `user_data is ${bytes} bytes serialized; the limit is ${limit} bytes (--max-user-data). Nothing was scheduled`);
  }
}

/** The truth about a hand-off the store did not confirm: not recorded, or not known. */
function recordFailure(err: unknown): HttpError {
  if (err instanceof CommitOutcomeUnknownError) {
    return new HttpError(
      503,
      'outcome_unknown',
      `the database did not confirm the hand-off (${err.message}): it may or may not have been recorded. Retrying is safe: an instance already scheduled is not scheduled twice`,
      { 'retry-after': '5' },
    );
  }
  const why = storeFailureReason(err);
  return new HttpError(503, 'store_unavailable', `the hand-off was not recorded (${why}); nothing was scheduled, retry later`, { 'retry-after': '5' });
}

export function handOffRoutes(app: FastifyInstance, deps: AppDeps): void {
  const dueClock = new IsoClock(); // the hand-offs of a group commit share their due time
  // Open to everyone (the Skopos quality gate sends no credentials) and reveals nothing.
  app.get(PATH, async (_req, reply) => {
    const why = await deps.unavailable();
    if (why !== null) throw new HttpError(503, 'unavailable', `the service cannot record hand-offs right now: ${why}`);
    return reply.type('text/plain; charset=utf-8').send('');
  });

  // Content-Type: application/json is enforced for every state-changing route (request-guard.ts).
  app.post(PATH, async (request, reply) => {
    const doc = parseHandOff(request.body);
    checkUserDataSize(doc.userData, deps.maxUserDataBytes);
    if (deps.admit) {
      const verdict = await deps.admit(doc.instanceIds.length);
      if (!verdict.ok) {
        throw new HttpError(
          429,
          'too_many_pending',
          `${verdict.limit} terminations are already pending (the --max-pending ceiling); nothing was scheduled, retry later`,
          { 'retry-after': String(verdict.retryAfterSeconds) },
        );
      }
    }
    const now = deps.now();
    let scheduled: Scheduled[];
    try {
      // Written out field by field, not spread: spreading two objects into a literal took V8's slow path
      // (a hidden-class transition per property), ~6% of the server's CPU under load (docs/performance.md).
      const plan = deps.plan(doc, now);
      scheduled = await deps.recordHandOff({
        region: doc.region,
        instanceIds: doc.instanceIds,
        ipAddress: doc.ipAddress,
        project: doc.project,
        component: doc.component,
        userData: doc.userData,
        dueAt: plan.dueAt,
        firstStep: plan.firstStep,
        firstAttemptAt: plan.firstAttemptAt,
        stepData: plan.stepData,
        requestedBy: request.principal,
        sourceIp: request.ip,
        userAgent: request.headers['user-agent']?.slice(0, 255) ?? null,
      });
    } catch (err) {
      request.log.error({ err }, 'could not record hand-off');
      throw recordFailure(err);
    }
    deps.onAccepted?.(scheduled);
    return reply.code(200).send({
      accepted: scheduled.length,
      terminations: scheduled.map((s) => ({
        id: s.id,
        instance_id: s.instance_id,
        region: s.region,
        state: s.state,
        due_at: dueClock.iso(s.due_at),
        already_scheduled: s.duplicate,
      })),
    });
  });

  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: PATH,
    config: { changesNothing: true },
    handler: async (request, reply) => {
      void reply.header('allow', 'GET, HEAD, POST');
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not supported on ${PATH}: use GET (health) or POST (hand-off)`, { allow: 'GET, HEAD, POST' });
    },
  });
}
