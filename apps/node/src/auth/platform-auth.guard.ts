import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '@idlemint/core';
import { isFreshNodeTimestamp, NODE_ERRORS, nodeRequestTimestamp, verifyNodeRequest } from '@idlemint/protocol';
import type { FastifyRequest } from 'fastify';
import { PlatformKeysService } from '../platform-keys/platform-keys.service.js';

const PUBLIC = Symbol('node:public');
/** Marks a route every caller may read (stats, log, health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

/** A request the guard let through: `platformKey` is the public key whose signature verified. */
export type PlatformRequest = FastifyRequest & { rawBody?: Buffer; platformKey?: string };

/**
 * Every other route must be signed by a platform key the node accepts now (the configured one or a
 * rotated one within its validity, PlatformKeysService) over method, path and query as sent,
 * timestamp and the SHA-256 of the exact body bytes. Runs before any pipe: an unsigned body is
 * never even validated.
 */
@Injectable()
export class PlatformAuthGuard implements CanActivate {
  constructor(
    private readonly keys: PlatformKeysService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<PlatformRequest>();
    const timestamp = nodeRequestTimestamp(req.headers);
    if (timestamp === undefined) throw invalid('missing or malformed x-idlemint-timestamp');
    if (!isFreshNodeTimestamp(timestamp)) {
      throw new DomainError(NODE_ERRORS.staleRequest, 'unauthorized', 'request timestamp is outside the allowed window');
    }
    const body = req.rawBody ?? '';
    const signer = await this.keys.findSigner((publicKey) => verifyNodeRequest(publicKey, req.method, req.url, req.headers, body));
    if (signer === null) throw invalid('platform signature does not verify with any key this node accepts');
    req.platformKey = signer;
    return true;
  }
}

const invalid = (message: string) => new DomainError(NODE_ERRORS.platformSignatureInvalid, 'unauthorized', message);
