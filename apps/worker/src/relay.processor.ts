import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOB_NAME, QUEUE, type JobPayloads } from '@idlemint/core';
import { RelayRefusedError, RelayService } from '@idlemint/relay';
import { FAST_RECOVERY } from './lease.js';

type RelayJob =
  | (Job<JobPayloads['relay.deliver']> & { name: (typeof JOB_NAME)['relay.deliver'] })
  | (Job<JobPayloads['relay.retract']> & { name: (typeof JOB_NAME)['relay.retract'] });

/**
 * Delivers verified units, and retractions of overturned ones, to trusted nodes, with backoff;
 * a refusal dead-letters.
 */
@Processor(QUEUE.relay, { concurrency: 8, ...FAST_RECOVERY })
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

  /**
   * A refusal by the node dead-letters the delivery (the operator can re-drive it). Running out of
   * attempts does not: the delivery stays pending and the reconciler sends it again later, so a node
   * down for an hour still gets every unit when it comes back.
   */
  @OnWorkerEvent('failed')
  async onFailed(job: RelayJob | undefined, error: Error): Promise<void> {
    if (!job) return;
    if (error instanceof UnrecoverableError) {
      this.log.warn(`${job.name} of unit ${job.data.unitId} to node ${job.data.nodeId} refused, dead-lettered: ${error.message}`);
      if (job.name === JOB_NAME['relay.retract']) await this.relay.markRetractionDead(job.data.unitId, job.data.nodeId, error.message);
      else await this.relay.markDead(job.data.unitId, job.data.nodeId, error.message);
    } else if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
      this.log.warn(
        `${job.name} of unit ${job.data.unitId} to node ${job.data.nodeId} out of attempts, the reconciler re-drives it: ${error.message}`,
      );
    }
  }
}
