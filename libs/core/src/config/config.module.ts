import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CONFIG, parseConfig, type Config } from './config.js';

@Global()
@Module({})
export class ConfigModule {
  /** The process's configuration: from the environment unless a test hands one in. */
  static forRoot(config: Config = parseConfig(process.env)): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] };
  }
}
