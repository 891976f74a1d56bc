import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, type Tx } from '@idlemint/core';
import { RewardsService } from '@idlemint/ledger';
import { afterAgreed, afterStrike, isTrusted, nextQuota, reputationScore, type Reputation, type ReputationPolicy } from '@idlemint/work';

/** Applies reputation transitions (libs/work/src/reputation.ts) to a device inside the verdict's transaction. */
@Injectable()
export class ReputationService {
  readonly policy: ReputationPolicy;

  constructor(
    private readonly rewards: RewardsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.policy = {
      trustAfter: config.TRUST_AFTER,
      strikeDecayEvery: config.STRIKE_DECAY_EVERY,
      quarantineStrikes: config.QUARANTINE_STRIKES,
      revokeAfterQuarantines: config.REVOKE_AFTER_QUARANTINES,
    };
  }

  private async load(tx: Tx, deviceId: string): Promise<Reputation & { dailyQuota: number; status: string }> {
    const rows = await tx.$queryRaw<(Reputation & { dailyQuota: number; status: string })[]>`
      SELECT "consecutiveValid", "strikes", "quarantineCount", "dailyQuota", "status"::text AS status
        FROM "Device" WHERE "id" = ${deviceId} FOR UPDATE`;
    return rows[0]!;
  }

  async agreed(tx: Tx, deviceId: string): Promise<void> {
    const d = await this.load(tx, deviceId);
    const next = afterAgreed(d, this.policy);
    await tx.device.update({
      where: { id: deviceId },
      data: {
        consecutiveValid: next.consecutiveValid,
        strikes: next.strikes,
        validResults: { increment: 1 },
        reputation: reputationScore(next, this.policy),
        dailyQuota: nextQuota(d.dailyQuota, 'agreed', this.config.QUOTA_MAX),
      },
    });
    // The moment a device (re)gains trust, rewards frozen by an overturned verdict mature again.
    if (next.consecutiveValid === this.policy.trustAfter && isTrusted(next, this.policy.trustAfter)) await this.rewards.thaw(tx, deviceId);
  }

  /** A wrong answer: no reward, a strike, a smaller quota; quarantine or revocation once they add up. */
  async strike(tx: Tx, deviceId: string): Promise<void> {
    const d = await this.load(tx, deviceId);
    // A device already out of work (a late answer after its quarantine) only adds the strike.
    const { next, action } =
      d.status === 'active'
        ? afterStrike(d, this.policy)
        : { next: { ...d, consecutiveValid: 0, strikes: d.strikes + 1 }, action: 'none' as const };
    const leaving = action !== 'none';
    await tx.device.update({
      where: { id: deviceId },
      data: {
        consecutiveValid: next.consecutiveValid,
        strikes: next.strikes,
        quarantineCount: next.quarantineCount,
        reputation: reputationScore(next, this.policy),
        dailyQuota: nextQuota(d.dailyQuota, 'strike', this.config.QUOTA_MAX),
        ...(leaving ? { status: action === 'revoke' ? 'revoked' : 'quarantined', quarantinedAt: new Date() } : {}),
      },
    });
    if (leaving)
      await this.rewards.forfeitImmature(
        tx,
        deviceId,
        action === 'revoke' ? 'device revoked after repeated quarantine' : 'device quarantined',
      );
  }
}
