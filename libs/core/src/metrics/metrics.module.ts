import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Metrics } from './metrics.js';

/** The process's one Metrics registry, injectable everywhere (`app` labels every series). */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(app: string): DynamicModule {
    return { module: MetricsModule, providers: [{ provide: Metrics, useValue: new Metrics(app) }], exports: [Metrics] };
  }
}
