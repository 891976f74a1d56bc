import { nodeNameSchema } from '@idlemint/protocol';
import { z } from 'zod';

/**
 * The reference node's settings, parsed and validated once at start. Nothing else in apps/node
 * reads process.env: main.ts parses it here, tests hand in their own via parseNodeConfig.
 */
const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of lowercase hex');
const int = (d: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(0).max(max).default(d);

/** Public key of the platform's development signing seed (PLATFORM_SIGNING_KEY's default). */
export const DEV_PLATFORM_PUBLIC_KEY = '596e22c3bc46fa58f35e719a9a9fc2d98298ba805660257230694df9f2325e2a';

/** P2PKH to hash160 = 20 bytes of 0x1d (a development payout script; operators set their own). */
export const DEV_POW_PAYOUT_SCRIPT = '76a914' + '1d'.repeat(20) + '88ac';

export const nodeConfigSchema = z.object({
  NODE_NAME: nodeNameSchema.default('node-a'),
  NODE_HOST: z.string().min(1).default('127.0.0.1'),
  NODE_PORT: int(4100, 65_535),
  NODE_DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/idlemint_node_a'),
  /** The platform key the node trusts first; rotations announce later ones (POST /v1/platform-keys). */
  PLATFORM_PUBLIC_KEY: hex32.default(DEV_PLATFORM_PUBLIC_KEY),
  /** Treasury's opening balance, minor units; applied once, when the database is new. */
  TREASURY_BALANCE: z
    .string()
    .regex(/^\d{1,36}$/)
    .default('1000000000000'),
  /** New pending transactions per second (0 = none after the seed batch). */
  PENDING_RATE: int(100, 100_000),
  /** Unverified pending transactions topped up at start, before the node listens. */
  PENDING_SEED: int(500, 1_000_000),
  /** Generation pauses while this many unverified pending transactions exist. */
  PENDING_CAP: int(1_000_000),
  /** Share of generated transactions made invalid on purpose. */
  INVALID_SHARE: z.coerce.number().min(0).max(1).default(0.1),
  /**
   * The least assurance this node accepts in a relayed unit: agreeing devices (each with its own
   * signature in the unit, which the node checks), and distinct owners and manufacturers among
   * them (vouched for by the platform's signature). Less is refused with 422 NODE.ASSURANCE_TOO_LOW.
   */
  NODE_MIN_DEVICES: z.coerce.number().int().min(1).max(64).default(2),
  NODE_MIN_OWNERS: z.coerce.number().int().min(1).max(64).default(2),
  NODE_MIN_MANUFACTURERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Proof-of-work chain: network target as nBits (8 hex). 1f00ffff ≈ 65,536 hashes a block. */
  POW_BITS: z
    .string()
    .regex(/^[0-9a-f]{8}$/)
    .default('1f00ffff'),
  /** The platform's payout script every coinbase must pay (hex scriptPubKey). */
  POW_PAYOUT_SCRIPT: z
    .string()
    .regex(/^(?:[0-9a-f]{2}){1,80}$/)
    .default(DEV_POW_PAYOUT_SCRIPT),
  /** Coinbase value of a block, minor units. */
  POW_SUBSIDY: z
    .string()
    .regex(/^\d{1,18}$/)
    .default('5000000000'),
  /** Pending transactions a template commits to (merkle leaves after the coinbase). */
  POW_TEMPLATE_TXS: int(8, 4096),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Fault injection for tests: payouts commit, then the connection is cut without an answer. */
  FAULT_PAYOUT_DROP_RESPONSE: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
});

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

export function parseNodeConfig(env: Record<string, string | undefined>): NodeConfig {
  const result = nodeConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid node configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export const NODE_CONFIG = Symbol('NODE_CONFIG');
