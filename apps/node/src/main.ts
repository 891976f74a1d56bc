import 'reflect-metadata';
import { exitWithin } from '@idlemint/core';
import { parseNodeConfig } from './config.js';
import { createNodeApp, nodeLogger } from './node-app.js';

export { createNodeApp } from './node-app.js';

/** Starts the node from the environment: database created and migrated, then listening. */
export async function runNode(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseNodeConfig(env);
  if (require.main === module) exitWithin(9_000, 'node');
  const logger = nodeLogger(config);
  const app = await createNodeApp(config, logger);
  await app.listen({ host: config.NODE_HOST, port: config.NODE_PORT });
  logger.info({ url: await app.getUrl(), database: new URL(config.NODE_DATABASE_URL).pathname.slice(1) }, 'node listening');
}

export function exitOnFailure(e: unknown): never {
  console.error(e);
  process.exit(1);
}

if (require.main === module) runNode().catch(exitOnFailure);
