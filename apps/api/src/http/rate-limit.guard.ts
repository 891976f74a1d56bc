import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { CONFIG, DomainError, REDIS, type Config } from '@idlemint/core';

/** Which credential a path is budgeted by, and how many requests a minute it gets. */
interface Budget {
  kind: 'key' | 'owner';
  credential: string;
  perMinute: number;
}

const bearer = (h: unknown): string | undefined => (typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined);

/**
 * Per-credential request budget for the manufacturer API (per API key) and the owner endpoints
 * (per owner token): a fixed one-minute window counted in Redis, like the device guard's. Beyond
 * the budget: 429 RATE.LIMITED with `retry-after`. Runs before authentication, so a refused
 * request counts too; requests without a credential are left to the authentication that refuses
 * them (and to the device guard on /device).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const budget = this.budgetOf(req);
    if (!budget) return true;
    const id = createHash('sha256').update(budget.credential).digest('hex').slice(0, 32);
    const window = Math.floor(Date.now() / 60_000);
    const key = `${this.config.REDIS_KEY_PREFIX}rate:${budget.kind}:${id}:${window}`;
    const replies = await this.redis.multi().incr(key).pexpire(key, 61_000).exec();
    const used = Number(replies?.[0]?.[1] ?? 0);
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    void reply.header('x-ratelimit-limit', String(budget.perMinute));
    void reply.header('x-ratelimit-remaining', String(Math.max(0, budget.perMinute - used)));
    if (used > budget.perMinute) {
      throw new DomainError('RATE.LIMITED', 'rate_limited', `more than ${budget.perMinute} requests a minute with this credential`, {
        retryAfterS: 60 - (Math.floor(Date.now() / 1000) % 60),
      });
    }
    return true;
  }

  private budgetOf(req: FastifyRequest): Budget | null {
    const path = req.url;
    if (path.startsWith('/manufacturer/')) {
      const key = req.headers['x-api-key'];
      return typeof key === 'string' && key !== ''
        ? { kind: 'key', credential: key, perMinute: this.config.MANUFACTURER_RATE_PER_MIN }
        : null;
    }
    if (path.startsWith('/owner/')) {
      const token = bearer(req.headers.authorization);
      return token ? { kind: 'owner', credential: token, perMinute: this.config.OWNER_RATE_PER_MIN } : null;
    }
    return null;
  }
}
