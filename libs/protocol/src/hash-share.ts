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
export interface HashShareJob {
  kind: typeof HASH_SHARE_KIND;
  extension: typeof HASH_SHARE_EXTENSION;
  jobId: string;
  height: number;
  /** Stratum encoding (internal bytes, 4-byte words reversed). */
  prevHash: string;
  coinb1: string;
  coinb2: string;
  /** Internal byte order. */
  merkleBranch: string[];
  /** Big-endian hex. */
  version: string;
  nbits: string;
  ntime: string;
  /** BIP 320 bits the device may roll (big-endian hex). */
  versionMask: string;
  extranonce1: string;
  extranonce2Size: number;
  difficulty: number;
  /** DIFF1 / difficulty, 64 hex (display order): a share's hash must be ≤ this. */
  shareTarget: string;
}

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

export interface HashShareResult {
  accepted: boolean;
  /** SHARE.STALE | SHARE.DUPLICATE | SHARE.LOW_DIFFICULTY | SHARE.MALFORMED when refused. */
  code?: string;
  block?: boolean;
}
export interface HashShareSubmitResponse {
  results: HashShareResult[];
  /** The difficulty for the next shares (vardiff). */
  difficulty: number;
}

export interface StratumCredentialResponse {
  username: string;
  password: string;
}
