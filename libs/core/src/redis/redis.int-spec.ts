import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS } from '../../../../test/support/scratch.js';
import { assertNoEviction, createRedis } from './redis.js';

/**
 * BullMQ work must not be evicted: a process refuses a Redis whose maxmemory-policy is not
 * `noeviction`. Checked against a throwaway redis-server started with an evicting policy.
 */

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined); // refused while the server starts: retried below
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      r.disconnect();
    }
    if (Date.now() > until) throw new Error(`redis-server at ${url} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('assertNoEviction', () => {
  let child: ChildProcess | undefined;
  let url: string;
  const clients: Redis[] = [];
  const client = (u: string) => {
    const c = createRedis(u, 'idlemint-test');
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'],
      {
        stdio: 'ignore',
      },
    );
    await waitForPing(url, 10_000);
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('rejects an evicting Redis, naming its policy', async () => {
    const redis = client(url);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    await expect(assertNoEviction(redis)).rejects.toThrow(/"allkeys-lru"/);
    await expect(assertNoEviction(redis)).rejects.toThrow(/noeviction/);
  });

  it('rejects every other evicting policy too', async () => {
    const redis = client(url);
    for (const policy of ['volatile-lru', 'allkeys-random', 'volatile-ttl']) {
      await redis.config('SET', 'maxmemory-policy', policy);
      await expect(assertNoEviction(redis)).rejects.toThrow(new RegExp(`"${policy}"`));
    }
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
  });

  it('accepts the same server once it is set to noeviction, and the local test Redis', async () => {
    const redis = client(url);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    try {
      await expect(assertNoEviction(redis)).resolves.toBeUndefined();
    } finally {
      await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    }
    const local = client(TEST_REDIS);
    expect(await local.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    await expect(assertNoEviction(local)).resolves.toBeUndefined();
  });
});
