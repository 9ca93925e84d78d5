/**
 * The original server's endpoint, drop-in compatible: `GET` is the health check Skopos probes, `POST`
 * hands instances off. A 2xx is sent only after the hand-off is committed to the store.
 */
import type { FastifyInstance } from 'fastify';
import { parseHandOff } from '../../domain/handoff.js';
import type { Scheduled } from '../../store/store.js';
import { IsoClock } from '../../domain/iso-time.js';
import { HttpError } from '../errors.js';
import type { AppDeps } from '../app.js';

const PATH = '/delayed-termination';

export function handOffRoutes(app: FastifyInstance, deps: AppDeps): void {
  const dueClock = new IsoClock(); // the hand-offs of a group commit share their due time
  // Open to everyone (the Skopos quality gate sends no credentials) and reveals nothing.
  app.get(PATH, async (_req, reply) => {
    if (!(await deps.ready())) {
      throw new HttpError(503, 'unavailable', 'the service cannot record hand-offs right now (its database is unreachable)');
    }
    return reply.type('text/plain; charset=utf-8').send('');
  });

  app.post(PATH, async (request, reply) => {
    const type = request.headers['content-type'];
    if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
      throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json (got ${JSON.stringify(type ?? 'none')})`);
    }
    const doc = parseHandOff(request.body);
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
      throw new HttpError(503, 'store_unavailable', 'the hand-off was not recorded (the database failed); nothing was scheduled, retry later', { 'retry-after': '5' });
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
    handler: async (request, reply) => {
      void reply.header('allow', 'GET, HEAD, POST');
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not supported on ${PATH}: use GET (health) or POST (hand-off)`, { allow: 'GET, HEAD, POST' });
    },
  });
}
