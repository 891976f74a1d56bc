import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PrismaService } from '../db/prisma.service.js';
import { DomainError } from '../errors/domain-error.js';
import { REDIS } from '../redis/redis.module.js';

export type Dependency = 'postgres' | 'redis';

/** Seconds a client is told to wait when a dependency is down. */
export const RETRY_AFTER_S = 2;

/** How often PostgreSQL is pinged in the background, and how long a ping may take. */
const PING_EVERY_MS = 1_000;
const PING_TIMEOUT_MS = 5_000;

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/**
 * Knows, without waiting, whether PostgreSQL and Redis are reachable: Redis from its client's
 * connection state, PostgreSQL from a ping every second. Requests are refused with 503 and
 * Retry-After while either is down (fail fast: never hang, never 500), and `/health/ready` reports
 * which one is down: never why in the dependency's own words (database names, error codes).
 */
@Injectable()
export class DependencyMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private postgresUp = true;
  private timer?: NodeJS.Timeout;
  private pinging?: Promise<unknown>;

  constructor(
    private readonly db: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.pinging = this.pingPostgres().finally(() => {
        this.timer = setTimeout(tick, PING_EVERY_MS);
        this.timer.unref();
      });
    };
    tick();
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pinging;
    clearTimeout(this.timer);
  }

  /**
   * An answer means up, an error from the connection or the server means down. A ping that is
   * only slow (a busy machine, a long queue for the pool) changes nothing: slowness is not an
   * outage, and refusing everything because of it would make a busy platform stop.
   */
  private async pingPostgres(): Promise<boolean> {
    try {
      await withTimeout(this.db.$queryRaw`SELECT 1`, PING_TIMEOUT_MS);
      this.postgresUp = true;
    } catch (e) {
      if ((e as Error).message !== 'timeout') this.postgresUp = false;
    }
    return this.postgresUp;
  }

  /** Dependencies known to be down right now (no I/O). */
  down(): Dependency[] {
    const down: Dependency[] = [];
    if (!this.postgresUp) down.push('postgres');
    if (this.redis.status !== 'ready') down.push('redis');
    return down;
  }

  /** Asks both now (a few seconds at most): what `/health/ready` answers. */
  async check(): Promise<Record<Dependency, 'up' | 'down'>> {
    const [postgres, redis] = await Promise.all([
      this.pingPostgres(),
      this.redis.status === 'ready'
        ? withTimeout(this.redis.ping(), PING_TIMEOUT_MS).then(
            () => true,
            () => false,
          )
        : Promise.resolve(false),
    ]);
    return { postgres: postgres ? 'up' : 'down', redis: redis ? 'up' : 'down' };
  }

  /** The 503 a request gets while `down` is not empty. */
  static unavailable(down: Dependency[]): DomainError {
    return new DomainError('DEPENDENCY.UNAVAILABLE', 'unavailable', `${down.join(' and ')} unavailable, retry shortly`, {
      down,
      retryAfterS: RETRY_AFTER_S,
    });
  }
}
