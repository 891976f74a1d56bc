import { z } from 'zod';

/**
 * Trusted-node protocol, proof-of-work addition (v1 routes under `/v1/pow`). The reference node keeps
 * a small chain with Bitcoin's header rules; IdleMint cuts `hash-share` jobs from its template and
 * relays block candidates, signed like every other platform request. A node that does not serve
 * `/v1/pow` simply takes no part in hash-share work; nothing of the rest of the protocol changes.
 *
 * - `GET /v1/pow/template` (signed): the block to build on now.
 * - `POST /v1/pow/blocks` (signed): a block candidate, checked on the node's own terms (tip, network
 *   target, merkle root, coinbase payout script, time); the same block again answers the same.
 * - `GET /v1/pow/blocks?after=<height>` (public): the chain, for explorers and reconciliation.
 */

export const POW_ERRORS = {
  malformed: 'POW.MALFORMED', // 422: header or coinbase cannot be read
  staleTip: 'POW.STALE_TIP', // 409: the header does not build on the node's tip
  badBits: 'POW.BAD_BITS', // 422: nBits is not the node's network target
  highHash: 'POW.HIGH_HASH', // 422: the hash does not meet the network target
  badMerkle: 'POW.BAD_MERKLE', // 422: the merkle root is not that of the coinbase and txids
  badCoinbase: 'POW.BAD_COINBASE', // 422: height or payout script wrong
  badTime: 'POW.BAD_TIME', // 422: not after the median of the last 11 blocks, or over 2 h ahead
  candidateConflict: 'POW.CANDIDATE_CONFLICT', // 409: the candidate id names another block
} as const;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lowercase hex`);
const hexBytes = (max: number) =>
  z
    .string()
    .max(max * 2)
    .regex(/^(?:[0-9a-f]{2})+$/, 'expected lowercase hex of whole bytes');

export const powTemplateSchema = z.strictObject({
  height: z.number().int().min(1),
  /** Display order. */
  prevHash: hex(32),
  version: z.number().int().min(0).max(0xffffffff),
  /** nBits, 8 characters of big-endian hex. */
  bits: hex(4),
  /** The network target, display order (64 hex). */
  target: hex(32),
  /** Unix seconds: the template's time, at least the median time past + 1. */
  time: z.number().int().min(0),
  minTime: z.number().int().min(0),
  extranonceSize: z.number().int().min(2).max(32),
  coinb1: hexBytes(200),
  coinb2: hexBytes(400),
  /** Leaves after the coinbase (display order). */
  txids: z.array(hex(32)).max(4096),
  /** Stratum merkle branch for the coinbase (internal order). */
  merkleBranch: z.array(hex(32)).max(16),
});
export type PowTemplate = z.infer<typeof powTemplateSchema>;

export const powBlockCandidateSchema = z.strictObject({
  /** Unique per candidate (IdleMint: the share's id): the same id twice is the same block. */
  candidateId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9:_-]+$/),
  header: hex(80),
  coinbase: hexBytes(600),
  txids: z.array(hex(32)).max(4096),
});
export type PowBlockCandidate = z.infer<typeof powBlockCandidateSchema>;

export const powBlockAnswerSchema = z.strictObject({
  height: z.number().int(),
  hash: hex(32),
  duplicate: z.boolean(),
});
export type PowBlockAnswer = z.infer<typeof powBlockAnswerSchema>;

export const powBlocksQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type PowBlocksQuery = z.infer<typeof powBlocksQuerySchema>;

export interface PowBlockView {
  height: number;
  hash: string;
  prevHash: string;
  header: string;
  coinbase: string;
  candidateId: string | null;
  createdAt: string;
}
export interface PowBlocksPage {
  blocks: PowBlockView[];
  tip: { height: number; hash: string };
}
