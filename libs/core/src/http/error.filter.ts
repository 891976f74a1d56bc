import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, STATUS_OF, type ErrorBody } from '../errors/domain-error.js';
import { recordErrorCode } from './observe.js';

/** Fastify's own request errors (before any handler runs), by their code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'REQUEST.TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'REQUEST.INVALID_JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'REQUEST.INVALID_CONTENT_LENGTH' },
  // Refused by the router before any handler (createApiApp's frameworkErrors).
  FST_ERR_BAD_URL: { status: 400, code: 'REQUEST.BAD_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'REQUEST.URI_TOO_LONG' },
};

/** Nest's own HTTP exceptions (Fastify errors arrive wrapped in them), by status. */
const HTTP_CODES: Record<number, string> = {
  400: 'REQUEST.BAD_REQUEST',
  404: 'HTTP.NOT_FOUND',
  405: 'HTTP.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
};

/** Connection-level failures of PostgreSQL (through Prisma and pg) or Redis: the request may be retried. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  '57P01',
  '57P03',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|Can't reach database server|ECONNREFUSED|ECONNRESET|Connection is closed|Command timed out|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery)|terminating connection|DatabaseNotReachable|ConnectionClosed/i;

export function isDependencyDown(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 4) return false;
  const x = e as { code?: unknown; errorCode?: unknown; message?: unknown; cause?: unknown; name?: unknown };
  if (x.name === 'PrismaClientInitializationError') return true;
  for (const c of [x.code, x.errorCode]) if (typeof c === 'string' && CONNECTION_CODES.has(c)) return true;
  if (typeof x.message === 'string' && CONNECTION_MESSAGES.test(x.message)) return true;
  return isDependencyDown(x.cause, depth + 1);
}

/** Turns every error into `{ error: { code, message, details? } }` with the right status. */
export function toErrorResponse(e: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (e instanceof DomainError) {
    const headers: Record<string, string> = {};
    const retryAfter = e.details?.retryAfterS;
    if ((e.kind === 'rate_limited' || e.kind === 'unavailable') && typeof retryAfter === 'number')
      headers['retry-after'] = String(retryAfter);
    return {
      status: STATUS_OF[e.kind],
      body: { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } },
      headers,
    };
  }
  const fe = e as { code?: string; statusCode?: number; message?: string };
  const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) return { status: known.status, body: { error: { code: known.code, message: fe.message ?? '' } } };
  if (e instanceof SyntaxError || (fe.statusCode === 400 && /JSON/i.test(fe.message ?? ''))) {
    return { status: 400, body: { error: { code: 'REQUEST.INVALID_JSON', message: 'body is not valid JSON' } } };
  }
  if (e instanceof HttpException) {
    const status = e.getStatus();
    const code = status === 400 && /JSON/i.test(e.message) ? 'REQUEST.INVALID_JSON' : (HTTP_CODES[status] ?? `HTTP.${status}`);
    return { status, body: { error: { code, message: e.message } } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: `REQUEST.${fe.code ?? 'INVALID'}`, message: fe.message ?? '' } } };
  }
  if (isDependencyDown(e)) {
    return {
      status: 503,
      body: { error: { code: 'DEPENDENCY.UNAVAILABLE', message: 'a dependency is unavailable, retry shortly' } },
      headers: { 'retry-after': '2' },
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, headers } = toErrorResponse(exception);
    recordErrorCode(host.switchToHttp().getRequest<object>(), body.error.code);
    if (status >= 500) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    if (headers) for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
    void reply.status(status).send(body);
  }
}
