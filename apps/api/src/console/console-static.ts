import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { repoRoot, type Config } from '@idlemint/core';

export const CONSOLE_PATH = '/console';
/** Where `npm run build` puts the console's static files (apps/console/vite.config.mts). */
export const consoleDir = (): string => join(repoRoot(), 'dist', 'console');

/**
 * The console (apps/console) as static files at /console/: the files carry no secret (the
 * browser signs in against the public APIs), so no authentication here. Hashed assets are cached
 * for good, index.html never; the page may not be framed and sends no referrer. Nothing is served
 * when the console was not built (a warning says so). /console/settings.json: the currency.
 */
export async function mountConsole(app: NestFastifyApplication, config: Config): Promise<boolean> {
  const root = consoleDir();
  if (!existsSync(join(root, 'index.html'))) {
    console.warn(`api: no console at ${root} (run npm run build); ${CONSOLE_PATH} is not served`);
    return false;
  }
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(async (scope) => {
    scope.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-content-type-options', 'nosniff');
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
      );
      reply.header('cache-control', req.url.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-store');
    });
    scope.get(CONSOLE_PATH, (_req, reply) => reply.redirect(`${CONSOLE_PATH}/`));
    // Public settings the console formats with (the operator answers carry minor units only).
    scope.get(`${CONSOLE_PATH}/settings.json`, () => ({ currency: config.CURRENCY }));
    await scope.register(fastifyStatic, { root, prefix: `${CONSOLE_PATH}/`, index: ['index.html'], wildcard: true });
  });
  return true;
}
