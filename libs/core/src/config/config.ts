import { z } from 'zod';

/**
 * Every setting of every process, parsed and validated once at start. Nothing else reads
 * process.env: a process gets its Config from here (or, in tests, from `parseConfig`).
 */
const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of lowercase hex');
const int = (d: number) => z.coerce.number().int().nonnegative().default(d);
const bigint = (d: string) =>
  z
    .string()
    .regex(/^\d+$/)
    .default(d)
    .transform((s) => BigInt(s));

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/idlemint'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ prefix; the braces make it a Redis Cluster hash tag so a queue's keys share a slot. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9:_-]+\}$/)
    .default('{idlemint}'),
  /** Prefix of the gateway's own Redis keys (nonces, caches). */
  REDIS_KEY_PREFIX: z.string().default('idlemint:'),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: int(3000),
  OPERATOR_KEY: z.string().min(16).default('dev-operator-key-change-me'),
  /** Ed25519 seed the platform signs relayed units and payout requests with. */
  PLATFORM_SIGNING_KEY: hex32.default('a8c3e1b0f4d2c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6'),
  DEVICE_CLOCK_SKEW_MS: int(60_000),
  LEASE_MS: int(30_000),
  /** Matching independent results a unit needs when its first taker is not yet trusted. */
  QUORUM: int(2),
  MAX_REPLICAS: int(5),
  /** Canaries planted in each assignment: more for new and suspect devices than for proven ones. */
  CANARIES_UNTRUSTED: int(3),
  CANARIES_TRUSTED: int(1),
  /** Agreed results in a row (and no strike) before a device's answer may stand alone. */
  TRUST_AFTER: int(10),
  /** Share of a trusted device's units that still get a second, checking replica. */
  SPOT_CHECK_RATE: z.coerce.number().min(0).max(1).default(0.1),
  /** One strike is forgiven after this many agreed results in a row. */
  STRIKE_DECAY_EVERY: int(20),
  /** Quarantines after which a device is revoked for good. */
  REVOKE_AFTER_QUARANTINES: int(3),
  /** Daily unit quota: a new device's, and the most it can grow to. */
  QUOTA_INITIAL: int(200),
  QUOTA_MAX: int(20_000),
  /** A unit's second replica waits this long for a device of another manufacturer. */
  SPREAD_MANUFACTURERS_MS: int(2_000),
  /** Rewards stay immature this long; a device quarantined meanwhile forfeits them. */
  MATURITY_MS: int(60_000),
  /** Per owner: devices beyond this many earn less, each `OWNER_STEP_BPS` of the one before. */
  OWNER_FULL_DEVICES: int(5),
  OWNER_STEP_BPS: int(5_000),
  /** Canaries the worker keeps in stock, and how often one may be reused. */
  CANARY_STOCK: int(1_000),
  CANARY_MAX_USES: int(3),
  /** Reward per agreeing device per verified unit, minor units, split by the bps below. */
  UNIT_REWARD: bigint('1000'),
  OWNER_SHARE_BPS: int(7000),
  MANUFACTURER_SHARE_BPS: int(2000),
  OPERATOR_SHARE_BPS: int(1000),
  /** Currency code the minor units are of. */
  CURRENCY: z
    .string()
    .regex(/^[A-Z0-9]{2,10}$/)
    .default('IMT'),
  PAYOUT_THRESHOLD: bigint('5000'),
  PAYOUT_EVERY_MS: int(15_000),
  /** Trusted node that executes payouts (by name); the first active node when unset. */
  PAYOUT_NODE: z.string().optional(),
  INGEST_EVERY_MS: int(1_000),
  /** Pending transactions fetched per node per ingest tick. */
  INGEST_BATCH: int(256),
  /** Keep at most this many open units ahead of the fleet. */
  INGEST_MAX_OPEN_UNITS: int(200),
  /** Strikes (wrong canaries, disagreeing with a quorum) that quarantine a device: no work, no rewards. */
  QUARANTINE_STRIKES: int(3),
  /** Requests per minute across all devices of one manufacturer (429 beyond). */
  MANUFACTURER_DEVICE_RATE_PER_MIN: int(120_000),
  /** Requests a device may make per minute (429 beyond). */
  DEVICE_RATE_PER_MIN: int(600),
  RELAY_ATTEMPTS: int(8),
  OUTBOX_POLL_MS: int(200),
  /** Requests per minute for each manufacturer API key and each owner token (429 RATE.LIMITED beyond). */
  MANUFACTURER_RATE_PER_MIN: int(600),
  OWNER_RATE_PER_MIN: int(120),
  /** How often the worker evaluates every enabled alert rule. */
  ALERTS_EVERY_MS: int(30_000),
  /** Webhook delivery attempts per alert event, with exponential backoff from ALERT_BACKOFF_MS. */
  ALERT_DELIVERY_ATTEMPTS: int(8),
  ALERT_BACKOFF_MS: int(2_000),
  ALERT_WEBHOOK_TIMEOUT_MS: int(10_000),
  /** Lets alert webhooks reach private, loopback and link-local addresses (tests, closed networks). */
  ALLOW_PRIVATE_WEBHOOKS: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('false')
    .transform((v) => v === '1' || v === 'true'),
  /** Hash shares (docs/protocol/hash-share-v1.md): minor units per accepted share of difficulty 1 (pay-per-share). */
  SHARE_PPS_PER_DIFF1: bigint('100'),
  /** Bonus to the device whose share became a block, minor units. */
  SHARE_BLOCK_BONUS: bigint('10000'),
  /** Vardiff (node-stratum-pool/NOMP defaults, as Miningcore ships them): one share per ~15 s. */
  SHARE_TARGET_S: z.coerce.number().positive().default(15),
  SHARE_RETARGET_S: z.coerce.number().positive().default(90),
  SHARE_VARIANCE_PCT: z.coerce.number().min(0).max(100).default(30),
  SHARE_MIN_DIFF: z.coerce.number().positive().default(0.0001),
  SHARE_MAX_DIFF: z.coerce.number().positive().default(1_000_000),
  SHARE_START_DIFF: z.coerce.number().positive().default(0.001),
  /** How often the worker credits accepted shares in one batch, and polls the node's template. */
  SHARE_BATCH_MS: int(2_000),
  SHARE_TEMPLATE_MS: int(1_000),
  /** Stratum v1 gateway (apps/stratum). */
  STRATUM_HOST: z.string().min(1).default('127.0.0.1'),
  STRATUM_PORT: int(3333),
  /** A connection must authorize within this long, send lines no longer and no more messages a minute. */
  STRATUM_AUTH_TIMEOUT_MS: int(10_000),
  STRATUM_MAX_LINE: int(4_096),
  STRATUM_MAX_MSG_PER_MIN: int(1_200),
  /** How often the gateway re-checks that its connected devices are still active. */
  STRATUM_RECHECK_MS: int(2_000),
});

export type Config = z.infer<typeof configSchema>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = result.data;
  if (c.OWNER_SHARE_BPS + c.MANUFACTURER_SHARE_BPS + c.OPERATOR_SHARE_BPS !== 10_000) {
    throw new Error('invalid configuration: reward shares must add up to 10000 bps');
  }
  return c;
}

export const CONFIG = Symbol('CONFIG');
