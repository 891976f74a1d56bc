import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  clientErrorHandler,
  createLogger,
  ErrorFilter,
  exitWithin,
  frameworkErrors,
  Metrics,
  observeHttp,
  parseConfig,
  PinoNestLogger,
  requestIdOf,
  runProcesses,
  type Config,
} from '@idlemint/core';
import { DEVICE_BODY_LIMIT } from '@idlemint/protocol';
import { mountBullBoard } from './admin/bull-board.js';
import { ApiModule } from './api.module.js';
import { installAdmission } from './http/admission.js';
import { mountConsole } from './console/console-static.js';
import { buildOpenApiDocument, setupDocs } from './openapi/openapi.js';

/**
 * The API application, not yet listening: routes, the error filter, OpenAPI at /docs and
 * /docs/json, Bull Board at /admin/queues. `preview` builds the module graph without instantiating
 * anything (no database, no Redis): enough for the OpenAPI document (scripts/openapi.ts). The
 * console's static files at /console/ (when built).
 */
export async function createApiApp(config: Config, { preview = false }: { preview?: boolean } = {}): Promise<NestFastifyApplication> {
  const log = createLogger(config, 'api');
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot(config),
    new FastifyAdapter({
      bodyLimit: DEVICE_BODY_LIMIT,
      trustProxy: config.TRUST_PROXY,
      genReqId: requestIdOf,
      frameworkErrors,
      clientErrorHandler,
    }),
    { rawBody: true, preview, logger: new PinoNestLogger(log) },
  );
  app.useGlobalFilters(new ErrorFilter());
  if (!preview) observeHttp(app.getHttpAdapter().getInstance(), log, app.get(Metrics));
  app.enableShutdownHooks();
  if (!preview) {
    installAdmission(app, config);
    setupDocs(app, buildOpenApiDocument(app));
    await mountBullBoard(app);
    await mountConsole(app, config);
  }
  return app;
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  exitWithin(9_000, 'api');
  // API_PROCESSES copies share the port; each is a whole api (the device gateway is CPU-bound).
  await runProcesses('api', config.API_PROCESSES, async () => {
    const app = await createApiApp(config);
    await app.listen(config.API_PORT, config.API_HOST);
    createLogger(config, 'api').info(`api: listening on http://${config.API_HOST}:${config.API_PORT} (pid ${process.pid})`);
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
