import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { AlertsModule } from '@idlemint/alerts';
import { AuditModule } from '@idlemint/audit';
import { ConfigModule, DbModule, DependencyMonitor, MetricsModule, REDIS, RedisModule, type Config } from '@idlemint/core';
import { FleetModule } from '@idlemint/fleet';
import { LedgerModule } from '@idlemint/ledger';
import { NodesModule } from '@idlemint/nodes';
import { PayoutsModule } from '@idlemint/payouts';
import { RelayModule } from '@idlemint/relay';
import { VerificationModule } from '@idlemint/verification';
import { SharesModule } from '@idlemint/shares';
import { WorkModule } from '@idlemint/work';
import { QueueRegistry } from './admin/queue-registry.js';
import { DeviceAuthGuard } from './gateway/device-auth.guard.js';
import { EarningsService } from './gateway/earnings.service.js';
import { GatewayController } from './gateway/gateway.controller.js';
import { HashShareController } from './gateway/hash-share.controller.js';
import { HealthController } from './health/health.controller.js';
import { ApiThrottlerGuard, throttlers } from './http/api-throttler.guard.js';
import { AuthFailures } from './http/auth-failures.js';
import { RedisThrottlerStorage } from './http/redis-throttler.storage.js';
import { AlertsController } from './manufacturer/alerts.controller.js';
import { ManufacturerAuthGuard, OperatorAuthGuard, OwnerAuthGuard } from './common/auth.js';
import { DeviceDetailService } from './manufacturer/device-detail.service.js';
import { DevicesController } from './manufacturer/devices.controller.js';
import { GroupsController } from './manufacturer/groups.controller.js';
import { ManufacturerController } from './manufacturer/manufacturer.controller.js';
import { OperatorManufacturersController } from './operator/manufacturers.controller.js';
import { OperatorNodesController } from './operator/operator-nodes.controller.js';
import { OperatorPayoutsController } from './operator/operator-payouts.controller.js';
import { OperatorRelayController } from './operator/operator-relay.controller.js';
import { OperatorQueuesController } from './operator/operator-queues.controller.js';
import { OperatorController } from './operator/operator.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { QueueMetrics } from './metrics/queue-metrics.js';
import { OwnerController } from './owner/owner.controller.js';

/** The HTTP process: operator, manufacturer and owner APIs and the device gateway. It only enqueues. */
@Module({})
export class ApiModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        DbModule,
        RedisModule,
        FleetModule,
        WorkModule,
        VerificationModule,
        LedgerModule,
        PayoutsModule,
        AuditModule,
        AlertsModule,
        NodesModule,
        ThrottlerModule.forRootAsync({
          inject: [REDIS, Reflector],
          useFactory: (redis: Redis, reflector: Reflector) => ({
            throttlers: throttlers(config, reflector),
            storage: new RedisThrottlerStorage(redis, config.REDIS_KEY_PREFIX),
          }),
        }),
        MetricsModule.forRoot('api'),
        RelayModule,
        SharesModule,
      ],
      controllers: [
        GatewayController,
        HashShareController,
        OperatorController,
        OperatorManufacturersController,
        ManufacturerController,
        DevicesController,
        GroupsController,
        OwnerController,
        HealthController,
        AlertsController,
        OperatorNodesController,
        OperatorQueuesController,
        OperatorPayoutsController,
        MetricsController,
        OperatorRelayController,
      ],
      providers: [
        DeviceAuthGuard,
        EarningsService,
        ManufacturerAuthGuard,
        OperatorAuthGuard,
        OwnerAuthGuard,
        DeviceDetailService,
        QueueRegistry,
        AuthFailures,
        QueueMetrics,
        { provide: APP_GUARD, useClass: ApiThrottlerGuard },
        DependencyMonitor,
      ],
    };
  }
}
