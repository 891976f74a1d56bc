import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection for BullMQ and the gateway. `maxRetriesPerRequest: null` is what BullMQ
 * workers require; commands wait through a reconnect instead of failing half-way.
 */
export function createRedis(url: string, name = 'idlemint', extra: RedisOptions = {}, cluster = false): Redis {
  if (!cluster) return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false, ...extra });
  // REDIS_CLUSTER: the URL names one node; the client learns the others and routes by slot. Every
  // key IdleMint uses carries a {hash tag}, so each MULTI and each BullMQ script stays in one slot.
  const u = new URL(url);
  const c = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions: {
      maxRetriesPerRequest: null,
      connectionName: name,
      ...extra,
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    },
  });
  // The commands IdleMint sends are the same on both; ioredis types them as two classes.
  return c as unknown as Redis;
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

/** Deletes every key matching the patterns (a test's or the demo's own prefixes); SCAN, never KEYS. */
export async function deleteKeys(url: string, patterns: string[]): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}
