import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { JOB_NAME, QUEUE, type JobPayloads } from '@idlemint/core';
import { FAST_RECOVERY } from './lease.js';
import { PayoutUnclearError, PayoutsService } from '@idlemint/payouts';

type PayoutJob = Job<JobPayloads['payouts.execute']> | Job<JobPayloads['payouts.run']>;

/** Payout runs (scheduled) and the execution of each payout at the node. */
@Processor(QUEUE.payouts, { concurrency: 4, ...FAST_RECOVERY })
export class PayoutsProcessor extends WorkerHost {
  constructor(private readonly payouts: PayoutsService) {
    super();
  }

  async process(job: PayoutJob): Promise<unknown> {
    if (job.name === JOB_NAME['payouts.run']) return { created: (await this.payouts.run()).length };
    if (job.name === JOB_NAME['payouts.execute']) return this.payouts.execute((job.data as JobPayloads['payouts.execute']).payoutId);
    throw new Error(`unknown payouts job ${job.name}`);
  }

  /** Out of retries without a clear answer from the node: halt, never credit back blindly. */
  @OnWorkerEvent('failed')
  async onFailed(job: PayoutJob | undefined, error: Error): Promise<void> {
    if (!job || job.name !== JOB_NAME['payouts.execute']) return;
    if (job.attemptsMade < (job.opts.attempts ?? 1) || !(error instanceof PayoutUnclearError)) return;
    await this.payouts.markUnclear((job.data as JobPayloads['payouts.execute']).payoutId, error.message);
  }
}
