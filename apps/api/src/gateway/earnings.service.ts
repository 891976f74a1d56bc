import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, type Config } from '@idlemint/core';
import { LedgerService, splitReward } from '@idlemint/ledger';
import type { EarningsResponse } from '@idlemint/protocol';

/** A device's earnings in minor units: credited (matured) and paid from the ledger; pending is maturing or undecided. */
@Injectable()
export class EarningsService {
  constructor(
    private readonly db: PrismaService,
    private readonly ledger: LedgerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async forDevice(deviceId: string): Promise<EarningsResponse> {
    const [{ credited, pending: maturing, paid, last24h }, pendingRows] = await Promise.all([
      this.ledger.deviceEarnings(deviceId),
      this.db.$queryRaw<{ total: string | null }[]>`
        SELECT SUM(u."reward")::text AS total FROM "Assignment" a JOIN "WorkUnit" u ON u."id" = a."unitId"
         WHERE a."deviceId" = ${deviceId} AND a."status" = 'submitted' AND a."outcome" IS NULL AND u."status" = 'open'`,
    ]);
    // Pending: rewards still maturing, and the owner's share of answers whose unit is not decided yet.
    const pending = maturing + splitReward(BigInt(pendingRows[0]?.total ?? '0'), this.ledger.shares).owner;
    return {
      currency: this.config.CURRENCY,
      pending: pending.toString(),
      credited: credited.toString(),
      paid: paid.toString(),
      last24h: last24h.toString(),
    };
  }
}
