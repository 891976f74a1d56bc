import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ErrorFilter, parseConfig, type Config } from '@idlemint/core';
import { DEVICE_BODY_LIMIT } from '@idlemint/protocol';
import { mountBullBoard } from './admin/bull-board.js';
import { ApiModule } from './api.module.js';
import { mountConsole } from './console/console-static.js';
import { buildOpenApiDocument, setupDocs } from './openapi/openapi.js';

/**
 * The API application, not yet listening: routes, the error filter, OpenAPI at /docs and
 * /docs/json, Bull Board at /admin/queues. `preview` builds the module graph without instantiating
 * anything (no database, no Redis): enough for the OpenAPI document (scripts/openapi.ts). The
 * console's static files at /console/ (when built).
 */
export async function createApiApp(config: Config, { preview = false }: { preview?: boolean } = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: DEVICE_BODY_LIMIT }),
    { rawBody: true, preview, logger: config.LOG_LEVEL === 'silent' ? false : ['log', 'warn', 'error'] },
  );
  app.useGlobalFilters(new ErrorFilter());
  app.enableShutdownHooks();
  if (!preview) {
    setupDocs(app, buildOpenApiDocument(app));
    await mountBullBoard(app);
    await mountConsole(app, config);
  }
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
