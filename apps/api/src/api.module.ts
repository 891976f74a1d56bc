import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, DbModule, RedisModule, type Config } from '@idlemint/core';
import { FleetModule } from '@idlemint/fleet';
import { LedgerModule } from '@idlemint/ledger';
import { PayoutsModule } from '@idlemint/payouts';
import { VerificationModule } from '@idlemint/verification';
import { WorkModule } from '@idlemint/work';
import { DeviceAuthGuard } from './gateway/device-auth.guard.js';
import { EarningsService } from './gateway/earnings.service.js';
import { GatewayController } from './gateway/gateway.controller.js';
import { HealthController } from './health/health.controller.js';
import { ManufacturerController } from './manufacturer/manufacturer.controller.js';
import { OperatorController } from './operator/operator.controller.js';
import { OwnerController } from './owner/owner.controller.js';

/** The HTTP process: operator, manufacturer and owner APIs and the device gateway. It only enqueues. */
@Module({})
export class ApiModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), DbModule, RedisModule, FleetModule, WorkModule, VerificationModule, LedgerModule, PayoutsModule],
      controllers: [GatewayController, OperatorController, ManufacturerController, OwnerController, HealthController],
      providers: [DeviceAuthGuard, EarningsService],
    };
  }
}
