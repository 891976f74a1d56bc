import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Config } from '@idlemint/core';
import { AuthFailures } from './auth-failures.js';

/** Which API a route belongs to, from its controller's path as the router matched it (never the raw URL). */
export type Scope = 'manufacturer' | 'owner' | 'operator' | 'device' | 'other';

/** Nest's PATH_METADATA: the path a controller is mounted on. */
const PATH_METADATA = 'path';

export function scopeOf(reflector: Reflector, ctx: ExecutionContext): Scope {
  const path = reflector.get<string | string[] | undefined>(PATH_METADATA, ctx.getClass());
  const first = (Array.isArray(path) ? path[0] : path)?.replace(/^\//, '').split('/')[0];
  return first === 'manufacturer' || first === 'owner' || first === 'operator' || first === 'device' ? first : 'other';
}

const bearer = (h: unknown): string | undefined => (typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined);

/** The credential a request carries for its scope, if any. */
export function credentialOf(scope: Scope, req: FastifyRequest): string | undefined {
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  switch (scope) {
    case 'manufacturer':
      return header('x-api-key');
    case 'operator':
      return header('x-operator-key');
    case 'owner':
      return bearer(req.headers.authorization);
    case 'device':
    case 'other':
      return undefined;
  }
}

/** Named throttlers (one minute each): per credential, and per IP for requests without one. */
export function throttlers(config: Config, reflector: Reflector): ThrottlerOptions[] {
  const scope = (ctx: ExecutionContext) => scopeOf(reflector, ctx);
  const limited = (ctx: ExecutionContext) => scope(ctx) === 'manufacturer' || scope(ctx) === 'owner' || scope(ctx) === 'operator';
  const credential = (ctx: ExecutionContext) => credentialOf(scope(ctx), ctx.switchToHttp().getRequest<FastifyRequest>());
  const perMinute: Record<Scope, number> = {
    manufacturer: config.MANUFACTURER_RATE_PER_MIN,
    owner: config.OWNER_RATE_PER_MIN,
    operator: config.OPERATOR_RATE_PER_MIN,
    device: 0,
    other: 0,
  };
  return [
    {
      name: 'credential',
      ttl: 60_000,
      limit: (ctx) => perMinute[scope(ctx)],
      skipIf: (ctx) => !limited(ctx) || credential(ctx) === undefined,
      getTracker: (_req, ctx) =>
        `${scope(ctx)}:${createHash('sha256')
          .update(credential(ctx) ?? '')
          .digest('hex')
          .slice(0, 32)}`,
      // One budget per credential across all of its routes (the default key is per route).
      generateKey: (_ctx, tracker, name) => `${name}:${tracker}`,
    },
    {
      name: 'anonymous',
      ttl: 60_000,
      limit: config.ANON_RATE_PER_MIN,
      skipIf: (ctx) => !limited(ctx) || credential(ctx) !== undefined,
      generateKey: (_ctx, tracker, name) => `${name}:${tracker}`,
    },
  ];
}

/**
 * @nestjs/throttler on the route as Nest's router matched it (so `/%6Danufacturer/…` is the
 * manufacturer API like `/manufacturer/…`), with the counters in Redis (RedisThrottlerStorage):
 * each manufacturer API key, owner token and operator key its own budget a minute, requests
 * without a credential a budget per client IP, and an address past its failed-authentication
 * budget refused outright (AuthFailures). Beyond a budget: 429 RATE.LIMITED with retry-after.
 * The device gateway has its own per-device budgets (DeviceAuthGuard); /health is not limited.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(AuthFailures) private readonly failures: AuthFailures,
  ) {
    super(options, storage, reflector);
    this.headerPrefix = 'x-ratelimit';
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const scope = scopeOf(this.reflector, ctx);
    if (scope === 'manufacturer' || scope === 'owner' || scope === 'operator') {
      await this.failures.assertNotBlocked(ctx.switchToHttp().getRequest<FastifyRequest>().ip);
    }
    return super.canActivate(ctx);
  }

  /** The window's budget and what is left of it, without the throttler-name suffix. */
  protected override setResponseHeader(res: FastifyReply, name: string, value: string | number): void {
    const plain = name.replace(/-(credential|anonymous)$/, '');
    if (plain === 'Retry-After' || plain.endsWith('-Reset')) return;
    void res.header(plain.toLowerCase(), String(value));
  }

  protected override throwThrottlingException(_ctx: ExecutionContext, d: ThrottlerLimitDetail): Promise<void> {
    const what = /^(manufacturer|owner|operator):/.test(d.tracker) ? 'with this credential' : 'from this address without a credential';
    throw new DomainError('RATE.LIMITED', 'rate_limited', `more than ${d.limit} requests a minute ${what}`, {
      retryAfterS: Math.max(1, d.timeToBlockExpire),
    });
  }
}
