import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, repoRoot } from '@idlemint/core';
import { createApiApp } from '../apps/api/src/main.js';
import { buildOpenApiDocument } from '../apps/api/src/openapi/openapi.js';

/**
 * Writes openapi.json at the repository root from the controllers: the api built in preview mode
 * (no database, no Redis, nothing listening), keys sorted, two-space indentation, final newline.
 * `npm run openapi`; apps/api/test/openapi.int-spec.ts fails when the committed file is stale.
 */
export const OPENAPI_FILE = (): string => join(repoRoot(), 'openapi.json');

export async function renderOpenApi(): Promise<string> {
  const app = await createApiApp(parseConfig({ LOG_LEVEL: 'silent' }), { preview: true });
  try {
    return `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const text = await renderOpenApi();
  const file = OPENAPI_FILE();
  let before = '';
  try {
    before = readFileSync(file, 'utf8');
  } catch {
    // first run
  }
  writeFileSync(file, text);
  const paths = Object.keys((JSON.parse(text) as { paths: object }).paths).length;
  console.log(`openapi: ${file} ${before === text ? 'unchanged' : 'written'} (${paths} paths)`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
