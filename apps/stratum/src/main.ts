import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseConfig, type Config } from '@idlemint/core';
import { StratumModule } from './stratum.module.js';
import { StratumServer } from './stratum.server.js';

export async function createStratum(config: Config): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(StratumModule.forRoot(config), {
    logger: config.LOG_LEVEL === 'silent' ? false : ['log', 'warn', 'error'],
  });
  app.enableShutdownHooks();
  return app;
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const app = await createStratum(config);
  console.log(`stratum: listening on ${config.STRATUM_HOST}:${app.get(StratumServer).port()}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
