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
        const redis = createRedis(config.REDIS_URL, 'idlemint-app', {}, config.REDIS_CLUSTER);
        await assertNoEviction(redis);
        // From now on commands give up after 5 s: a request never hangs on a Redis that went away.
        // Not during the start check, which may be slow on a busy machine.
        redis.options.commandTimeout = 5_000;
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
