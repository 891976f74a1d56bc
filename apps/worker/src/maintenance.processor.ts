import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { CONFIG, JOB_NAME, PrismaService, QUEUE, type Config } from '@idlemint/core';
import { FAST_RECOVERY } from './lease.js';
import { FleetSeriesService } from '@idlemint/fleet';
import { RewardsService } from '@idlemint/ledger';
import { CanaryStock } from '@idlemint/work';

/**
 * Scheduled upkeep: rewards whose maturity window passed are split out to owner, manufacturer
 * and operator; the canary stock is topped up; leases that ran out are recorded as missed
 * deadlines, which shrink the device's daily quota; the fleets' hourly rollup (time series) is
 * brought up to date from its watermark.
 */
@Processor(QUEUE.maintenance, { concurrency: 1, ...FAST_RECOVERY })
export class MaintenanceProcessor extends WorkerHost {
  constructor(
    private readonly db: PrismaService,
    private readonly rewards: RewardsService,
    private readonly canaries: CanaryStock,
    private readonly series: FleetSeriesService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    super();
  }

  async process(job: Job): Promise<number> {
    switch (job.name) {
      case JOB_NAME['maintenance.mature']: {
        let total = 0;
        for (let n = await this.rewards.matureDue(); n > 0; n = await this.rewards.matureDue()) total += n;
        return total;
      }
      case JOB_NAME['maintenance.canaries']:
        return this.canaries.replenish();
      case JOB_NAME['maintenance.expire']:
        return this.expireLeases();
      case JOB_NAME['maintenance.rollup']:
        return (await this.series.rollUp()).through.getTime();
      default:
        throw new Error(`unknown maintenance job ${job.name}`);
    }
  }

  /** Leased assignments past their deadline become `expired`; each halves its device's quota (as an error does). */
  private async expireLeases(): Promise<number> {
    return this.db.$executeRaw`
      WITH expired AS (
        UPDATE "Assignment" SET "status" = 'expired'
         WHERE "status" = 'leased' AND "deadline" < (now() AT TIME ZONE 'UTC') - interval '1 second'
         RETURNING "deviceId"),
      misses AS (SELECT "deviceId", COUNT(*)::int AS n FROM expired GROUP BY "deviceId")
      UPDATE "Device" d SET "dailyQuota" = GREATEST(1, d."dailyQuota" / power(2, LEAST(m.n, 20))::int) FROM misses m WHERE d."id" = m."deviceId"`;
  }
}
