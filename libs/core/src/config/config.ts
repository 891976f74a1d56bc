import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * Every setting of every process, parsed and validated once at start. Nothing else reads
 * process.env: a process gets its Config from here (or, in tests, from `parseConfig`).
 */
/**
 * Secrets with a public default, fine on a developer's machine. With NODE_ENV=production the
 * process refuses to start while any of them is missing or still its default (parseConfig).
 */
export const DEV_SECRETS = {
  OPERATOR_KEY: 'dev-operator-key-change-me',
  PLATFORM_SIGNING_KEY: 'a8c3e1b0f4d2c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6',
  DATA_ENCRYPTION_KEY: '5d1f0c6e3b9a48f27e0d4c1b8a6f3e2d9c7b5a4f1e0d3c2b6a9f8e7d4c1b0a3f',
} as const;
/** Defaults shipped earlier (docker-compose.yml) that are public too. */
const PUBLIC_SECRETS = new Set<string>([...Object.values(DEV_SECRETS), 'change-me-operator-key']);

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
  /** REDIS_URL is one node of a Redis Cluster (every key carries a hash tag; see docs/scaling.md). */
  REDIS_CLUSTER: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('false')
    .transform((v) => v === '1' || v === 'true'),
  /** BullMQ prefix; the braces make it a Redis Cluster hash tag so a queue's keys share a slot. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9:_-]+\}$/)
    .default('{idlemint}'),
  /** Prefix of the gateway's own Redis keys (nonces, caches). */
  REDIS_KEY_PREFIX: z.string().default('idlemint:'),
  /** Processes the api and the worker each run (node:cluster); one per core unless set. */
  API_PROCESSES: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  WORKER_PROCESSES: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  API_HOST: z.string().default('127.0.0.1'),
  /**
   * Proxies in front of the api whose X-Forwarded-For is believed (Fastify `trustProxy`): empty for
   * none, `true` for any, or addresses/CIDRs separated by commas. A device's network origin
   * (replicas of a unit are kept apart by it) is the client address this yields.
   */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((v): boolean | string => (v === '' || v === 'false' ? false : v === 'true' ? true : v)),
  API_PORT: int(3000),
  /** Address the worker's Prometheus endpoint binds to (the api serves /metrics on API_PORT behind the operator key). */
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Port of the worker's `GET /metrics` (0: any free port, logged at start). */
  WORKER_METRICS_PORT: int(9464),
  OPERATOR_KEY: z.string().min(16).default(DEV_SECRETS.OPERATOR_KEY),
  /** Ed25519 seed the platform signs relayed units and payout requests with. */
  PLATFORM_SIGNING_KEY: hex32.default(DEV_SECRETS.PLATFORM_SIGNING_KEY),
  /**
   * Key (32 bytes hex, AES-256-GCM) that wraps the data keys of secrets stored in the database
   * (webhook secrets, rotated platform key seeds), and its id, stored beside each ciphertext.
   */
  DATA_ENCRYPTION_KEY: hex32.default(DEV_SECRETS.DATA_ENCRYPTION_KEY),
  DATA_ENCRYPTION_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .default('config-1'),
  DEVICE_CLOCK_SKEW_MS: int(60_000),
  /** Heartbeat telemetry is coalesced this long per api process, then written in multi-row statements (0: at once). */
  HEARTBEAT_FLUSH_MS: int(250),
  LEASE_MS: int(30_000),
  /**
   * Matching independent results every unit needs before it is relayed: devices of distinct owners,
   * network origins and (where the class has several) manufacturers. Never 1: reputation buys a
   * device fewer canaries and a higher quota, never the right to decide alone.
   */
  QUORUM: z.coerce.number().int().min(2).default(2),
  MAX_REPLICAS: int(5),
  /** Canaries planted in each assignment: more for new and suspect devices than for proven ones. */
  CANARIES_UNTRUSTED: int(3),
  CANARIES_TRUSTED: int(1),
  /** Agreed results in a row (and no strike) before a device's answer may stand alone. */
  TRUST_AFTER: int(10),
  /** Share of verified units re-issued later to a third, independent device (audit). */
  AUDIT_RATE: z.coerce.number().min(0).max(1).default(0.05),
  /** An audit replica waits this long after the verdict, so the auditor is not a claimer of the moment. */
  AUDIT_DELAY_MS: int(5_000),
  /** Fresh replicas that settle an audit that disagreed with the relayed verdict. */
  AUDIT_TIEBREAK: z.coerce.number().int().min(1).default(2),
  /**
   * Seeds replica placement (the random order devices are handed replicas in) and the audit sample,
   * so a test can reproduce them; empty: a fresh random seed per process.
   */
  PLACEMENT_SEED: z.string().default(''),
  /** One strike is forgiven after this many agreed results in a row. */
  STRIKE_DECAY_EVERY: int(20),
  /** Quarantines after which a device is revoked for good. */
  REVOKE_AFTER_QUARANTINES: int(3),
  /** Daily unit quota: a new device's, and the most it can grow to. */
  QUOTA_INITIAL: int(200),
  QUOTA_MAX: int(20_000),
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
  /** Pending transactions fetched per node per ingest tick (a node answers at most 1000 a page). */
  INGEST_BATCH: z.coerce.number().int().min(1).max(1000).default(256),
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
  /** Requests per minute for the operator key. */
  OPERATOR_RATE_PER_MIN: int(6_000),
  /** Per client IP: requests a minute without a credential (operator, manufacturer, owner routes). */
  ANON_RATE_PER_MIN: int(300),
  /** Per client IP: failed authentications (keys, tokens, claim codes) a minute before it gets 429. */
  AUTH_FAILURES_PER_MIN: int(30),
  /** How often the worker evaluates every enabled alert rule. */
  ALERTS_EVERY_MS: int(30_000),
  /** Webhook delivery attempts per alert event, with exponential backoff from ALERT_BACKOFF_MS. */
  ALERT_DELIVERY_ATTEMPTS: int(8),
  ALERT_BACKOFF_MS: int(2_000),
  ALERT_WEBHOOK_TIMEOUT_MS: int(10_000),
  /** The worker's reconciler rebuilds missing jobs from Postgres this often (and at once when Redis lost its data). */
  RECONCILE_EVERY_MS: int(10_000),
  /** A relay job out of retries is sent again by the reconciler after this long (deliveries never die of a long outage). */
  RELAY_REDRIVE_MS: int(30_000),
  /** Requests the api serves at once; more are shed with 503 and Retry-After before any work (0: no limit). */
  API_MAX_INFLIGHT: int(256),
  /** The worker's /health/live and /health/ready port; unset: no health server (0: any free port). */
  WORKER_HEALTH_PORT: z.coerce.number().int().nonnegative().optional(),
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
  if (env.NODE_ENV === 'production') {
    const bad = (Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[]).filter((k) => {
      const v = env[k];
      return v === undefined || v.trim() === '' || PUBLIC_SECRETS.has(v);
    });
    if (bad.length > 0) {
      throw new Error(
        `invalid configuration: NODE_ENV=production needs a secret of your own in ${bad.join(', ')} (missing or a public default)`,
      );
    }
  }
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
