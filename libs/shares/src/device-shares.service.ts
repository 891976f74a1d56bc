import { Injectable } from '@nestjs/common';
import { difficultyToTarget, u32Hex, VERSION_ROLLING_MASK } from '@idlemint/crypto';
import {
  HASH_SHARE_EXTENSION,
  HASH_SHARE_KIND,
  type HashShareJob,
  type HashShareResult,
  type HashShareSubmitBody,
  type HashShareSubmitResponse,
} from '@idlemint/protocol';
import { EXTRANONCE2_SIZE } from './share-check.js';
import { HashJobsService } from './jobs.service.js';
import { SharesService } from './shares.service.js';
import { startVardiff, vardiffTick, type VardiffState } from './vardiff.js';

const GRACE_MS = 30_000;

/**
 * Hash shares over the signed HTTP device protocol (extension hash-share/1). The device's
 * extranonce1 and difficulty live on its miner row; the vardiff window is kept per process (a
 * device that talks to several api processes is retargeted by each: coarser, never wrong).
 */
@Injectable()
export class DeviceSharesService {
  private readonly windows = new Map<string, { state: VardiffState; previous?: { difficulty: number; until: number } }>();

  constructor(
    private readonly shares: SharesService,
    private readonly jobs: HashJobsService,
  ) {}

  async job(deviceId: string): Promise<HashShareJob | null> {
    const [job, miner] = await Promise.all([this.jobs.currentJob(), this.shares.miner(deviceId)]);
    if (!job) return null;
    return {
      kind: HASH_SHARE_KIND,
      extension: HASH_SHARE_EXTENSION,
      jobId: job.id,
      height: job.height,
      prevHash: job.prevHash,
      coinb1: job.coinb1,
      coinb2: job.coinb2,
      merkleBranch: job.merkleBranch,
      version: job.version,
      nbits: job.nbits,
      ntime: job.ntime,
      versionMask: u32Hex(VERSION_ROLLING_MASK),
      extranonce1: miner.extranonce1,
      extranonce2Size: EXTRANONCE2_SIZE,
      difficulty: miner.difficulty,
      shareTarget: difficultyToTarget(miner.difficulty).toString(16).padStart(64, '0'),
    };
  }

  async submit(deviceId: string, body: HashShareSubmitBody): Promise<HashShareSubmitResponse> {
    const miner = await this.shares.miner(deviceId);
    const w = this.windows.get(deviceId) ?? { state: startVardiff(miner.difficulty, Date.now()) };
    this.windows.set(deviceId, w);
    if (w.state.difficulty !== miner.difficulty) w.state.difficulty = miner.difficulty;
    const difficulties = [miner.difficulty];
    if (w.previous && w.previous.until > Date.now()) difficulties.push(w.previous.difficulty);
    const results: HashShareResult[] = [];
    let difficulty = miner.difficulty;
    for (const s of body.shares) {
      const r = await this.shares.submit(miner, { jobId: body.jobId, ...s }, difficulties);
      results.push(r.accepted ? { accepted: true, block: r.block } : { accepted: false, code: r.code });
      if (!r.accepted) continue;
      const next = vardiffTick(w.state, this.shares.vardiff, Date.now(), true);
      if (next !== null) {
        w.previous = { difficulty, until: Date.now() + GRACE_MS };
        difficulty = await this.shares.setDifficulty(deviceId, next);
      }
    }
    if (this.windows.size > 100_000) this.windows.clear();
    return { results, difficulty };
  }
}
