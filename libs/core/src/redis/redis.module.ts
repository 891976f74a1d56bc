import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type Config } from '../config/config.js';
import { assertNoEviction, createRedis } from './redis.js';

export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [CONFIG],
      useFactory: async (config: Config): Promise<Redis> => {
        // Commands give up after 2 s: a request never hangs on a Redis that went away.
        const redis = createRedis(config.REDIS_URL, 'idlemint-app', { commandTimeout: 2_000 }, config.REDIS_CLUSTER);
        await assertNoEviction(redis);
        return redis;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
