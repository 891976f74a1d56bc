import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';

/** A caller's `x-request-id` is kept when it is a sane token; otherwise the gateway makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the caller's `x-request-id`, or a fresh UUID. */
export function requestIdOf(raw: { headers: Record<string, string | string[] | undefined> }): string {
  const sent = raw.headers['x-request-id'];
  return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** The error code the error filter answered a request with (for the request line and the metrics). */
const errorCodes = new WeakMap<object, string>();
export function recordErrorCode(request: object, code: string): void {
  errorCodes.set(request, code);
}

type Observed = FastifyRequest & {
  device?: { id?: string; manufacturerId?: string } | null;
  principal?: { manufacturerId?: string };
};

const RESULT_ROUTE = /^\/device\/v1\/work\/:[^/]+\/result$/;
const QUIET_ROUTES = new Set(['/metrics', '/health', '/health/live', '/health/ready']);

/**
 * One JSON log line per request (method, route template, status, duration, request id, and the
 * device or manufacturer when the request authenticated as one), the request id echoed in the
 * `x-request-id` response header, and the HTTP metrics. Call before the app starts listening.
 */
export function observeHttp(fastify: FastifyInstance, log: Logger, metrics: Metrics): void {
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const req = request as Observed;
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    const code = errorCodes.get(request);
    metrics.httpDuration.observe({ method: request.method, route, status: String(status) }, ms / 1000);
    if (route.startsWith('/device/') && status >= 400) metrics.deviceRefused.inc({ code: code ?? `HTTP.${status}` });
    if (request.method === 'POST' && RESULT_ROUTE.test(route)) {
      if (status < 300) metrics.results.inc({ outcome: 'accepted', reason: '' });
      else metrics.results.inc({ outcome: 'rejected', reason: code ?? `HTTP.${status}` });
    }
    const line = {
      reqId: request.id,
      method: request.method,
      route,
      url: route === 'unmatched' ? request.url.slice(0, 256) : undefined,
      status,
      ms: Math.round(ms * 10) / 10,
      ...(code ? { code } : {}),
      ...(req.device?.id ? { deviceId: req.device.id, manufacturerId: req.device.manufacturerId } : {}),
      ...(req.principal?.manufacturerId ? { manufacturerId: req.principal.manufacturerId } : {}),
    };
    if (status >= 500) log.error(line, 'request');
    else if (QUIET_ROUTES.has(route) && status < 400) log.debug(line, 'request');
    else log.info(line, 'request');
  });
}
