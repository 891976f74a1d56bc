import 'reflect-metadata';
import { createDatabase, migrate, platformMigrationsDir } from '@idlemint/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../../../scripts/lib/private-services.js';
import { eventually } from '../../../test/support/work.js';
import { OPERATOR_KEY, startApi, type RunningApi } from './support/api.js';

/**
 * Fail fast when a dependency is down: the api on a private PostgreSQL cluster and a private Redis,
 * which are crashed and brought back. Requests answer 503 with Retry-After at once (never hang,
 * never 500), the probes say which dependency is down and never how in its own words, and the api
 * serves again by itself once it is back.
 */

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  text: string;
  body: { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

describe('the api when PostgreSQL or Redis is down', { timeout: 120_000 }, () => {
  let pgc: PrivatePostgres;
  let redis: PrivateRedis;
  let api: RunningApi;
  const dbName = 'idlemint_deps';

  beforeAll(async () => {
    [pgc, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    const url = `${pgc.base}/${dbName}`;
    await createDatabase(url);
    await migrate(url, platformMigrationsDir());
    api = await startApi(url, { REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await api?.close().catch(() => undefined);
    await redis?.close();
    await pgc?.close();
  });

  async function get(path: string): Promise<Answer> {
    const t0 = Date.now();
    const res = await fetch(api.base + path, { headers: { 'x-operator-key': OPERATOR_KEY }, signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    return {
      status: res.status,
      ms: Date.now() - t0,
      retryAfter: res.headers.get('retry-after'),
      text,
      body: JSON.parse(text) as Answer['body'],
    };
  }

  const operatorRead = () => get('/operator/v1/payouts?status=unclear');

  it('serves while both are up; /health/live answers without touching them', async () => {
    expect((await get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
    expect((await get('/health/ready')).status).toBe(200);
    expect((await get('/health/live')).body).toEqual({ status: 'live' });
    expect((await operatorRead()).status).toBe(200);
  });

  it('PostgreSQL crashed: 503 with Retry-After at once, /health names postgres and nothing of its error; back by itself', async () => {
    await pgc.crash();
    // From the first request on: never a 500, never a hang.
    const first = await operatorRead();
    expect(first.status).toBe(503);
    expect(first.retryAfter).not.toBeNull();
    const ready = await eventually(async () => {
      const r = await get('/health/ready');
      return r.status === 503 && r.body.error?.message === 'postgres unavailable' ? r : undefined;
    }, 30_000);
    expect(ready.body.error).toMatchObject({ code: 'HEALTH.DEPENDENCY_DOWN', details: { postgres: 'down', redis: 'up' } });
    expect(ready.text).not.toMatch(/ECONN|refused|idlemint_deps|P10\d\d|57P|database server|127\.0\.0\.1/i);
    expect((await get('/health')).body.error?.message).toBe('postgres unavailable');
    expect((await get('/health/live')).status).toBe(200);

    const down = await operatorRead();
    expect(down.status).toBe(503);
    expect(down.body.error).toMatchObject({ code: 'DEPENDENCY.UNAVAILABLE', details: { down: ['postgres'] } });
    expect(down.retryAfter).toBe('2');
    expect(down.ms).toBeLessThan(1_500); // refused at once (1 s asked; a little room for a busy machine)

    await pgc.start();
    await eventually(async () => (await operatorRead()).status === 200, 30_000);
    expect((await get('/health')).status).toBe(200);
  });

  it('Redis killed: 503 with Retry-After at once, /health names redis; back by itself when it restarts', async () => {
    await redis.kill();
    const ready = await eventually(async () => {
      const r = await get('/health/ready');
      return r.status === 503 && r.body.error?.message === 'redis unavailable' ? r : undefined;
    }, 30_000);
    expect(ready.body.error?.details).toMatchObject({ postgres: 'up', redis: 'down' });
    const down = await operatorRead();
    expect(down.status).toBe(503);
    expect(down.body.error?.code).toBe('DEPENDENCY.UNAVAILABLE');
    expect(down.retryAfter).toBe('2');
    expect(down.ms).toBeLessThan(1_500); // refused at once (1 s asked; a little room for a busy machine)

    await redis.start();
    await eventually(async () => (await operatorRead()).status === 200, 30_000);
    expect((await get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  });
});
