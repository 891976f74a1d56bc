import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, DbModule, RedisModule, type Config } from '@idlemint/core';
import { SharesModule } from '@idlemint/shares';
import { StratumServer } from './stratum.server.js';

/** The Stratum v1 gateway process: no HTTP, one TCP server over the hash-share services. */
@Module({})
export class StratumModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: StratumModule,
      imports: [ConfigModule.forRoot(config), DbModule, RedisModule, SharesModule],
      providers: [StratumServer],
      exports: [StratumServer],
    };
  }
}
