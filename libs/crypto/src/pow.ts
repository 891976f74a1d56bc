import { createHash } from 'node:crypto';

/**
 * Bitcoin proof-of-work primitives, pure functions over bytes. Byte orders, since they are where
 * everyone trips:
 * - a hash as Bitcoin shows it ("display", as in block explorers) is the reverse of the 32 bytes
 *   SHA-256d produces ("internal"); headers and merkle trees hold internal bytes;
 * - header integers (version, time, bits, nonce) are little-endian in the 80 bytes;
 * - Stratum v1 sends version, nbits, ntime and nonce as big-endian hex of the integer, merkle
 *   branches in internal order, and the previous hash as internal bytes with each 4-byte word
 *   reversed (the getwork legacy): `stratumPrevHash` converts.
 * A hash meets a target when its bytes read as a little-endian number are ≤ the target.
 */

export function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** Reverses a hex string's bytes (display ↔ internal order of a hash). */
export function reverseHex(hex: string): string {
  return Buffer.from(hex, 'hex').reverse().toString('hex');
}

/** Reverses every 4-byte word of `hex` in place (Stratum's previous-hash encoding ↔ internal order). */
export function swapWords(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  if (b.length % 4 !== 0) throw new TypeError('expected whole 4-byte words');
  for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
  return b.toString('hex');
}

/** Stratum `prevhash` (notify param 2) for a previous block hash in display order. */
export function stratumPrevHash(prevHashDisplay: string): string {
  return swapWords(reverseHex(prevHashDisplay));
}

/** Display-order previous hash from Stratum's `prevhash`. */
export function prevHashFromStratum(stratumHex: string): string {
  return reverseHex(swapWords(stratumHex));
}

export interface HeaderFields {
  version: number;
  /** Display order (as explorers show it). */
  prevHash: string;
  /** Display order. */
  merkleRoot: string;
  time: number;
  bits: number;
  nonce: number;
}

/** The 80-byte block header. */
export function buildHeader(h: HeaderFields): Buffer {
  const b = Buffer.alloc(80);
  b.writeUInt32LE(h.version >>> 0, 0);
  Buffer.from(reverseHex(h.prevHash), 'hex').copy(b, 4);
  Buffer.from(reverseHex(h.merkleRoot), 'hex').copy(b, 36);
  b.writeUInt32LE(h.time >>> 0, 68);
  b.writeUInt32LE(h.bits >>> 0, 72);
  b.writeUInt32LE(h.nonce >>> 0, 76);
  return b;
}

export function parseHeader(header: Uint8Array): HeaderFields {
  if (header.length !== 80) throw new TypeError('a header is 80 bytes');
  const b = Buffer.from(header.buffer, header.byteOffset, 80);
  return {
    version: b.readUInt32LE(0),
    prevHash: Buffer.from(b.subarray(4, 36)).reverse().toString('hex'),
    merkleRoot: Buffer.from(b.subarray(36, 68)).reverse().toString('hex'),
    time: b.readUInt32LE(68),
    bits: b.readUInt32LE(72),
    nonce: b.readUInt32LE(76),
  };
}

/** Block hash in display order. */
export function headerHash(header: Uint8Array): string {
  return sha256d(header).reverse().toString('hex');
}

/** The header hash as the number compared with targets (internal bytes read little-endian). */
export function hashValue(header: Uint8Array): bigint {
  return BigInt('0x' + headerHash(header));
}

/**
 * nBits (compact) → target, with Bitcoin Core's arith_uint256::SetCompact rules: a set sign bit
 * or a mantissa that overflows 256 bits makes the target invalid (returned as null), as does zero.
 */
export function bitsToTarget(bits: number): bigint | null {
  const size = bits >>> 24;
  let word = BigInt(bits & 0x007fffff);
  const negative = word !== 0n && (bits & 0x00800000) !== 0;
  const overflow = word !== 0n && (size > 34 || (word > 0xffn && size > 33) || (word > 0xffffn && size > 32));
  if (size <= 3) word >>= BigInt(8 * (3 - size));
  else word <<= BigInt(8 * (size - 3));
  if (negative || overflow || word === 0n) return null;
  return word;
}

/** target → nBits (Bitcoin Core's GetCompact): the compact form rounds the target down. */
export function targetToBits(target: bigint): number {
  if (target <= 0n) throw new RangeError('target must be positive');
  let size = (target.toString(16).length + 1) >> 1;
  let compact = size <= 3 ? target << BigInt(8 * (3 - size)) : target >> BigInt(8 * (size - 3));
  if (compact & 0x00800000n) {
    compact >>= 8n;
    size += 1;
  }
  return (Number(compact) | (size << 24)) >>> 0;
}

/** Pool difficulty 1 (bdiff): the target of nBits 0x1d00ffff. */
export const DIFF1_TARGET = 0xffffn << 208n;
const MAX_TARGET = (1n << 256n) - 1n;
/** Difficulties are kept to 1e-8: enough below 1 for a microcontroller doing kilohashes. */
const DIFF_SCALE = 100_000_000n;

/** The share target for a (possibly fractional) pool difficulty: DIFF1 / difficulty. */
export function difficultyToTarget(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) throw new RangeError('difficulty must be a positive number');
  const scaled = BigInt(Math.round(difficulty * Number(DIFF_SCALE)));
  if (scaled === 0n) return MAX_TARGET;
  const t = (DIFF1_TARGET * DIFF_SCALE) / scaled;
  return t > MAX_TARGET ? MAX_TARGET : t;
}

/** The difficulty a target stands for (DIFF1 / target), as a float for display and vardiff. */
export function targetToDifficulty(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY;
  // Keep 1e-12 of precision before the division so tiny difficulties stay exact enough.
  return Number((DIFF1_TARGET * 1_000_000_000_000n) / target) / 1e12;
}

/** Difficulty of a found hash (how much work it proves); the "share difficulty" miners display. */
export function hashDifficulty(hash: bigint): number {
  return targetToDifficulty(hash === 0n ? 1n : hash);
}

/** Merkle root (internal bytes) from leaves in internal order, duplicating the last of an odd level. */
export function merkleRootInternal(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) throw new RangeError('a merkle tree needs a leaf');
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    level = next;
  }
  return level[0]!;
}

/**
 * The Stratum merkle branch for the coinbase (leaf 0): the sibling hashes, internal order hex, from
 * the leaves that follow it (the other transactions' txids, internal order).
 */
export function merkleBranch(otherLeaves: Buffer[]): string[] {
  const branch: string[] = [];
  let level: (Buffer | null)[] = [null, ...otherLeaves];
  while (level.length > 1) {
    const sibling = level[1] ?? level[0];
    branch.push((sibling ?? Buffer.alloc(32)).toString('hex'));
    const next: (Buffer | null)[] = [null];
    for (let i = 2; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    level = next;
  }
  return branch;
}

/** Folds the coinbase hash (internal) up a Stratum merkle branch: the root, internal order. */
export function merkleRootFromBranch(coinbaseHash: Buffer, branch: string[]): Buffer {
  let h = coinbaseHash;
  for (const s of branch) h = sha256d(Buffer.concat([h, Buffer.from(s, 'hex')]));
  return h;
}

/** Bitcoin's CompactSize (varint) encoding. */
export function compactSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}

/** BIP 34 height push: the minimal script number, with its push opcode. */
export function scriptHeight(height: number): Buffer {
  if (height === 0) return Buffer.from([0x00]);
  const bytes: number[] = [];
  for (let v = height; v > 0; v = Math.floor(v / 256)) bytes.push(v & 0xff);
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return Buffer.from([bytes.length, ...bytes]);
}

export interface CoinbaseParts {
  /** Hex before the extranonce. */
  coinb1: string;
  /** Hex after the extranonce. */
  coinb2: string;
}

/**
 * A coinbase transaction split around an extranonce slot of `extranonceSize` bytes, as a Stratum
 * pool sends it: scriptSig = BIP 34 height, push of the extranonce, then `tag`; one output paying
 * `value` to `payoutScript`.
 */
export function buildCoinbase(opts: {
  height: number;
  extranonceSize: number;
  tag: string;
  value: bigint;
  payoutScript: string;
}): CoinbaseParts {
  const height = scriptHeight(opts.height);
  const tag = Buffer.from(opts.tag, 'utf8');
  if (opts.extranonceSize < 1 || opts.extranonceSize > 75) throw new RangeError('extranonce size');
  const scriptLen = height.length + 1 + opts.extranonceSize + tag.length;
  if (scriptLen > 100) throw new RangeError('coinbase script over 100 bytes');
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(opts.value);
  const script = Buffer.from(opts.payoutScript, 'hex');
  const coinb1 = Buffer.concat([
    Buffer.from('01000000' + '01' + '00'.repeat(32) + 'ffffffff', 'hex'),
    compactSize(scriptLen),
    height,
    Buffer.from([opts.extranonceSize]),
  ]);
  const coinb2 = Buffer.concat([tag, Buffer.from('ffffffff01', 'hex'), value, compactSize(script.length), script, Buffer.alloc(4)]);
  return { coinb1: coinb1.toString('hex'), coinb2: coinb2.toString('hex') };
}

/** The payout script a coinbase carries: its first output's scriptPubKey, hex, or null when unreadable. */
export function coinbasePayoutScript(coinbaseHex: string): string | null {
  try {
    const b = Buffer.from(coinbaseHex, 'hex');
    let o = 4 + 1 + 36;
    const scriptLen = b[o]!;
    if (scriptLen >= 0xfd) return null;
    o += 1 + scriptLen + 4;
    if (b[o] !== 1) return null;
    o += 1 + 8;
    const len = b[o]!;
    if (len >= 0xfd || o + 1 + len + 4 !== b.length) return null;
    return b.subarray(o + 1, o + 1 + len).toString('hex');
  } catch {
    return null;
  }
}

/** BIP 320: the version bits miners may roll (BIP 310 `version-rolling.mask`). */
export const VERSION_ROLLING_MASK = 0x1fffe000;

export interface StratumJob {
  /** notify param 2: Stratum-encoded previous hash. */
  prevHash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  /** Big-endian hex, 8 characters. */
  version: string;
  nbits: string;
  ntime: string;
}

export interface StratumSubmit {
  extranonce1: string;
  extranonce2: string;
  /** Big-endian hex. */
  ntime: string;
  nonce: string;
  /** BIP 310 version bits (hex), when the miner rolls them. */
  versionBits?: string;
  versionMask?: number;
}

/** The coinbase a Stratum submission implies. */
export function stratumCoinbase(job: StratumJob, s: StratumSubmit): Buffer {
  return Buffer.from(job.coinb1 + s.extranonce1 + s.extranonce2 + job.coinb2, 'hex');
}

/** Rebuilds the 80-byte header from a Stratum job and a submission, exactly as a miner hashes it. */
export function stratumHeader(job: StratumJob, s: StratumSubmit): Buffer {
  const root = merkleRootFromBranch(sha256d(stratumCoinbase(job, s)), job.merkleBranch);
  let version = parseInt(job.version, 16) >>> 0;
  if (s.versionBits !== undefined) {
    const mask = (s.versionMask ?? VERSION_ROLLING_MASK) >>> 0;
    version = ((version & ~mask) | (parseInt(s.versionBits, 16) & mask)) >>> 0;
  }
  const b = Buffer.alloc(80);
  b.writeUInt32LE(version, 0);
  Buffer.from(swapWords(job.prevHash), 'hex').copy(b, 4);
  root.copy(b, 36);
  b.writeUInt32LE(parseInt(s.ntime, 16) >>> 0, 68);
  b.writeUInt32LE(parseInt(job.nbits, 16) >>> 0, 72);
  b.writeUInt32LE(parseInt(s.nonce, 16) >>> 0, 76);
  return b;
}

/** Big-endian 8-character hex of a uint32, Stratum's spelling of version, nbits, ntime and nonce. */
export function u32Hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * Searches nonces [from, from + count) of a Stratum job for a header whose hash meets `target`, as
 * a CPU miner does (the simulator's devices and the tests use it). Returns the nonce (big-endian
 * hex, as submitted) and the hash value, or null when none of the range meets the target.
 */
export function searchNonce(
  job: StratumJob,
  s: Omit<StratumSubmit, 'nonce'>,
  target: bigint,
  from = 0,
  count = 0x1_0000_0000,
): { nonce: string; hash: bigint; tries: number } | null {
  const header = stratumHeader(job, { ...s, nonce: '00000000' });
  const end = Math.min(from + count, 0x1_0000_0000);
  for (let n = from; n < end; n++) {
    header.writeUInt32LE(n >>> 0, 76);
    const h = BigInt('0x' + sha256d(header).reverse().toString('hex'));
    if (h <= target) return { nonce: u32Hex(n), hash: h, tries: n - from + 1 };
  }
  return null;
}
