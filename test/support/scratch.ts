import { randomBytes } from 'node:crypto';
import { createDatabase, deleteKeys, dropDatabase, migrate, parseConfig, platformMigrationsDir, type Config } from '@idlemint/core';

/** Tests reach the local PostgreSQL and Redis (started by .ci/run); override with these. */
export const TEST_PG = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const TEST_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniqueSuffix = (): string => `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** A fresh database of its own for one test file; `drop()` removes it. */
export async function scratchDatabase(label: string, { migrated = true } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = `${TEST_PG}/idlemint_test_${label}_${uniqueSuffix()}`;
  await createDatabase(url);
  if (migrated) await migrate(url, platformMigrationsDir());
  return { url, drop: () => dropDatabase(url) };
}

/** Removes every Redis key under a test's own prefixes. */
export const dropRedisKeys = (patterns: string[]): Promise<void> => deleteKeys(TEST_REDIS, patterns);

/**
 * A platform configuration on scratch storage: its own database and its own Redis key and
 * queue prefixes, so two runs never collide.
 */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  const tag = uniqueSuffix();
  return parseConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS,
    QUEUE_PREFIX: `{imt_${tag}}`,
    REDIS_KEY_PREFIX: `imt_${tag}:`,
    OPERATOR_KEY: 'test-operator-key-0123456789',
    // audits add replicas after a verdict; the tests that are about them turn them on
    AUDIT_RATE: '0',
    // Tests call from one address, many on purpose with wrong credentials: per-IP budgets are
    // lifted unless a test sets them (apps/api/test/security.int-spec.ts).
    ANON_RATE_PER_MIN: '1000000',
    AUTH_FAILURES_PER_MIN: '1000000',
    // Telemetry written before the heartbeat is answered, so a test can read it at once.
    HEARTBEAT_FLUSH_MS: '0',
    ...overrides,
  });
}

/** Redis key patterns a config owns, for dropRedisKeys. */
export function redisPatterns(config: Config): string[] {
  return [`${config.QUEUE_PREFIX}:*`, `${config.REDIS_KEY_PREFIX}*`];
}
