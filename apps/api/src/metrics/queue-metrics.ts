import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '@idlemint/core';
import { QueueRegistry } from '../admin/queue-registry.js';

/** Queue depth per queue and state (the named queues and one work queue per device class), read from Redis at scrape time. */
@Injectable()
export class QueueMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly registry: QueueRegistry,
  ) {}

  onModuleInit(): void {
    this.metrics.scrapeGauge('idlemint_queue_jobs', 'BullMQ jobs per queue and state', ['queue', 'state'], async () =>
      (await this.registry.depths()).flatMap((q) =>
        Object.entries(q.counts).map(([state, n]) => ({ labels: { queue: q.name, state }, value: n })),
      ),
    );
  }
}
