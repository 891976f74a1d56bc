import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CONFIG, JOB_NAME, QUEUE, jobOptions, type Config } from '@idlemint/core';

/** BullMQ job schedulers: ingest ticks, payout runs, alert evaluations and maintenance. Upserted, so N workers keep one of each. */
@Injectable()
export class Schedulers implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(QUEUE.ingest) private readonly ingest: Queue,
    @InjectQueue(QUEUE.payouts) private readonly payouts: Queue,
    @InjectQueue(QUEUE.alerts) private readonly alerts: Queue,
    @InjectQueue(QUEUE.maintenance) private readonly maintenance: Queue,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.upsertAll();
  }

  /** True when every scheduler is in Redis (an emptied Redis has none). */
  async allPresent(): Promise<boolean> {
    const found = await Promise.all([
      this.ingest.getJobScheduler('ingest'),
      this.payouts.getJobScheduler('payout-run'),
      this.alerts.getJobScheduler('alerts-evaluate'),
      this.maintenance.getJobScheduler('maintenance.expire'),
    ]);
    return found.every((s) => s !== undefined);
  }

  /** Creates or updates every scheduler; the reconciler calls it again when Redis lost them. */
  async upsertAll(): Promise<void> {
    const opts = jobOptions(this.config.RELAY_ATTEMPTS);
    await this.ingest.upsertJobScheduler(
      'ingest',
      { every: this.config.INGEST_EVERY_MS },
      { name: JOB_NAME['ingest.tick'], data: {}, opts: opts['ingest.tick']({}) },
    );
    await this.payouts.upsertJobScheduler(
      'payout-run',
      { every: this.config.PAYOUT_EVERY_MS },
      { name: JOB_NAME['payouts.run'], data: {}, opts: opts['payouts.run']({}) },
    );
    await this.alerts.upsertJobScheduler(
      'alerts-evaluate',
      { every: this.config.ALERTS_EVERY_MS },
      { name: JOB_NAME['alerts.evaluate'], data: {}, opts: opts['alerts.evaluate']({}) },
    );
    const every = {
      'maintenance.mature': 1_000,
      'maintenance.canaries': 2_000,
      'maintenance.expire': 2_000,
      'maintenance.rollup': 5_000,
    } as const;
    for (const [name, ms] of Object.entries(every) as [keyof typeof every, number][]) {
      await this.maintenance.upsertJobScheduler(name, { every: ms }, { name, data: {}, opts: opts[name]({}) });
    }
  }
}
