import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ErrorFilter, parseConfig, type Config } from '@idlemint/core';
import { DEVICE_BODY_LIMIT } from '@idlemint/protocol';
import { ApiModule } from './api.module.js';

export async function createApiApp(config: Config): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: DEVICE_BODY_LIMIT }),
    { rawBody: true, logger: config.LOG_LEVEL === 'silent' ? false : ['log', 'warn', 'error'] },
  );
  app.useGlobalFilters(new ErrorFilter());
  app.enableShutdownHooks();
  return app;
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const app = await createApiApp(config);
  await app.listen(config.API_PORT, config.API_HOST);
  console.log(`api: listening on http://${config.API_HOST}:${config.API_PORT}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
