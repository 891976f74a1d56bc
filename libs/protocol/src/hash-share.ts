import { z } from 'zod';

/**
 * Device protocol v1, hash-share extension 1 (docs/protocol/hash-share-v1.md). Additive: a v1
 * device that never names `hash-share` sees nothing new. A device asks for a job with
 * `POST /device/v1/work/claim {"kinds":["hash-share"]}` (or `POST /device/v1/hash-share/job`),
 * mines it as a Stratum v1 miner would, and sends what it found to `POST /device/v1/hash-share/shares`.
 * `POST /device/v1/hash-share/credential` issues a Stratum credential for the TCP gateway.
 */
export const HASH_SHARE_KIND = 'hash-share';
export const HASH_SHARE_EXTENSION = 'hash-share/1';

/** A job: Stratum mining.notify fields, plus the device's extranonce1 and share difficulty. */
export const hashShareJobSchema = z.object({
  kind: z.literal(HASH_SHARE_KIND),
  extension: z.literal(HASH_SHARE_EXTENSION),
  jobId: z.string(),
  height: z.number().int(),
  /** Stratum encoding (internal bytes, 4-byte words reversed). */
  prevHash: z.string(),
  coinb1: z.string(),
  coinb2: z.string(),
  /** Internal byte order. */
  merkleBranch: z.array(z.string()),
  /** Big-endian hex. */
  version: z.string(),
  nbits: z.string(),
  ntime: z.string(),
  /** BIP 320 bits the device may roll (big-endian hex). */
  versionMask: z.string(),
  extranonce1: z.string(),
  extranonce2Size: z.number().int(),
  difficulty: z.number(),
  /** DIFF1 / difficulty, 64 hex (display order): a share's hash must be ≤ this. */
  shareTarget: z.string(),
});
export type HashShareJob = z.infer<typeof hashShareJobSchema>;
/** The claim answer of the hash-share kind (POST /device/v1/work/claim with `kinds: ["hash-share"]`). */
export const hashShareClaimResponseSchema = z.object({ assignment: hashShareJobSchema });

const field = z.string().max(16);
export const hashShareSubmitBodySchema = z.strictObject({
  jobId: z.string().min(1).max(16),
  /** Shape is checked per share (a malformed share is refused with its code, not the request). */
  shares: z
    .array(z.strictObject({ extranonce2: field, ntime: field, nonce: field, versionBits: field.optional() }))
    .min(1)
    .max(64),
});
export type HashShareSubmitBody = z.infer<typeof hashShareSubmitBodySchema>;

export const hashShareResultSchema = z.object({
  accepted: z.boolean(),
  /** SHARE.STALE | SHARE.DUPLICATE | SHARE.LOW_DIFFICULTY | SHARE.MALFORMED when refused. */
  code: z.string().optional(),
  block: z.boolean().optional(),
});
export type HashShareResult = z.infer<typeof hashShareResultSchema>;
export const hashShareSubmitResponseSchema = z.object({
  results: z.array(hashShareResultSchema),
  /** The difficulty for the next shares (vardiff). */
  difficulty: z.number(),
});
export type HashShareSubmitResponse = z.infer<typeof hashShareSubmitResponseSchema>;

export const stratumCredentialResponseSchema = z.object({ username: z.string(), password: z.string() });
export type StratumCredentialResponse = z.infer<typeof stratumCredentialResponseSchema>;
