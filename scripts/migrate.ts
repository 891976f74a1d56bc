import { createDatabase, migrate, parseConfig, platformMigrationsDir } from '@idlemint/core';

/** `npm run db:migrate`: creates the platform database if missing and applies pending migrations. */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  await createDatabase(config.DATABASE_URL);
  const { applied, skipped } = await migrate(config.DATABASE_URL, platformMigrationsDir());
  console.log(`db:migrate: ${applied.length} applied (${applied.join(', ') || 'none'}), ${skipped.length} already applied`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
