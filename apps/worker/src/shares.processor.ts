import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import { CONFIG, JOB_NAME, QUEUE, jobOptions, type Config, type JobPayloads } from '@idlemint/core';
import { BlockRefusedError, HashJobsService, ShareCreditService } from '@idlemint/shares';
import { z } from 'zod';

const relayBlockSchema = z.strictObject({ candidateId: z.string().min(1).max(64), nodeId: z.string().min(1).max(64) });

/**
 * The hash-share queue: pay-per-share batches and template polls (scheduled here, upserted so N
 * workers keep one of each), and block candidates relayed to each node.
 */
@Processor(QUEUE.shares, { concurrency: 4 })
export class SharesProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly credit: ShareCreditService,
    private readonly jobs: HashJobsService,
    @InjectQueue(QUEUE.shares) private readonly queue: Queue,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const opts = jobOptions(this.config.RELAY_ATTEMPTS);
    const every = { 'shares.credit': this.config.SHARE_BATCH_MS, 'shares.template': this.config.SHARE_TEMPLATE_MS } as const;
    for (const [name, ms] of Object.entries(every) as [keyof typeof every, number][]) {
      await this.queue.upsertJobScheduler(name, { every: ms }, { name, data: {}, opts: opts[name]({}) });
    }
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JOB_NAME['shares.credit']: {
        let total = 0;
        for (let n = await this.credit.creditBatch(); n > 0; n = await this.credit.creditBatch()) total += n;
        return total;
      }
      case JOB_NAME['shares.template']:
        return (await this.jobs.refresh()).created;
      case JOB_NAME['shares.relay-block']: {
        const parsed = relayBlockSchema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError('malformed shares.relay-block payload');
        const p: JobPayloads['shares.relay-block'] = parsed.data;
        try {
          const outcome = await this.credit.relayBlock(p.candidateId, p.nodeId);
          // A new tip: cut the next job now rather than at the next poll.
          if (outcome === 'appended') await this.jobs.refresh().catch(() => undefined);
          return outcome;
        } catch (e) {
          if (e instanceof BlockRefusedError) throw new UnrecoverableError(e.message);
          throw e;
        }
      }
      default:
        throw new UnrecoverableError(`unknown shares job ${job.name}`);
    }
  }
}
