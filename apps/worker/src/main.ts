import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { parseConfig, runProcesses, type Config } from '@idlemint/core';
import { WorkerModule } from './worker.module.js';

export async function createWorker(config: Config): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: config.LOG_LEVEL === 'silent' ? false : ['log', 'warn', 'error'],
  });
  app.enableShutdownHooks();
  return app;
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  // WORKER_PROCESSES copies: BullMQ spreads jobs over them, the outbox is taken with SKIP LOCKED.
  await runProcesses('worker', config.WORKER_PROCESSES, async () => {
    await createWorker(config);
    console.log(`worker: processing relay, payouts, ingest and alerts; dispatching the outbox (pid ${process.pid})`);
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
