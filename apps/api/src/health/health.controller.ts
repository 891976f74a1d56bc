import { Controller, Get, Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, PrismaService, REDIS } from '@idlemint/core';

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get()
  async health() {
    try {
      await Promise.all([this.db.$queryRaw`SELECT 1`, this.redis.ping()]);
    } catch (e) {
      throw new DomainError('HEALTH.DEPENDENCY_DOWN', 'unavailable', (e as Error).message);
    }
    return { status: 'ok' };
  }
}
