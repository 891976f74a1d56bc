import {
  difficultyToTarget,
  hashValue,
  headerHash,
  stratumCoinbase,
  stratumHeader,
  VERSION_ROLLING_MASK,
  type StratumJob,
} from '@idlemint/crypto';

/** Stable codes of a refused share (HTTP `SHARE.*`; Stratum maps them to its customary 20-25). */
export const SHARE_CODES = {
  malformed: 'SHARE.MALFORMED',
  stale: 'SHARE.STALE',
  duplicate: 'SHARE.DUPLICATE',
  lowDifficulty: 'SHARE.LOW_DIFFICULTY',
} as const;
export type ShareCode = (typeof SHARE_CODES)[keyof typeof SHARE_CODES];

/** What a device sends for one share (Stratum mining.submit params 3-6, big-endian hex). */
export interface ShareInput {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string;
}

export interface JobForCheck extends StratumJob {
  id: string;
  time: number;
  /** Network target (block candidate when the hash meets it). */
  networkTarget: bigint;
  txids: string[];
}

export type ShareVerdict =
  | { ok: false; code: ShareCode; reason: string }
  | { ok: true; hash: string; difficulty: number; block: null | { header: string; coinbase: string } };

/** Bytes of extranonce2 a device fills (extranonce1 takes the other 4 of the node's 8). */
export const EXTRANONCE2_SIZE = 4;
const HEX8 = /^[0-9a-f]{8}$/;
/** ntime may move forward from the job's time (miners roll it) but not back, and not far ahead. */
const NTIME_AHEAD_S = 7200;

/**
 * Checks one share against its job with no database: shape, ntime window, version bits inside the
 * rolling mask, and the header hash against the share target. `difficulties` are the ones the
 * device may be mining at (the current one, and the one before a retarget it may not have seen
 * yet); the share counts at the highest it meets. Staleness and duplicates are the caller's
 * (they need the current tip and the store).
 */
export function checkShare(job: JobForCheck, extranonce1: string, s: ShareInput, difficulties: number[]): ShareVerdict {
  if (!new RegExp(`^[0-9a-f]{${EXTRANONCE2_SIZE * 2}}$`).test(s.extranonce2)) return bad('extranonce2 must be 4 bytes of lowercase hex');
  if (!HEX8.test(s.ntime) || !HEX8.test(s.nonce)) return bad('ntime and nonce must be 8 lowercase hex characters');
  if (s.versionBits !== undefined && (!HEX8.test(s.versionBits) || (parseInt(s.versionBits, 16) & ~VERSION_ROLLING_MASK) !== 0)) {
    return bad('version bits must stay inside the rolling mask 1fffe000');
  }
  const ntime = parseInt(s.ntime, 16);
  if (ntime < job.time || ntime > job.time + NTIME_AHEAD_S) return bad('ntime is outside the job’s window');
  const submit = { extranonce1, extranonce2: s.extranonce2, ntime: s.ntime, nonce: s.nonce, versionBits: s.versionBits };
  const header = stratumHeader(job, submit);
  const value = hashValue(header);
  const met = difficulties.filter((d) => value <= difficultyToTarget(d)).sort((a, b) => b - a);
  if (met.length === 0) return { ok: false, code: SHARE_CODES.lowDifficulty, reason: 'the hash does not meet the share target' };
  const block =
    value <= job.networkTarget ? { header: header.toString('hex'), coinbase: stratumCoinbase(job, submit).toString('hex') } : null;
  return { ok: true, hash: headerHash(header), difficulty: met[0]!, block };
}

const bad = (reason: string): ShareVerdict => ({ ok: false, code: SHARE_CODES.malformed, reason });
