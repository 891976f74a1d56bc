import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, newId, writeOutbox, type Config } from '@idlemint/core';
import { RewardsService } from '@idlemint/ledger';
import { HashJobsService } from './jobs.service.js';
import { checkShare, SHARE_CODES, type ShareCode, type ShareInput } from './share-check.js';
import { SharesRepository } from './shares.repository.js';
import { clampDifficulty, type VardiffPolicy } from './vardiff.js';

export interface Miner {
  deviceId: string;
  extranonce1: string;
  difficulty: number;
}

export type SubmitOutcome =
  | { accepted: false; code: ShareCode; reason: string }
  | { accepted: true; shareId: string; hash: string; difficulty: number; block: boolean };

/**
 * The hash-share work kind: a device's miner (its own extranonce1 and difficulty) and the
 * acceptance of its shares. A share is checked here, by the platform itself (a hash needs no
 * quorum); accepted shares are stored at once and credited in batches (ShareCreditService). A
 * share that meets the network target becomes a block candidate, stored with its bonus credit and
 * its outbox message in one transaction.
 */
@Injectable()
export class SharesService {
  readonly vardiff: VardiffPolicy;

  constructor(
    private readonly db: PrismaService,
    private readonly repo: SharesRepository,
    private readonly jobs: HashJobsService,
    private readonly rewards: RewardsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.vardiff = {
      targetS: config.SHARE_TARGET_S,
      retargetS: config.SHARE_RETARGET_S,
      variancePct: config.SHARE_VARIANCE_PCT,
      minDiff: config.SHARE_MIN_DIFF,
      maxDiff: config.SHARE_MAX_DIFF,
    };
  }

  /** The device's miner, made on first use with a fresh extranonce1 (4 bytes, unique). */
  async miner(deviceId: string): Promise<Miner> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const row = await this.repo.miner(deviceId);
      if (row) return { deviceId, extranonce1: row.extranonce1, difficulty: row.difficulty };
      // The top bit is clear: Stratum connections draw theirs with it set, so the two never meet.
      const en1 = randomBytes(4);
      en1[0] &= 0x7f;
      await this.repo.createMiner(deviceId, en1.toString('hex'), clampDifficulty(this.config.SHARE_START_DIFF, this.vardiff));
    }
    throw new Error('could not draw a free extranonce1');
  }

  async setDifficulty(deviceId: string, difficulty: number): Promise<number> {
    const d = clampDifficulty(difficulty, this.vardiff);
    await this.repo.setDifficulty(deviceId, d);
    return d;
  }

  /**
   * Checks and stores one share. `difficulties`: the device's current difficulty and, right after a
   * retarget, the previous one (a miner may not have switched yet).
   */
  async submit(miner: { deviceId: string; extranonce1: string }, input: ShareInput, difficulties: number[]): Promise<SubmitOutcome> {
    const job = await this.jobs.job(input.jobId);
    if (!job) return { accepted: false, code: SHARE_CODES.stale, reason: 'unknown job' };
    const current = await this.jobs.currentJob();
    if (!current || current.prevHashDisplay !== job.prevHashDisplay) {
      return { accepted: false, code: SHARE_CODES.stale, reason: 'the job no longer builds on the tip' };
    }
    const verdict = checkShare(job, miner.extranonce1, input, difficulties);
    if (!verdict.ok) return { accepted: false, code: verdict.code, reason: verdict.reason };
    const share = {
      id: newId(),
      deviceId: miner.deviceId,
      jobId: job.id,
      hash: verdict.hash,
      difficulty: verdict.difficulty,
      block: verdict.block !== null,
    };
    if (!verdict.block) {
      if (!(await this.repo.insertShare(this.db, share))) return duplicate();
      return { accepted: true, shareId: share.id, hash: share.hash, difficulty: share.difficulty, block: false };
    }
    const block = verdict.block;
    const stored = await this.db.$transaction(async (tx) => {
      if (!(await this.repo.insertShare(tx, share))) return false;
      await this.repo.insertCandidate(tx, {
        id: share.id,
        deviceId: miner.deviceId,
        jobId: job.id,
        hash: share.hash,
        ...block,
        txids: job.txids,
      });
      await writeOutbox(tx, 'block.found', `block-${share.id}`, { candidateId: share.id });
      if (this.config.SHARE_BLOCK_BONUS > 0n) {
        const [d] = await this.repo.rewardedDevices(tx, [miner.deviceId]);
        if (d) {
          await this.rewards.credit(
            tx,
            `block:${share.id}`,
            [{ deviceId: d.id, manufacturerId: d.manufacturerId, ownerRank: d.ownerRank }],
            this.config.SHARE_BLOCK_BONUS,
            `block ${share.hash} at height ${job.height} found by a hash share of device ${d.id}; bonus`,
          );
        }
      }
      return true;
    });
    if (!stored) return duplicate();
    return { accepted: true, shareId: share.id, hash: share.hash, difficulty: share.difficulty, block: true };
  }

  counts() {
    return this.repo.counts();
  }
}

const duplicate = (): SubmitOutcome => ({ accepted: false, code: SHARE_CODES.duplicate, reason: 'this share was submitted before' });
