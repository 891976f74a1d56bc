import { Inject, Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ErrorFilter } from '@idlemint/core';
import { PlatformAuthGuard } from './auth/platform-auth.guard.js';
import { NODE_CONFIG, type NodeConfig } from './config.js';
import { NodePrismaService } from './db/node-prisma.service.js';
import { PayoutsController } from './payouts/payouts.controller.js';
import { PayoutsRepository } from './payouts/payouts.repository.js';
import { PayoutsService } from './payouts/payouts.service.js';
import { PendingGeneratorService } from './pending/pending-generator.service.js';
import { PendingController } from './pending/pending.controller.js';
import { PendingRepository } from './pending/pending.repository.js';
import { PowController } from './pow/pow.controller.js';
import { PowRepository } from './pow/pow.repository.js';
import { PowService } from './pow/pow.service.js';
import { PlatformKeysController } from './platform-keys/platform-keys.controller.js';
import { PlatformKeysRepository } from './platform-keys/platform-keys.repository.js';
import { PlatformKeysService } from './platform-keys/platform-keys.service.js';
import { LogRepository } from './relay/log.repository.js';
import { RelayController } from './relay/relay.controller.js';
import { RelayService } from './relay/relay.service.js';
import { StatsController } from './stats/stats.controller.js';
import { StatsService } from './stats/stats.service.js';

/** The reference trusted node: one small module, its own database, every route platform-signed unless @Public. */
@Module({})
export class NodeModule implements OnApplicationBootstrap {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly payouts: PayoutsRepository,
  ) {}

  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: NodeModule,
      controllers: [PendingController, RelayController, PayoutsController, StatsController, PlatformKeysController, PowController],
      providers: [
        { provide: NODE_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: PlatformAuthGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
        NodePrismaService,
        PendingRepository,
        PendingGeneratorService,
        LogRepository,
        RelayService,
        PayoutsRepository,
        PayoutsService,
        StatsService,
        PlatformKeysRepository,
        PlatformKeysService,
        PowRepository,
        PowService,
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.payouts.openTreasury(this.config.TREASURY_BALANCE);
  }
}
