// Generates the Prisma clients of the platform and of the reference node.
// The Prisma CLI tries to download its schema engine first and cannot here; `generate` does not
// need it, so any existing file satisfies the check (see BRIEF: known facts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/true';
for (const schema of ['prisma/schema.prisma', 'apps/node/prisma/schema.prisma']) {
  if (!existsSync(schema)) continue;
  execFileSync('npx', ['prisma', 'generate', '--schema', schema], { stdio: 'inherit', env });
}
