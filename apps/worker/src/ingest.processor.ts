import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { QUEUE } from '@idlemint/core';
import { FAST_RECOVERY } from './lease.js';
import { UnitsService } from '@idlemint/work';

/** Scheduled: pull pending transactions from the nodes and cut them into units. */
@Processor(QUEUE.ingest, { concurrency: 1, ...FAST_RECOVERY })
export class IngestProcessor extends WorkerHost {
  constructor(private readonly units: UnitsService) {
    super();
  }

  process(_job: Job): Promise<{ fetched: number; units: number }> {
    return this.units.ingest();
  }
}
