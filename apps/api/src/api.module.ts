import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AlertsModule } from '@idlemint/alerts';
import { AuditModule } from '@idlemint/audit';
import { ConfigModule, DbModule, RedisModule, type Config } from '@idlemint/core';
import { FleetModule } from '@idlemint/fleet';
import { LedgerModule } from '@idlemint/ledger';
import { NodesModule } from '@idlemint/nodes';
import { PayoutsModule } from '@idlemint/payouts';
import { VerificationModule } from '@idlemint/verification';
import { SharesModule } from '@idlemint/shares';
import { WorkModule } from '@idlemint/work';
import { QueueRegistry } from './admin/queue-registry.js';
import { DeviceAuthGuard } from './gateway/device-auth.guard.js';
import { EarningsService } from './gateway/earnings.service.js';
import { GatewayController } from './gateway/gateway.controller.js';
import { HashShareController } from './gateway/hash-share.controller.js';
import { HealthController } from './health/health.controller.js';
import { RateLimitGuard } from './http/rate-limit.guard.js';
import { AlertsController } from './manufacturer/alerts.controller.js';
import { ManufacturerAuthGuard, OperatorAuthGuard } from './common/auth.js';
import { DeviceDetailService } from './manufacturer/device-detail.service.js';
import { DevicesController } from './manufacturer/devices.controller.js';
import { GroupsController } from './manufacturer/groups.controller.js';
import { ManufacturerController } from './manufacturer/manufacturer.controller.js';
import { OperatorManufacturersController } from './operator/manufacturers.controller.js';
import { OperatorNodesController } from './operator/operator-nodes.controller.js';
import { OperatorPayoutsController } from './operator/operator-payouts.controller.js';
import { OperatorQueuesController } from './operator/operator-queues.controller.js';
import { OperatorController } from './operator/operator.controller.js';
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
      ],
      providers: [
        DeviceAuthGuard,
        EarningsService,
        ManufacturerAuthGuard,
        OperatorAuthGuard,
        DeviceDetailService,
        QueueRegistry,
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
