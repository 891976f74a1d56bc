import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, newId, type Config, type Tx } from '@idlemint/core';
import { Accounts } from './accounts.js';
import { diminishedReward, type Diminishing } from './diminishing.js';
import { LedgerService } from './ledger.service.js';
import { splitReward } from './reward-split.js';

export interface RewardedDevice {
  deviceId: string;
  manufacturerId: string;
  /** Where this device stands among its owner's devices (1 = first enrolled; unowned: 1). */
  ownerRank: number;
}

/**
 * A reward's life: credited immature in the verdict's transaction, matured after `MATURITY_MS`
 * into the owner, manufacturer and operator shares, or forfeited back to the pool when the device
 * is quarantined first. Every ledger line says why its amount is what it is.
 */
@Injectable()
export class RewardsService {
  private readonly diminishing: Diminishing;

  constructor(
    private readonly db: PrismaService,
    private readonly ledger: LedgerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.diminishing = { fullDevices: config.OWNER_FULL_DEVICES, stepBps: config.OWNER_STEP_BPS };
  }

  /** `what` explains the credit (default: a verified unit's quorum); the per-owner rule's reason is added. */
  async credit(tx: Tx, unitId: string, devices: RewardedDevice[], reward: bigint, what?: string): Promise<void> {
    const maturesAt = new Date(Date.now() + this.config.MATURITY_MS);
    for (const d of devices) {
      const { amount, why } = diminishedReward(reward, d.ownerRank, this.diminishing);
      const id = newId();
      const memo = `${what ?? `unit ${unitId} verified; device ${d.deviceId} agreed with the quorum`}; ${why}`;
      const posted = await this.ledger.post(tx, { idempotencyKey: `credit:${unitId}:${d.deviceId}`, kind: 'reward', memo, unitId }, [
        { account: Accounts.rewardPool, amount: -amount, memo: `reward ${amount} issued` },
        { account: Accounts.immature(d.deviceId), amount, memo: `immature until ${maturesAt.toISOString()}` },
      ]);
      if (!posted) continue;
      await tx.reward.create({
        data: { id, unitId, deviceId: d.deviceId, manufacturerId: d.manufacturerId, amount: amount.toString(), why: memo, maturesAt },
      });
    }
  }

  /** Matures every reward whose window has passed; returns how many. Safe to run in N workers. */
  async matureDue(limit = 500): Promise<number> {
    return this.db.$transaction(async (tx) => {
      const due = await tx.$queryRaw<{ id: string; unitId: string; deviceId: string; manufacturerId: string; amount: string }[]>`
        SELECT "id", "unitId", "deviceId", "manufacturerId", "amount"::text AS amount FROM "Reward"
         WHERE "status" = 'immature' AND "maturesAt" <= (now() AT TIME ZONE 'UTC') ORDER BY "maturesAt" LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      for (const r of due) {
        const amount = BigInt(r.amount);
        const split = splitReward(amount, this.ledger.shares);
        const s = this.ledger.shares;
        await this.ledger.post(
          tx,
          { idempotencyKey: `mature:${r.id}`, kind: 'reward', memo: `reward for unit ${r.unitId} matured`, unitId: r.unitId },
          [
            { account: Accounts.immature(r.deviceId), amount: -amount, memo: `matured` },
            { account: Accounts.device(r.deviceId), amount: split.owner, memo: `owner share ${s.ownerBps} bps of ${amount}` },
            {
              account: Accounts.manufacturer(r.manufacturerId),
              amount: split.manufacturer,
              memo: `manufacturer share ${s.manufacturerBps} bps of ${amount}`,
            },
            { account: Accounts.operator, amount: split.operator, memo: `operator share (remainder) of ${amount}` },
          ],
        );
      }
      if (due.length > 0) {
        await tx.reward.updateMany({ where: { id: { in: due.map((r) => r.id) } }, data: { status: 'mature', settledAt: new Date() } });
      }
      return due.length;
    });
  }

  /** In the quarantine's transaction: the device's immature (and frozen) rewards go back to the pool. */
  async forfeitImmature(tx: Tx, deviceId: string, reason: string): Promise<number> {
    const rows = await tx.$queryRaw<{ id: string; unitId: string; amount: string }[]>`
      SELECT "id", "unitId", "amount"::text AS amount FROM "Reward"
       WHERE "deviceId" = ${deviceId} AND "status" IN ('immature', 'frozen') FOR UPDATE`;
    return this.forfeit(tx, deviceId, rows, reason);
  }

  /** The reward for one unit whose verdict was overturned goes back to the pool, if not yet matured. */
  async forfeitUnit(tx: Tx, unitId: string, deviceId: string, reason: string): Promise<number> {
    const rows = await tx.$queryRaw<{ id: string; unitId: string; amount: string }[]>`
      SELECT "id", "unitId", "amount"::text AS amount FROM "Reward"
       WHERE "unitId" = ${unitId} AND "deviceId" = ${deviceId} AND "status" IN ('immature', 'frozen') FOR UPDATE`;
    return this.forfeit(tx, deviceId, rows, reason);
  }

  /**
   * After an audit overturned a verdict the device agreed to: its immature rewards stop maturing
   * until it has earned trust again (`thaw`), and are forfeited if it is quarantined first.
   */
  async freezeImmature(tx: Tx, deviceId: string): Promise<number> {
    return tx.$executeRaw`UPDATE "Reward" SET "status" = 'frozen' WHERE "deviceId" = ${deviceId} AND "status" = 'immature'`;
  }

  /** The device earned trust again: its frozen rewards mature on a fresh window. */
  async thaw(tx: Tx, deviceId: string): Promise<number> {
    const maturesAt = new Date(Date.now() + this.config.MATURITY_MS);
    return tx.$executeRaw`
      UPDATE "Reward" SET "status" = 'immature', "maturesAt" = ${maturesAt} WHERE "deviceId" = ${deviceId} AND "status" = 'frozen'`;
  }

  private async forfeit(tx: Tx, deviceId: string, rows: { id: string; unitId: string; amount: string }[], reason: string): Promise<number> {
    for (const r of rows) {
      const amount = BigInt(r.amount);
      const memo = `reward for unit ${r.unitId} forfeited: ${reason} within the maturity window`;
      await this.ledger.post(tx, { idempotencyKey: `forfeit:${r.id}`, kind: 'forfeit', memo, unitId: r.unitId }, [
        { account: Accounts.immature(deviceId), amount: -amount, memo },
        { account: Accounts.rewardPool, amount, memo: `returned to the pool: ${reason}` },
      ]);
    }
    if (rows.length > 0) {
      await tx.reward.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { status: 'forfeited', settledAt: new Date() } });
    }
    return rows.length;
  }
}
