import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, DomainError, REDIS, type Config } from '@idlemint/core';

const WINDOW_MS = 60_000;

/**
 * Failed authentication per client IP (a wrong operator key, API key or owner token, an unknown
 * claim code): at AUTH_FAILURES_PER_MIN failures within a minute the address gets
 * 429 RATE.AUTH_FAILURES on every operator, manufacturer and owner route until the minute is over.
 * Budgets per credential alone give each guess a fresh budget; this one is per guesser.
 */
@Injectable()
export class AuthFailures {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private key(ip: string): string {
    return `${this.config.REDIS_KEY_PREFIX}authfail:{${ip}}`;
  }

  async record(ip: string): Promise<void> {
    const key = this.key(ip);
    await this.redis.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').exec();
  }

  /** 429 when this address used up its failures for the minute. */
  async assertNotBlocked(ip: string): Promise<void> {
    const key = this.key(ip);
    const [[, count], [, ttl]] = (await this.redis.multi().get(key).pttl(key).exec()) as [[null, string | null], [null, number]];
    if (Number(count ?? 0) >= this.config.AUTH_FAILURES_PER_MIN) {
      throw new DomainError('RATE.AUTH_FAILURES', 'rate_limited', 'too many failed authentications from this address', {
        retryAfterS: Math.max(1, Math.ceil(ttl / 1000)),
      });
    }
  }

  /** Runs `authenticate`; a refusal of the credential (401, or `codes`) counts against the address. */
  async guard<T>(ip: string, authenticate: () => Promise<T> | T, codes: string[] = []): Promise<T> {
    try {
      return await authenticate();
    } catch (e) {
      if (e instanceof DomainError && (e.kind === 'unauthorized' || codes.includes(e.code))) await this.record(ip);
      throw e;
    }
  }
}
