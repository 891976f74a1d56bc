import { ed25519Sign, ed25519VerifyHex, sha256Hex } from '@idlemint/crypto';
import { z } from 'zod';
import { resultSigningString } from './device.js';

/**
 * Trusted-node protocol v1: what IdleMint and a trusted node say to each other. The reference node
 * (apps/node), the platform's ingest, relay and payout code and the demo all use these schemas and
 * signing helpers; nothing restates them.
 *
 * Every `/v1` route but `GET /v1/stats` and `GET /v1/log` is signed by the platform's Ed25519 key
 * (see nodeSigningString). Amounts and sequence numbers are decimal strings on the wire.
 */

/** The device's result signature (device protocol v1), which the node checks itself. */
export { resultSigningString };

export const NODE_PREFIX = '/v1';
export const NODE_BODY_LIMIT = 1 << 20;
/** A request signed further than this from the node's clock is refused as stale. */
export const NODE_CLOCK_SKEW_MS = 60_000;
/** prevHash of the first log entry. */
export const NODE_GENESIS_HASH = '0'.repeat(64);

export const NODE_HEADERS = {
  timestamp: 'x-idlemint-timestamp',
  signature: 'x-idlemint-signature',
} as const;

/** Stable error codes a node answers with (body `{ error: { code, message, details? } }`). */
export const NODE_ERRORS = {
  platformSignatureInvalid: 'NODE.PLATFORM_SIGNATURE_INVALID', // 401
  staleRequest: 'NODE.STALE_REQUEST', // 401
  resultSignatureInvalid: 'NODE.RESULT_SIGNATURE_INVALID', // 422
  verdictsInvalid: 'NODE.VERDICTS_INVALID', // 422: length differs from items, or not only 0/1
  refInvalid: 'NODE.REF_INVALID', // 422: ref index outside the items
  refUnknown: 'NODE.REF_UNKNOWN', // 422: ref names this node and a transaction it never made
  refMismatch: 'NODE.REF_MISMATCH', // 422: the item at ref index is not that transaction
  assuranceTooLow: 'NODE.ASSURANCE_TOO_LOW', // 422: fewer independent devices, owners or manufacturers than the node requires
  assuranceInvalid: 'NODE.ASSURANCE_INVALID', // 422: the assurance does not match the results it comes with
  unitConflict: 'NODE.UNIT_CONFLICT', // 409
  payoutConflict: 'NODE.PAYOUT_CONFLICT', // 409
  insufficientFunds: 'NODE.INSUFFICIENT_FUNDS', // 422, recorded as a failed payout
  payoutNotFound: 'NODE.PAYOUT_NOT_FOUND', // 404
} as const;

// ---------------------------------------------------------------------------------------------
// Field shapes

const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lowercase hex`);
/** Names, ids and keys: letters, digits and `:_-`. */
export const NODE_TOKEN_RE = /^[A-Za-z0-9:_-]+$/;
const token = (min: number, max: number) => z.string().min(min).max(max).regex(NODE_TOKEN_RE);
/** Unsigned decimal integer (sequence numbers), no leading zeros. */
const seqString = z.string().regex(/^(0|[1-9]\d{0,17})$/, 'expected a non-negative integer string');
/** Item fields are judged by devices, not by the schema: any printable ASCII, bounded. */
const itemField = z
  .string()
  .max(4096)
  .regex(/^[\x20-\x7e]*$/, 'expected printable ASCII');
const isoUtc = z.iso.datetime({ offset: true });

export const nodeNameSchema = token(1, 64);

export const NODE_SCHEMES = ['ed25519', 'bip340', 'ecdsa-secp256k1'] as const;
export type NodeScheme = (typeof NODE_SCHEMES)[number];

/** A `tx-verify` item as a relayed unit carries it (device protocol v1 item). */
export const nodeTxItemSchema = z.strictObject({
  scheme: z
    .string()
    .max(32)
    .regex(/^[a-z0-9-]*$/),
  publicKey: itemField,
  message: itemField,
  signature: itemField,
});
export type NodeTxItem = z.infer<typeof nodeTxItemSchema>;
/** The item type as libs/crypto builds and checks it (assignable to NodeTxItem). */
export type { TxItem } from '@idlemint/crypto';

// ---------------------------------------------------------------------------------------------
// GET /v1/pending

export const nodePendingQuerySchema = z.strictObject({
  after: seqString.default('0'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type NodePendingQuery = z.infer<typeof nodePendingQuerySchema>;

export const nodePendingTxSchema = z.strictObject({
  seq: seqString,
  id: token(1, 128),
  scheme: z.enum(NODE_SCHEMES),
  publicKey: z.string(),
  message: z.string(),
  signature: z.string(),
});
export type NodePendingTx = z.infer<typeof nodePendingTxSchema>;

export const nodePendingPageSchema = z.strictObject({
  transactions: z.array(nodePendingTxSchema),
  /** Pass as `after` to get the next page (the last seq returned, or `after` when none). */
  next: seqString,
});
export type NodePendingPage = z.infer<typeof nodePendingPageSchema>;
/** Alias used by the platform's ingest. */
export type PendingPage = NodePendingPage;

// ---------------------------------------------------------------------------------------------
// POST /v1/relay/units

export const nodeRefSchema = z.strictObject({
  index: z.number().int().min(0).max(65_535),
  node: nodeNameSchema,
  id: token(1, 128),
});
export type NodeRef = z.infer<typeof nodeRefSchema>;

/**
 * One agreeing device's answer as it signed it: its verdicts over the items it was sent, which were
 * the unit's items with canaries planted at `canaries` (indexes into `verdicts`). Taking those
 * out must give the unit's verdicts.
 */
export const nodeDeviceResultSchema = z.strictObject({
  devicePublicKey: hexOf(32),
  resultSignature: hexOf(64),
  verdicts: z.string().regex(/^[01]{1,8192}$/),
  canaries: z.array(z.number().int().min(0).max(8191)).max(64),
});
export type NodeDeviceResult = z.infer<typeof nodeDeviceResultSchema>;

/**
 * How independently a verdict was confirmed, as the platform vouches for it under its signature:
 * the agreeing devices (each of whose own signature is in `results`), the distinct owners,
 * manufacturers and network origins among them, and each one's reputation (0..1) at the verdict.
 * A node sets the least it accepts (the reference node: NODE_MIN_DEVICES, NODE_MIN_OWNERS,
 * NODE_MIN_MANUFACTURERS) and refuses less with 422 ASSURANCE_TOO_LOW.
 */
export const nodeAssuranceSchema = z.strictObject({
  devices: z.number().int().min(1).max(64),
  owners: z.number().int().min(1).max(64),
  manufacturers: z.number().int().min(1).max(64),
  origins: z.number().int().min(1).max(64),
  reputations: z.array(z.number().min(0).max(1)).max(64),
});
export type NodeAssurance = z.infer<typeof nodeAssuranceSchema>;

/**
 * A verified unit as IdleMint relays it. The schema checks shapes; the node checks meaning
 * (verdicts against items, every device's signature, its own refs, the assurance it requires) and
 * answers 422 with a code.
 */
export const relayedUnitSchema = z.strictObject({
  v: z.literal(1),
  unitId: token(1, 128),
  kind: z.literal('tx-verify'),
  items: z.array(nodeTxItemSchema).min(1).max(4096),
  verdicts: z.string().min(1).max(8192),
  refs: z.array(nodeRefSchema).max(4096),
  results: z
    .array(nodeDeviceResultSchema)
    .min(1)
    .max(64)
    .refine((rs) => new Set(rs.map((r) => r.devicePublicKey)).size === rs.length, 'a device appears twice in results'),
  assurance: nodeAssuranceSchema,
  verifiedAt: isoUtc,
});
export type RelayedUnit = z.infer<typeof relayedUnitSchema>;

// ---------------------------------------------------------------------------------------------
// POST /v1/relay/retractions

/**
 * IdleMint withdraws a verdict it relayed: a later audit by independent devices overturned it (or
 * could not confirm it). The node keeps its log as it is and marks the unit's transactions.
 */
export const retractionSchema = z.strictObject({
  v: z.literal(1),
  unitId: token(1, 128),
  reason: z.enum(['AUDIT_OVERTURNED', 'AUDIT_UNDECIDED']),
  retractedAt: isoUtc,
});
export type Retraction = z.infer<typeof retractionSchema>;

export const retractionAnswerSchema = z.strictObject({
  unitId: token(1, 128),
  /** This node's transactions whose recorded verdict the retraction marks. */
  transactions: z.number().int().nonnegative(),
  duplicate: z.boolean(),
});
export type RetractionAnswer = z.infer<typeof retractionAnswerSchema>;

export const relayAnswerSchema = z.strictObject({
  seq: seqString,
  hash: hexOf(32),
  duplicate: z.boolean(),
});
export type RelayAnswer = z.infer<typeof relayAnswerSchema>;

// ---------------------------------------------------------------------------------------------
// POST /v1/payouts, GET /v1/payouts/:key

/** Positive integer of minor units, as a string (fits Decimal(38,0) with room to add). */
export const nodeAmountSchema = z.string().regex(/^[1-9]\d{0,29}$/, 'expected a positive integer string');

export const nodePayoutKeySchema = token(8, 128);

export const nodePayoutRequestSchema = z.strictObject({
  idempotencyKey: nodePayoutKeySchema,
  address: token(1, 128),
  amount: nodeAmountSchema,
});
export type NodePayoutRequest = z.infer<typeof nodePayoutRequestSchema>;

export const NODE_PAYOUT_STATUSES = ['confirmed', 'failed'] as const;
export type NodePayoutStatus = (typeof NODE_PAYOUT_STATUSES)[number];

/** POST answers only `confirmed` (a failed one is a 422); GET shows either. */
export const nodePayoutAnswerSchema = z.strictObject({
  idempotencyKey: nodePayoutKeySchema,
  status: z.enum(NODE_PAYOUT_STATUSES),
  amount: nodeAmountSchema,
  address: token(1, 128),
  error: z.string().optional(),
});
export type NodePayoutAnswer = z.infer<typeof nodePayoutAnswerSchema>;

// ---------------------------------------------------------------------------------------------
// GET /v1/stats, GET /v1/log (public)

export const nodeStatsSchema = z.strictObject({
  name: nodeNameSchema,
  pending: z.number().int().nonnegative(),
  logLength: z.number().int().nonnegative(),
  headHash: hexOf(32),
  chainValid: z.boolean(),
  verdicts: z.strictObject({
    recorded: z.number().int().nonnegative(),
    correct: z.number().int().nonnegative(),
    wrong: z.number().int().nonnegative(),
    /** Recorded verdicts IdleMint later withdrew, and the wrong ones it has not withdrawn. */
    retracted: z.number().int().nonnegative(),
    wrongUnretracted: z.number().int().nonnegative(),
  }),
  payouts: z.strictObject({ confirmed: z.number().int().nonnegative(), total: z.string().regex(/^\d+$/) }),
  treasury: z.string().regex(/^\d+$/),
});
export type NodeStats = z.infer<typeof nodeStatsSchema>;

export const nodeLogQuerySchema = z.strictObject({
  after: seqString.default('0'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type NodeLogQuery = z.infer<typeof nodeLogQuerySchema>;

export const nodeLogEntrySchema = z.strictObject({
  seq: seqString,
  unitId: token(1, 128),
  payload: relayedUnitSchema,
  prevHash: hexOf(32),
  hash: hexOf(32),
  createdAt: z.string(),
});
export type NodeLogEntry = z.infer<typeof nodeLogEntrySchema>;

export const nodeLogPageSchema = z.strictObject({ entries: z.array(nodeLogEntrySchema), next: seqString });
export type NodeLogPage = z.infer<typeof nodeLogPageSchema>;

// ---------------------------------------------------------------------------------------------
// Signing and hashing (pure)

/**
 * The string the platform signs for every authenticated node request, as UTF-8:
 * `IDLEMINT-NODE-V1\n<METHOD>\n<path and query as sent>\n<timestamp>\n<sha256 hex of the raw body>`.
 * A request without a body hashes the empty string.
 */
export function nodeSigningString(
  method: string,
  pathAndQuery: string,
  timestamp: string | number,
  bodyBytes: Uint8Array | string | undefined,
): string {
  return ['IDLEMINT-NODE-V1', method.toUpperCase(), pathAndQuery, String(timestamp), sha256Hex(bodyBytes ?? '')].join('\n');
}

/**
 * The two authentication headers of a platform request. Send `body` exactly as signed
 * (`content-type: application/json`); `undefined` for a request without a body.
 */
export function signNodeRequest(
  platformSeedHex: string,
  method: string,
  pathAndQuery: string,
  body: string | undefined,
  timestamp: number = Date.now(),
): Record<string, string> {
  const ts = String(timestamp);
  return {
    [NODE_HEADERS.timestamp]: ts,
    [NODE_HEADERS.signature]: ed25519Sign(platformSeedHex, nodeSigningString(method, pathAndQuery, ts, body)),
  };
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The request's timestamp header when well formed (decimal unix ms), else undefined. */
export function nodeRequestTimestamp(headers: HeaderBag): number | undefined {
  const ts = header(headers, NODE_HEADERS.timestamp);
  return ts !== undefined && /^\d{1,15}$/.test(ts) ? Number(ts) : undefined;
}

/** True when the signed timestamp lies within NODE_CLOCK_SKEW_MS of `now`. */
export function isFreshNodeTimestamp(timestamp: number, now: number = Date.now(), skewMs = NODE_CLOCK_SKEW_MS): boolean {
  return Math.abs(now - timestamp) <= skewMs;
}

/**
 * Checks the platform's signature over a request (header names in lower case, as Node gives them).
 * Freshness is separate (isFreshNodeTimestamp) so a node can answer STALE_REQUEST distinctly.
 */
export function verifyNodeRequest(
  platformPublicKeyHex: string,
  method: string,
  pathAndQuery: string,
  headers: HeaderBag,
  rawBody: Uint8Array | string | undefined,
): boolean {
  const ts = header(headers, NODE_HEADERS.timestamp);
  const sig = header(headers, NODE_HEADERS.signature);
  if (ts === undefined || sig === undefined || !/^\d{1,15}$/.test(ts)) return false;
  return ed25519VerifyHex(platformPublicKeyHex, nodeSigningString(method, pathAndQuery, ts, rawBody), sig);
}

/** JSON with object keys sorted at every depth and no spaces: one spelling per value. */
export function nodeCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError('nodeCanonicalJson: value has no JSON form');
    return s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => nodeCanonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${nodeCanonicalJson(v)}`).join(',')}}`;
}

/** hash = sha256 hex of `prevHash + "\n" + canonical JSON of the payload`. */
export function nodeLogHash(prevHash: string, payload: unknown): string {
  return sha256Hex(`${prevHash}\n${nodeCanonicalJson(payload)}`);
}

/**
 * Re-walks a run of log entries: seqs consecutive, each prevHash the previous hash, each hash right.
 * `prevHash` is the hash before the first entry (genesis when the run starts the log).
 * Returns the head hash, or null at the first broken link.
 */
export function verifyNodeLogChain(
  entries: readonly { seq: string | bigint; prevHash: string; hash: string; payload: unknown }[],
  prevHash: string = NODE_GENESIS_HASH,
  prevSeq: bigint = 0n,
): string | null {
  let head = prevHash;
  let seq = prevSeq;
  for (const e of entries) {
    if (BigInt(e.seq) !== seq + 1n || e.prevHash !== head || nodeLogHash(head, e.payload) !== e.hash) return null;
    head = e.hash;
    seq += 1n;
  }
  return head;
}
