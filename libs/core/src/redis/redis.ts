import { Redis } from 'ioredis';

/**
 * A Redis connection for BullMQ and the gateway. `maxRetriesPerRequest: null` is what BullMQ
 * workers require; commands wait through a reconnect instead of failing half-way.
 */
export function createRedis(url: string, name = 'idlemint'): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}

/**
 * BullMQ keeps work in Redis; an evicting Redis silently drops jobs and locks. Refuse to run
 * against one (the brief's rule: processes refuse to start unless the policy is `noeviction`).
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is "${policy}"; IdleMint needs "noeviction" (set it in redis.conf or with CONFIG SET)`);
  }
}
