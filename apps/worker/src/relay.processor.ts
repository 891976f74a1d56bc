import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { QUEUE, type JobPayloads } from '@idlemint/core';
import { RelayRefusedError, RelayService } from '@idlemint/relay';

/** Delivers verified units to trusted nodes, with backoff; the last failure dead-letters. */
@Processor(QUEUE.relay, { concurrency: 8 })
export class RelayProcessor extends WorkerHost {
  private readonly log = new Logger(RelayProcessor.name);

  constructor(private readonly relay: RelayService) {
    super();
  }

  async process(job: Job<JobPayloads['relay.deliver']>): Promise<string> {
    try {
      return await this.relay.deliver(job.data.unitId, job.data.nodeId);
    } catch (e) {
      if (e instanceof RelayRefusedError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<JobPayloads['relay.deliver']> | undefined, error: Error): Promise<void> {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    this.log.warn(`relay of unit ${job.data.unitId} to node ${job.data.nodeId} dead: ${error.message}`);
    await this.relay.markDead(job.data.unitId, job.data.nodeId, error.message);
  }
}
