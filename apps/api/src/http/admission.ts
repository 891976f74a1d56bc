import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DependencyMonitor, toErrorResponse, type Config, DomainError } from '@idlemint/core';

/** Health probes answer whatever the load or the dependencies: they report on them. */
const isProbe = (url: string): boolean => url === '/health' || url.startsWith('/health/') || url.startsWith('/health?');

function refuse(reply: FastifyReply, error: DomainError): void {
  const { status, body, headers } = toErrorResponse(error);
  void reply
    .headers(headers ?? {})
    .status(status)
    .send(body);
}

/**
 * Runs before routing, body parsing and authentication, so refusing costs next to nothing:
 * - fail fast: while PostgreSQL or Redis is down, every request but the probes is answered 503 with
 *   Retry-After at once, instead of hanging on a connection or failing half-way with a 500;
 * - admission control: past `API_MAX_INFLIGHT` requests in progress, new ones are shed with 503
 *   and Retry-After before any signature check or query, so the requests admitted keep being
 *   served in time and memory stays bounded.
 */
export function installAdmission(app: NestFastifyApplication, config: Config): void {
  const monitor = app.get(DependencyMonitor);
  let inflight = 0;
  const overloaded = new DomainError('SERVER.OVERLOADED', 'unavailable', 'the server is at capacity, retry shortly', { retryAfterS: 1 });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (isProbe(req.url)) return done();
      const down = monitor.down();
      if (down.length > 0) return refuse(reply, DependencyMonitor.unavailable(down));
      if (config.API_MAX_INFLIGHT > 0 && inflight >= config.API_MAX_INFLIGHT) return refuse(reply, overloaded);
      inflight++;
      reply.raw.once('close', () => inflight--);
      done();
    });
}
