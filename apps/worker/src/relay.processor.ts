import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOB_NAME, QUEUE, type JobPayloads } from '@idlemint/core';
import { RelayRefusedError, RelayService } from '@idlemint/relay';

type RelayJob =
  | (Job<JobPayloads['relay.deliver']> & { name: (typeof JOB_NAME)['relay.deliver'] })
  | (Job<JobPayloads['relay.retract']> & { name: (typeof JOB_NAME)['relay.retract'] });

/**
 * Delivers verified units, and retractions of overturned ones, to trusted nodes, with backoff;
 * the last failure dead-letters.
 */
@Processor(QUEUE.relay, { concurrency: 8 })
export class RelayProcessor extends WorkerHost {
  private readonly log = new Logger(RelayProcessor.name);

  constructor(private readonly relay: RelayService) {
    super();
  }

  async process(job: RelayJob): Promise<string> {
    try {
      switch (job.name) {
        case JOB_NAME['relay.deliver']:
          return await this.relay.deliver(job.data.unitId, job.data.nodeId);
        case JOB_NAME['relay.retract']:
          return await this.relay.retract(job.data.unitId, job.data.nodeId);
      }
    } catch (e) {
      if (e instanceof RelayRefusedError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  @OnWorkerEvent('failed')
  async onFailed(job: RelayJob | undefined, error: Error): Promise<void> {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    this.log.warn(`${job.name} of unit ${job.data.unitId} to node ${job.data.nodeId} dead: ${error.message}`);
    if (job.name === JOB_NAME['relay.retract']) await this.relay.markRetractionDead(job.data.unitId, job.data.nodeId, error.message);
    else await this.relay.markDead(job.data.unitId, job.data.nodeId, error.message);
  }
}
