import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Metrics, PrismaService, registerPlatformGauges } from '@idlemint/core';

/**
 * The domain gauges (units, results, credits, payouts, deliveries, outbox) live on the worker's
 * /metrics: one process reads them from PostgreSQL, however many api processes run.
 */
@Injectable()
export class PlatformGauges implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly db: PrismaService,
  ) {}

  onModuleInit(): void {
    registerPlatformGauges(this.metrics, this.db);
  }
}
