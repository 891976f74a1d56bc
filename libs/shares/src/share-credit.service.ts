import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PlatformKeys, PrismaService, newId, type Config } from '@idlemint/core';
import { RewardsService } from '@idlemint/ledger';
import { NodeClient, NodeRequestError, type PowBlockAnswer } from '@idlemint/protocol';
import { SharesRepository } from './shares.repository.js';

/** Difficulties are summed in units of 1e-8 (the resolution of share difficulties), so sums are exact. */
const SCALE = 100_000_000n;

/** A node's definite refusal of a block candidate (a 4xx bar 429): retrying cannot help. */
export class BlockRefusedError extends Error {}

/**
 * Pay-per-share in batches, and block candidates to the nodes. A batch locks uncredited shares
 * (SKIP LOCKED: workers take disjoint batches), credits each device Σ difficulty × rate through the
 * ledger's rewards (immature, split at maturity, per-owner rules), carries what is below one minor
 * unit to the next batch, and marks the shares, all in one transaction: a share is credited once,
 * and none is lost.
 */
@Injectable()
export class ShareCreditService {
  constructor(
    private readonly db: PrismaService,
    private readonly repo: SharesRepository,
    private readonly rewards: RewardsService,
    private readonly keys: PlatformKeys,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Credits one batch; returns how many shares it took (0 when none waited). */
  async creditBatch(limit = 5_000): Promise<number> {
    return this.db.$transaction(async (tx) => {
      const shares = await this.repo.uncredited(tx, limit);
      if (shares.length === 0) return 0;
      const batchId = newId();
      const byDevice = new Map<string, { n: number; scaled: bigint }>();
      for (const s of shares) {
        const d = byDevice.get(s.deviceId) ?? { n: 0, scaled: 0n };
        d.n += 1;
        d.scaled += BigInt(Math.round(s.difficulty * Number(SCALE)));
        byDevice.set(s.deviceId, d);
      }
      const ids = [...byDevice.keys()].sort();
      const remainders = await this.repo.lockRemainders(tx, ids);
      const devices = new Map((await this.repo.rewardedDevices(tx, ids)).map((d) => [d.id, d]));
      const rate = this.config.SHARE_PPS_PER_DIFF1;
      for (const id of ids) {
        const sum = byDevice.get(id)!;
        const total = (remainders.get(id) ?? 0n) + sum.scaled * rate;
        const amount = total / SCALE;
        await this.repo.setRemainder(tx, id, total % SCALE);
        const device = devices.get(id);
        if (amount === 0n || !device) continue;
        const diff = Number(sum.scaled) / Number(SCALE);
        await this.rewards.credit(
          tx,
          `shares:${batchId}`,
          [{ deviceId: id, manufacturerId: device.manufacturerId, ownerRank: device.ownerRank }],
          amount,
          `${sum.n} hash shares of total difficulty ${diff} at ${rate} per difficulty 1 (pay-per-share, batch ${batchId})`,
        );
      }
      await this.repo.markCredited(
        tx,
        shares.map((s) => s.id),
        batchId,
      );
      return shares.length;
    });
  }

  /** Delivers a block candidate to one node, at least once; the node is idempotent on the candidate id. */
  async relayBlock(candidateId: string, nodeId: string): Promise<'appended' | 'already' | 'node-disabled'> {
    const [candidate, node] = await Promise.all([this.repo.candidate(candidateId), this.repo.node(nodeId)]);
    if (!candidate || !node) throw new BlockRefusedError(`unknown candidate ${candidateId} or node ${nodeId}`);
    const delivery = await this.repo.delivery(candidateId, nodeId);
    if (delivery.status === 'appended') return 'already';
    if (node.status !== 'active') return 'node-disabled';
    const body = { candidateId, header: candidate.header, coinbase: candidate.coinbase, txids: candidate.txids as string[] };
    try {
      const answer = await new NodeClient(node.url, await this.keys.currentSeed()).request<PowBlockAnswer>('POST', '/v1/pow/blocks', body);
      await this.repo.deliveryDone(candidateId, nodeId, 'appended', answer.height, null);
      return 'appended';
    } catch (e) {
      const error = e instanceof NodeRequestError ? `${e.code}: ${e.message}` : (e as Error).message;
      // A stale tip may heal once an earlier block reaches this node: retried like any failure.
      if (
        e instanceof NodeRequestError &&
        e.status !== null &&
        e.status >= 400 &&
        e.status < 500 &&
        e.status !== 429 &&
        e.code !== 'POW.STALE_TIP'
      ) {
        await this.repo.deliveryDone(candidateId, nodeId, 'refused', null, error);
        throw new BlockRefusedError(error);
      }
      await this.repo.deliveryFailed(candidateId, nodeId, error);
      throw e;
    }
  }

  activeNodes() {
    return this.repo.activeNodes();
  }
}
