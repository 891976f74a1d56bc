import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '@idlemint/core';
import { isFreshNodeTimestamp, NODE_ERRORS, nodeRequestTimestamp, verifyNodeRequest } from '@idlemint/protocol';
import type { FastifyRequest } from 'fastify';
import { NODE_CONFIG, type NodeConfig } from '../config.js';

const PUBLIC = Symbol('node:public');
/** Marks a route every caller may read (stats, log, health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

/**
 * Every other route must be signed by the platform key over method, path and query as sent,
 * timestamp and the SHA-256 of the exact body bytes. Runs before any pipe: an unsigned body is
 * never even validated.
 */
@Injectable()
export class PlatformAuthGuard implements CanActivate {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & { rawBody?: Buffer }>();
    const timestamp = nodeRequestTimestamp(req.headers);
    if (timestamp === undefined) throw invalid('missing or malformed x-idlemint-timestamp');
    if (!isFreshNodeTimestamp(timestamp)) {
      throw new DomainError(NODE_ERRORS.staleRequest, 'unauthorized', 'request timestamp is outside the allowed window');
    }
    const body = req.rawBody ?? '';
    if (!verifyNodeRequest(this.config.PLATFORM_PUBLIC_KEY, req.method, req.url, req.headers, body)) {
      throw invalid('platform signature does not verify');
    }
    return true;
  }
}

const invalid = (message: string) => new DomainError(NODE_ERRORS.platformSignatureInvalid, 'unauthorized', message);
