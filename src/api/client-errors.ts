/**
 * The answers sent before any route runs, in the same `{"error", "message"}` shape as every other error:
 * a request Node's HTTP parser refuses (malformed request line, headers too large, a request not received
 * in time) and the URLs the router cannot read. Fastify's defaults are JSON too, but say only
 * "Client Error" or "Bad Request".
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Seconds a whole request (headers and body) may take to arrive; the README documents it. */
export const REQUEST_TIMEOUT_MS = 30_000;

interface Answer {
  status: number;
  reason: string;
  code: string;
  message: string;
}

export function clientErrorAnswer(code: string | undefined): Answer {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', code: 'request_timeout', message: `the request was not received in full within ${REQUEST_TIMEOUT_MS / 1000} s; nothing of it was recorded` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'Request Header Fields Too Large', code: 'headers_too_large', message: 'the request headers are larger than the server accepts (16 KiB in all); nothing of it was recorded' };
    default:
      return { status: 400, reason: 'Bad Request', code: 'malformed_request', message: `the request is not valid HTTP/1.1 (${code ?? 'parse error'}); nothing of it was recorded` };
  }
}

/** For Fastify's `clientErrorHandler`: Node's `clientError` event, where no request object exists yet. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer; a response already under way must not be interleaved with.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code === 'ECONNRESET' || socket.destroyed || inProgress || !socket.writable) {
    socket.destroy();
    return;
  }
  const answer = clientErrorAnswer(error.code);
  const body = JSON.stringify({ error: answer.code, message: answer.message });
  // Written and closed at once, as Node's own handler does: the client sent something we will not read on.
  socket.write(`HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/** For Fastify's `frameworkErrors`: a URL the router cannot decode, a path parameter too long. */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send({ error: 'invalid_url', message: `the URL is not valid (${error.message}): percent-encode it correctly` });
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send({ error: 'url_too_long', message: 'a path parameter is longer than the server accepts' });
  } else {
    void reply.code(500).send({ error: 'internal_error', message: 'the server failed before the request reached its route; nothing of it was recorded' });
  }
}
