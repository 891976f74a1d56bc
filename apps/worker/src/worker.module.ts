import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AlertsModule } from '@idlemint/alerts';
import {
  CONFIG,
  ConfigModule,
  DbModule,
  DependencyMonitor,
  MetricsModule,
  QUEUE,
  RedisModule,
  createRedis,
  type Config,
} from '@idlemint/core';
import { FleetModule } from '@idlemint/fleet';
import { LedgerModule } from '@idlemint/ledger';
import { PayoutsModule } from '@idlemint/payouts';
import { RelayModule } from '@idlemint/relay';
import { SharesModule } from '@idlemint/shares';
import { WorkModule } from '@idlemint/work';
import { AlertsProcessor } from './alerts.processor.js';
import { HealthServer } from './health-server.js';
import { IngestProcessor } from './ingest.processor.js';
import { JobEvents } from './job-events.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { OutboxDispatcher } from './outbox.dispatcher.js';
import { PayoutsProcessor } from './payouts.processor.js';
import { ProcessorsShutdown } from './processors-shutdown.js';
import { Reconciler } from './reconciler.js';
import { RelayProcessor } from './relay.processor.js';
import { PlatformGauges } from './platform-gauges.js';
import { Schedulers } from './schedulers.js';
import { SharesProcessor } from './shares.processor.js';

/** The background process: one processor per queue, the outbox dispatcher and the schedulers. No HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        DbModule,
        RedisModule,
        DiscoveryModule,
        BullModule.forRootAsync({
          inject: [CONFIG],
          useFactory: (c: Config) => {
            if (c.REDIS_CLUSTER) return { prefix: c.QUEUE_PREFIX, connection: createRedis(c.REDIS_URL, 'idlemint-worker', {}, true) };
            const u = new URL(c.REDIS_URL);
            return {
              prefix: c.QUEUE_PREFIX,
              connection: {
                host: u.hostname,
                port: Number(u.port || 6379),
                ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
                ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
                maxRetriesPerRequest: null,
              },
            };
          },
        }),
        BullModule.registerQueue(
          { name: QUEUE.relay },
          { name: QUEUE.payouts },
          { name: QUEUE.ingest },
          { name: QUEUE.alerts },
          { name: QUEUE.maintenance },
          { name: QUEUE.shares },
        ),
        WorkModule,
        LedgerModule,
        RelayModule,
        PayoutsModule,
        AlertsModule,
        MetricsModule.forRoot('worker'),
        FleetModule,
        SharesModule,
      ],
      providers: [
        OutboxDispatcher,
        Schedulers,
        Reconciler,
        DependencyMonitor,
        HealthServer,
        ProcessorsShutdown,
        RelayProcessor,
        PayoutsProcessor,
        IngestProcessor,
        AlertsProcessor,
        MaintenanceProcessor,
        JobEvents,
        PlatformGauges,
        SharesProcessor,
      ],
    };
  }
}
