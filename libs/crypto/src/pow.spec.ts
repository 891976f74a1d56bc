import { describe, expect, it } from 'vitest';
import {
  DIFF1_TARGET,
  bitsToTarget,
  buildCoinbase,
  buildHeader,
  coinbasePayoutScript,
  difficultyToTarget,
  hashDifficulty,
  hashValue,
  headerHash,
  merkleBranch,
  merkleRootFromBranch,
  merkleRootInternal,
  parseHeader,
  prevHashFromStratum,
  reverseHex,
  searchNonce,
  sha256d,
  stratumCoinbase,
  stratumHeader,
  stratumPrevHash,
  targetToBits,
  targetToDifficulty,
  u32Hex,
  type HeaderFields,
  type StratumJob,
} from './pow.js';

// External truth: Bitcoin mainnet blocks, as every block explorer and Bitcoin Core show them.
const GENESIS: HeaderFields & { hash: string; raw: string } = {
  version: 1,
  prevHash: '0'.repeat(64),
  merkleRoot: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
  time: 1231006505,
  bits: 0x1d00ffff,
  nonce: 2083236893,
  hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  raw:
    '01000000' + '0'.repeat(64) + '3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a' + '29ab5f49' + 'ffff001d' + '1dac2b7c',
};
/** The genesis coinbase: "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks". */
const GENESIS_COINBASE =
  '01000000' +
  '01' +
  '0'.repeat(64) +
  'ffffffff' +
  '4d' +
  '04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73' +
  'ffffffff' +
  '01' +
  '00f2052a01000000' +
  '43' +
  '4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac' +
  '00000000';
const BLOCK_1: HeaderFields & { hash: string } = {
  version: 1,
  prevHash: GENESIS.hash,
  merkleRoot: '0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098',
  time: 1231469665,
  bits: 0x1d00ffff,
  nonce: 2573394689,
  hash: '00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048',
};
const BLOCK_1_COINBASE =
  '01000000' +
  '01' +
  '0'.repeat(64) +
  'ffffffff' +
  '07' +
  '04ffff001d0104' +
  'ffffffff' +
  '01' +
  '00f2052a01000000' +
  '43' +
  '410496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858eeac' +
  '00000000';
/** Block 125552, the Bitcoin wiki's "Block hashing algorithm" example. */
const BLOCK_125552: HeaderFields & { hash: string } = {
  version: 1,
  prevHash: '00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81',
  merkleRoot: '2b12fcf1b09288fcaff797d71e950e71ae42b91e8bdb2304758dfcffc2b620e3',
  time: 1305998791,
  bits: 440711666,
  nonce: 2504433986,
  hash: '00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d',
};
/** Block 170: the first block with a transfer (Satoshi to Hal Finney); two transactions. */
const BLOCK_170_TXIDS = [
  'b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082',
  'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16',
];
const BLOCK_170_MERKLE = '7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff';

const internal = (display: string) => Buffer.from(reverseHex(display), 'hex');

describe('block headers against mainnet', () => {
  it('builds the genesis header byte for byte and hashes it to the genesis hash', () => {
    const header = buildHeader(GENESIS);
    expect(header.toString('hex')).toBe(GENESIS.raw);
    expect(headerHash(header)).toBe(GENESIS.hash);
    expect(parseHeader(header)).toEqual({
      version: GENESIS.version,
      prevHash: GENESIS.prevHash,
      merkleRoot: GENESIS.merkleRoot,
      time: GENESIS.time,
      bits: GENESIS.bits,
      nonce: GENESIS.nonce,
    });
  });

  it('hashes block 1 and block 125552 to their known hashes, each under its own target', () => {
    for (const b of [BLOCK_1, BLOCK_125552, GENESIS]) {
      const header = buildHeader(b);
      expect(headerHash(header)).toBe(b.hash);
      const target = bitsToTarget(b.bits)!;
      expect(hashValue(header) <= target).toBe(true);
      // One nonce off and the proof of work is gone (a 2^-32 chance of a fluke, far below these targets).
      expect(hashValue(buildHeader({ ...b, nonce: b.nonce + 1 })) <= target).toBe(false);
    }
  });

  it('hashes the genesis and block 1 coinbases to their merkle roots (one-transaction blocks)', () => {
    expect(reverseHex(sha256d(Buffer.from(GENESIS_COINBASE, 'hex')).toString('hex'))).toBe(GENESIS.merkleRoot);
    expect(reverseHex(sha256d(Buffer.from(BLOCK_1_COINBASE, 'hex')).toString('hex'))).toBe(BLOCK_1.merkleRoot);
    expect(coinbasePayoutScript(GENESIS_COINBASE)).toBe(
      '4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac',
    );
  });

  it("computes block 170's merkle root from its two txids, and the same through a Stratum branch", () => {
    const leaves = BLOCK_170_TXIDS.map(internal);
    expect(reverseHex(merkleRootInternal(leaves).toString('hex'))).toBe(BLOCK_170_MERKLE);
    const branch = merkleBranch(leaves.slice(1));
    expect(branch).toEqual([leaves[1]!.toString('hex')]);
    expect(reverseHex(merkleRootFromBranch(leaves[0]!, branch).toString('hex'))).toBe(BLOCK_170_MERKLE);
  });

  it('folds a branch to the full tree root for every tree size (odd levels duplicate their last)', () => {
    for (let n = 1; n <= 13; n++) {
      const leaves = Array.from({ length: n }, (_, i) => sha256d(Buffer.from([i, n])));
      expect(merkleRootFromBranch(leaves[0]!, merkleBranch(leaves.slice(1))).equals(merkleRootInternal(leaves))).toBe(true);
    }
  });
});

describe('compact targets (nBits), as Bitcoin Core reads and writes them', () => {
  it('decodes the cases of arith_uint256_tests', () => {
    expect(bitsToTarget(0x01003456)).toBeNull(); // zero
    expect(bitsToTarget(0x01123456)).toBe(0x12n);
    expect(bitsToTarget(0x02123456)).toBe(0x1234n);
    expect(bitsToTarget(0x03123456)).toBe(0x123456n);
    expect(bitsToTarget(0x04123456)).toBe(0x12345600n);
    expect(bitsToTarget(0x04923456)).toBeNull(); // sign bit
    expect(bitsToTarget(0x05009234)).toBe(0x92340000n);
    expect(bitsToTarget(0x20123456)).toBe(0x123456n << 232n);
    expect(bitsToTarget(0xff123456)).toBeNull(); // overflow
    expect(bitsToTarget(0x1d00ffff)).toBe(DIFF1_TARGET);
    expect(bitsToTarget(0x1d00ffff)!.toString(16).padStart(64, '0')).toBe('00000000ffff' + '0'.repeat(52));
  });

  it('encodes targets back to the canonical compact form', () => {
    expect(targetToBits(0x12n)).toBe(0x01120000);
    expect(targetToBits(0x80n)).toBe(0x02008000);
    expect(targetToBits(0x123456n << 232n)).toBe(0x20123456);
    expect(targetToBits(DIFF1_TARGET)).toBe(0x1d00ffff);
    for (const b of [GENESIS.bits, BLOCK_125552.bits, 0x1a44b9f2, 0x1f00ffff, 0x207fffff]) expect(targetToBits(bitsToTarget(b)!)).toBe(b);
  });

  it('puts block 125552 at its known difficulty (244,112.49)', () => {
    expect(targetToDifficulty(bitsToTarget(BLOCK_125552.bits)!)).toBeCloseTo(244112.48777434, 4);
  });
});

describe('share difficulty', () => {
  it('maps difficulty 1 to the diff-1 target and fractional difficulties to larger targets', () => {
    expect(difficultyToTarget(1)).toBe(DIFF1_TARGET);
    expect(difficultyToTarget(0.5)).toBe(DIFF1_TARGET * 2n);
    expect(difficultyToTarget(0.001)).toBe(DIFF1_TARGET * 1000n);
    expect(difficultyToTarget(1024)).toBe(DIFF1_TARGET / 1024n);
    expect(targetToDifficulty(difficultyToTarget(0.0123))).toBeCloseTo(0.0123, 10);
    expect(() => difficultyToTarget(0)).toThrow(RangeError);
    expect(() => difficultyToTarget(Number.NaN)).toThrow(RangeError);
  });

  it('reads the genesis hash as a share of difficulty 2536.43: 0xffff·16^6 / 0x19d6689c', () => {
    expect(hashDifficulty(BigInt('0x' + GENESIS.hash))).toBeCloseTo(2536.4263, 3);
  });
});

describe('Stratum v1 jobs, rebuilt as a miner does', () => {
  // slush's original protocol description (and the Bitcoin wiki's "Stratum mining protocol" page).
  const SLUSH_NOTIFY =
    '{"params": ["bf", "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000", "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008", "072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000", [], "00000002", "1c2ac4af", "504e86b9", false], "id": null, "method": "mining.notify"}';

  it("decodes the published notify's previous hash: words swapped, leading zeros in display order", () => {
    const params = (JSON.parse(SLUSH_NOTIFY) as { params: unknown[] }).params;
    const prev = prevHashFromStratum(params[1] as string);
    expect(prev).toBe('00000000440b921e1b77c6c0487ae5616de67f788f44ae2a5af6e2194d16b6f8');
    expect(stratumPrevHash(prev)).toBe(params[1]);
    // Its coinbase parts hold 8 bytes of extranonce: script length 0x20 = 32 = 24 bytes + 8 more.
    const coinb1 = params[2] as string;
    const scriptStart = (4 + 1 + 32 + 4 + 1) * 2;
    expect(parseInt(coinb1.slice(scriptStart - 2, scriptStart), 16)).toBe(0x20);
    expect((coinb1.length - scriptStart) / 2 + 8 + 8).toBe(0x20); // 12 in coinb1, 8 extranonce, 12 in coinb2 before the sequence
  });

  it('rebuilds a published pool coinbase from coinb1 + extranonce1 + extranonce2 + coinb2', () => {
    // A mining.notify and subscribe answer (extranonce1 "40000004", size 4) quoted with the coinbase
    // its author assembled with extranonce2 "00000000".
    const job: StratumJob = {
      prevHash: '4128bf630f57387b00e25b419d1bb77e667e4036a7d8fee80000015600000000',
      coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2503a77614048c8a145e08',
      coinb2:
        '122f626974636f696e636c6f75642e6e65742f0000000002062c9c04000000001976a91423e020eacd64acfe093150331d44fdbcc0c7ce0688acc2eb0b00000000001976a91400bf6d61c2a34df5a9ea338fcad188c31bb4a52388ac00000000',
      merkleBranch: [],
      version: '20000000',
      nbits: '1a02b098',
      ntime: '5e148a8c',
    };
    const coinbase = stratumCoinbase(job, { extranonce1: '40000004', extranonce2: '00000000', ntime: job.ntime, nonce: '00000000' });
    expect(coinbase.toString('hex')).toBe(
      '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2503a77614048c8a145e084000000400000000122f626974636f696e636c6f75642e6e65742f0000000002062c9c04000000001976a91423e020eacd64acfe093150331d44fdbcc0c7ce0688acc2eb0b00000000001976a91400bf6d61c2a34df5a9ea338fcad188c31bb4a52388ac00000000',
    );
    const header = stratumHeader(job, { extranonce1: '40000004', extranonce2: '00000000', ntime: job.ntime, nonce: '00000000' });
    const fields = parseHeader(header);
    expect(fields.prevHash).toBe('0000000000000156a7d8fee8667e40369d1bb77e00e25b410f57387b4128bf63');
    expect(u32Hex(fields.version)).toBe('20000000');
    expect(u32Hex(fields.bits)).toBe('1a02b098');
    expect(u32Hex(fields.time)).toBe('5e148a8c');
    expect(fields.merkleRoot).toBe(reverseHex(sha256d(coinbase).toString('hex')));
  });

  it('mines the genesis block again through Stratum: notify + submit give the genesis header and hash', () => {
    // The genesis coinbase split around 8 bytes of its scriptSig, as a pool would have sent it.
    const scriptStart = (4 + 1 + 32 + 4 + 1) * 2;
    const slot = scriptStart + 8 * 2; // the extranonce is "The Time": any 8 bytes of the scriptSig will do
    const extranonce = GENESIS_COINBASE.slice(slot, slot + 16);
    const job: StratumJob = {
      prevHash: stratumPrevHash(GENESIS.prevHash),
      coinb1: GENESIS_COINBASE.slice(0, slot),
      coinb2: GENESIS_COINBASE.slice(slot + 16),
      merkleBranch: [],
      version: u32Hex(GENESIS.version),
      nbits: u32Hex(GENESIS.bits),
      ntime: u32Hex(GENESIS.time),
    };
    const submit = { extranonce1: extranonce.slice(0, 8), extranonce2: extranonce.slice(8), ntime: '495fab29', nonce: '7c2bac1d' };
    const header = stratumHeader(job, submit);
    expect(header.toString('hex')).toBe(GENESIS.raw);
    expect(headerHash(header)).toBe(GENESIS.hash);
  });

  it('mines block 1 through Stratum with version rolling that leaves the version unchanged, and rolls bits in the mask only', () => {
    const scriptStart = (4 + 1 + 32 + 4 + 1) * 2;
    const job: StratumJob = {
      prevHash: stratumPrevHash(BLOCK_1.prevHash),
      coinb1: BLOCK_1_COINBASE.slice(0, scriptStart + 2),
      coinb2: BLOCK_1_COINBASE.slice(scriptStart + 2 + 8 + 4),
      merkleBranch: [],
      version: '00000001',
      nbits: '1d00ffff',
      ntime: u32Hex(BLOCK_1.time),
    };
    const submit = {
      extranonce1: BLOCK_1_COINBASE.slice(scriptStart + 2, scriptStart + 10),
      extranonce2: BLOCK_1_COINBASE.slice(scriptStart + 10, scriptStart + 14),
      ntime: u32Hex(BLOCK_1.time),
      nonce: u32Hex(BLOCK_1.nonce),
    };
    expect(headerHash(stratumHeader(job, { ...submit, versionBits: '00000000' }))).toBe(BLOCK_1.hash);
    const rolled = stratumHeader(job, { ...submit, versionBits: 'ffffffff' });
    expect(parseHeader(rolled).version).toBe(0x1fffe001);
  });

  it('builds a coinbase whose payout script reads back and whose extranonce slot sits in the scriptSig', () => {
    const script = '76a914' + '11'.repeat(20) + '88ac';
    const parts = buildCoinbase({ height: 1234567, extranonceSize: 8, tag: '/idlemint/', value: 5_000_000_000n, payoutScript: script });
    const tx = parts.coinb1 + 'aa'.repeat(8) + parts.coinb2;
    expect(coinbasePayoutScript(tx)).toBe(script);
    // BIP 34: the height 1234567 = 0x12d687 pushed as 3 little-endian bytes.
    expect(parts.coinb1).toContain('0387d612');
    expect(coinbasePayoutScript(tx + '00')).toBeNull();
  });
});

describe('nonce search', () => {
  it('finds a share at difficulty 2^-20 (about 4,096 hashes) that the rebuilt header confirms', () => {
    const job: StratumJob = {
      prevHash: stratumPrevHash(GENESIS.hash),
      ...buildCoinbase({ height: 1, extranonceSize: 8, tag: '/t/', value: 1n, payoutScript: '51' }),
      merkleBranch: [],
      version: '20000000',
      nbits: '1f00ffff',
      ntime: '6a000000',
    };
    const target = difficultyToTarget(2 ** -20);
    const s = { extranonce1: '00000001', extranonce2: '00000000', ntime: job.ntime };
    const found = searchNonce(job, s, target)!;
    expect(found).not.toBeNull();
    expect(hashValue(stratumHeader(job, { ...s, nonce: found.nonce }))).toBe(found.hash);
    expect(found.hash <= target).toBe(true);
  });
});
