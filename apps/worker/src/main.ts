import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { createLogger, exitWithin, Metrics, parseConfig, PinoNestLogger, runProcesses, type Config } from '@idlemint/core';
import { startMetricsServer } from './metrics-server.js';
import { WorkerModule } from './worker.module.js';

export async function createWorker(config: Config): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: new PinoNestLogger(createLogger(config, 'worker')),
  });
  app.enableShutdownHooks();
  return app;
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  exitWithin(9_000, 'worker');
  const log = createLogger(config, 'worker');
  // WORKER_PROCESSES copies: BullMQ spreads jobs over them, the outbox is taken with SKIP LOCKED;
  // their metrics endpoints share the port (node:cluster), each scrape answered by one of them.
  await runProcesses('worker', config.WORKER_PROCESSES, async () => {
    const app = await createWorker(config);
    log.info(`worker: processing relay, payouts, ingest and alerts; dispatching the outbox (pid ${process.pid})`);
    const { url } = await startMetricsServer(app.get(Metrics), config.METRICS_HOST, config.WORKER_METRICS_PORT);
    log.info(`worker: metrics at ${url}`);
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
