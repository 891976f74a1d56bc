import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  bitsToTarget,
  buildCoinbase,
  coinbasePayoutScript,
  hashValue,
  headerHash,
  merkleBranch,
  merkleRootInternal,
  parseHeader,
  reverseHex,
  scriptHeight,
  sha256d,
} from '@idlemint/crypto';
import type { PowBlockAnswer, PowBlockCandidate, PowTemplate } from '@idlemint/protocol';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { NodePrismaService } from '../db/node-prisma.service.js';
import { PendingRepository } from '../pending/pending.repository.js';
import {
  powBadBits,
  powBadCoinbase,
  powBadMerkle,
  powBadTime,
  powCandidateConflict,
  powHighHash,
  powMalformed,
  powStaleTip,
} from './pow.errors.js';
import { PowRepository, type StoredBlock } from './pow.repository.js';

/** Bitcoin's genesis block: the chain's height 0, the same on every reference node. */
export const GENESIS_BLOCK = {
  height: 0,
  hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  prevHash: '0'.repeat(64),
  header:
    '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
  coinbase:
    '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000',
  txids: [] as string[],
  time: 1231006505,
};

/** The template's version: BIP 9 top bits; miners may roll BIP 320's bits (0x1fffe000). */
const TEMPLATE_VERSION = 0x20000000;
const EXTRANONCE_SIZE = 8;
const MEDIAN_SPAN = 11;
const MAX_FUTURE_S = 2 * 60 * 60;
const COINBASE_TAG = '/idlemint/';

/**
 * The node's proof-of-work chain: serves the template to build on and accepts block candidates
 * checked by Bitcoin's rules (tip, nBits, hash under target, merkle root, BIP 34 height, payout
 * script, median time past). No difficulty retarget: the network target is configured.
 */
@Injectable()
export class PowService implements OnApplicationBootstrap {
  private readonly target: bigint;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly db: NodePrismaService,
    private readonly blocks: PowRepository,
    private readonly pending: PendingRepository,
  ) {
    const target = bitsToTarget(parseInt(config.POW_BITS, 16));
    if (target === null) throw new Error(`POW_BITS ${config.POW_BITS} is not a valid compact target`);
    this.target = target;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.blocks.plantGenesis(GENESIS_BLOCK);
  }

  async template(): Promise<PowTemplate> {
    const tip = await this.blocks.tip();
    const height = tip.height + 1;
    const minTime = median(await this.blocks.recentTimes(MEDIAN_SPAN)) + 1;
    const txs = await this.pending.listUnverified(0n, this.config.POW_TEMPLATE_TXS);
    const txids = txs.map((t) =>
      reverseHex(sha256d(Buffer.from([t.id, t.scheme, t.publicKey, t.message, t.signature].join('\n'))).toString('hex')),
    );
    const parts = buildCoinbase({
      height,
      extranonceSize: EXTRANONCE_SIZE,
      tag: COINBASE_TAG,
      value: BigInt(this.config.POW_SUBSIDY),
      payoutScript: this.config.POW_PAYOUT_SCRIPT,
    });
    return {
      height,
      prevHash: tip.hash,
      version: TEMPLATE_VERSION,
      bits: this.config.POW_BITS,
      target: this.target.toString(16).padStart(64, '0'),
      time: Math.max(Math.floor(Date.now() / 1000), minTime),
      minTime,
      extranonceSize: EXTRANONCE_SIZE,
      ...parts,
      txids,
      merkleBranch: merkleBranch(txids.map((t) => Buffer.from(reverseHex(t), 'hex'))),
    };
  }

  async accept(c: PowBlockCandidate): Promise<PowBlockAnswer> {
    const header = Buffer.from(c.header, 'hex');
    const fields = parseHeader(header);
    const hash = headerHash(header);
    const before = await this.blocks.findByHashOrCandidate(hash, c.candidateId);
    if (before) return repeat(before, hash, c.candidateId);
    if (fields.bits !== parseInt(this.config.POW_BITS, 16)) throw powBadBits(this.config.POW_BITS);
    if (hashValue(header) > this.target) throw powHighHash(hash);
    const leaves = [sha256d(Buffer.from(c.coinbase, 'hex')), ...c.txids.map((t) => Buffer.from(reverseHex(t), 'hex'))];
    if (reverseHex(merkleRootInternal(leaves).toString('hex')) !== fields.merkleRoot) throw powBadMerkle();
    if (coinbasePayoutScript(c.coinbase) !== this.config.POW_PAYOUT_SCRIPT)
      throw powBadCoinbase('the coinbase does not pay the platform’s payout script');
    if (fields.time > Math.floor(Date.now() / 1000) + MAX_FUTURE_S) throw powBadTime('the block time is more than 2 h ahead');
    return this.db.$transaction(async (tx) => {
      await this.blocks.lockAppends(tx);
      const raced = await this.blocks.findByHashOrCandidate(hash, c.candidateId, tx);
      if (raced) return repeat(raced, hash, c.candidateId);
      const tip = await this.blocks.tip(tx);
      if (fields.prevHash !== tip.hash) throw powStaleTip(tip.hash);
      const height = tip.height + 1;
      if (!c.coinbase.startsWith(scriptHeight(height).toString('hex'), 42 * 2))
        throw powBadCoinbase(`the coinbase does not start with height ${height} (BIP 34)`);
      if (fields.time <= median(await this.blocks.recentTimes(MEDIAN_SPAN, tx)))
        throw powBadTime('the block time is not after the median of the last 11 blocks');
      const stored = await this.blocks.append(tx, {
        height,
        hash,
        prevHash: tip.hash,
        header: c.header,
        coinbase: c.coinbase,
        txids: c.txids,
        time: fields.time,
        candidateId: c.candidateId,
      });
      return { height: stored.height, hash, duplicate: false };
    });
  }
}

function repeat(block: StoredBlock, hash: string, candidateId: string): PowBlockAnswer {
  if (block.hash !== hash || (block.candidateId !== null && block.candidateId !== candidateId)) throw powCandidateConflict(candidateId);
  return { height: block.height, hash, duplicate: true };
}

function median(times: number[]): number {
  if (times.length === 0) throw powMalformed('no chain');
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
