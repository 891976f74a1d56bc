import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import { CONFIG, ConfigModule, DbModule, QUEUE, RedisModule, type Config } from '@idlemint/core';
import { PayoutsModule } from '@idlemint/payouts';
import { RelayModule } from '@idlemint/relay';
import { WorkModule } from '@idlemint/work';
import { IngestProcessor } from './ingest.processor.js';
import { OutboxDispatcher } from './outbox.dispatcher.js';
import { PayoutsProcessor } from './payouts.processor.js';
import { RelayProcessor } from './relay.processor.js';
import { Schedulers } from './schedulers.js';

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
        BullModule.forRootAsync({
          inject: [CONFIG],
          useFactory: (c: Config) => {
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
        BullModule.registerQueue({ name: QUEUE.relay }, { name: QUEUE.payouts }, { name: QUEUE.ingest }),
        WorkModule,
        RelayModule,
        PayoutsModule,
      ],
      providers: [OutboxDispatcher, Schedulers, RelayProcessor, PayoutsProcessor, IngestProcessor],
    };
  }
}
