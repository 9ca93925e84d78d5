/**
 * One place turns every error into the documented shape `{"error": code, "message": text}`. Client
 * mistakes get a 4xx naming the problem; anything else is a 5xx that hides internals (the log has them,
 * under the request id the response gives).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HandOffError } from '../domain/handoff.js';
import { CommitOutcomeUnknownError, isDiskFailure, storeFailureReason } from '../store/failures.js';

/** An error whose message is safe and useful to show the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Fastify's own client errors (parsing, limits), by its error code. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: (e: FastifyError, req: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: (_e, req) => `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not supported: send the document as application/json`,
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: () => 'the Content-Length header does not match the body' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: (e) => `the body is larger than the server's limit; split the hand-off into several requests (${e.message})` },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body', message: () => 'the body is empty: send a JSON document such as {"ec2_instance_id": "i-0123456789abcdef0"}' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: (e) => `the body is not valid JSON: ${e.message}` },
};

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof HttpError) {
    void reply.code(error.statusCode).headers(error.headers).send({ error: error.code, message: error.message });
    return;
  }
  if (error instanceof HandOffError) {
    void reply.code(400).send({ error: error.code, message: error.message });
    return;
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) {
    void reply.code(known.status).send({ error: known.code, message: known.message(error, request) });
    return;
  }
  // JSON syntax errors and prototype-poisoning refusals come from the body parser as plain 400s.
  if (error instanceof SyntaxError || error.statusCode === 400) {
    void reply.code(400).send({ error: 'invalid_json', message: `the body is not a valid JSON document: ${error.message}` });
    return;
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    void reply.code(error.statusCode).send({ error: 'bad_request', message: error.message });
    return;
  }
  if (error instanceof CommitOutcomeUnknownError) {
    request.log.error({ err: error }, 'request outcome unknown');
    void reply.code(503).header('retry-after', '5').send({
      error: 'outcome_unknown',
      message: `the database did not confirm this request (${error.message}): it may or may not have taken effect. Look before retrying (GET the termination); retrying a hand-off is always safe (request id ${request.id})`,
    });
    return;
  }
  if (isDiskFailure(error)) {
    request.log.error({ err: error }, 'request failed: the database cannot be written');
    void reply.code(503).header('retry-after', '5').send({ error: 'store_unavailable', message: `${storeFailureReason(error)}; nothing of this request was recorded, retry later` });
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply.code(500).send({ error: 'internal_error', message: `the server failed; nothing of this request was recorded (request id ${request.id}, in the server log)` });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send({
    error: 'not_found',
    message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}; hand-offs go to POST /delayed-termination`,
  });
}
