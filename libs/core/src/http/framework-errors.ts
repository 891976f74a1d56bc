import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * What Fastify and Node's HTTP parser answer before any route runs, in the same
 * `{ error: { code, message } }` envelope as everything else: a path parameter longer than the
 * router allows (414), a URL that does not decode (400), headers too large (431), a malformed or
 * timed-out request (400, 408). Pass both to the FastifyAdapter options.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [status, code, message] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'REQUEST.URI_TOO_LONG', 'a path parameter is longer than allowed']
      : error.code === 'FST_ERR_BAD_URL'
        ? [400, 'REQUEST.BAD_URL', 'a path parameter is not valid percent-encoding']
        : [400, 'REQUEST.BAD_REQUEST', 'malformed request'];
  void reply.status(status).send({ error: { code, message } });
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'REQUEST.HEADERS_TOO_LARGE', 'request line and headers are larger than allowed'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST.TIMEOUT', 'the request did not arrive in time'],
};

export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'REQUEST.MALFORMED', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
