import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createDatabase, migrate, nodeMigrationsDir } from '@idlemint/core';
import { NODE_BODY_LIMIT } from '@idlemint/protocol';
import pino, { type Logger as Pino } from 'pino';
import type { LoggerService } from '@nestjs/common';
import type { NodeConfig } from './config.js';
import { NodeModule } from './node.module.js';

/** Nest's own chatter (module and route lines) goes to debug; warnings and errors stay. */
class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}
  log(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.pino.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
}

export function nodeLogger(config: NodeConfig): Pino {
  return pino({ level: config.LOG_LEVEL, base: { app: 'node', node: config.NODE_NAME } });
}

/**
 * The node, ready to listen: its database created when missing and migrated, the seed batch of
 * pending transactions in place. Tests start it in-process; main.ts listens on the configured port.
 */
export async function createNodeApp(config: NodeConfig, logger: Pino = nodeLogger(config)): Promise<NestFastifyApplication> {
  await createDatabase(config.NODE_DATABASE_URL);
  await migrate(config.NODE_DATABASE_URL, nodeMigrationsDir());
  const app = await NestFactory.create<NestFastifyApplication>(
    NodeModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: NODE_BODY_LIMIT }),
    { rawBody: true, logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.init();
  return app;
}
