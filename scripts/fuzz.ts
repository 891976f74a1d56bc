import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDatabase, deleteKeys, dropDatabase, migrate, parseConfig, platformMigrationsDir } from '@idlemint/core';
import { createApiApp } from '../apps/api/src/main.js';
import { OPENAPI_FILE } from './openapi.js';
import { fuzzFixtures, fuzzLine, runFuzz, type OpenApi } from './lib/fuzz.js';

/**
 * `npm run fuzz`: the spec-driven fuzz of the whole api (scripts/lib/fuzz.ts). Makes a scratch
 * database, migrates it, starts the api on it (budgets lifted: the fuzz is one client), makes its
 * tenant, device and owner through the API, then sends FUZZ_PER_OP (default 175) mutated requests
 * for every operation of openapi.json, ~10k in all. Ends with one line and exits 0 only when no
 * answer was a 5xx and every error was in the `{ error: { code, message } }` envelope:
 *
 *   fuzz: requests=N 5xx=0 envelope_violations=0
 */
const OPERATOR_KEY = `fuzz-operator-key-${randomBytes(8).toString('hex')}`;
const PG = process.env.FUZZ_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS = process.env.FUZZ_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PER_OP = Number(process.env.FUZZ_PER_OP ?? 175);
const SEED = Number(process.env.FUZZ_SEED ?? 9);

async function main(): Promise<number> {
  const tag = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = `${PG}/idlemint_fuzz_${tag}`;
  const config = parseConfig({
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    REDIS_URL: REDIS,
    QUEUE_PREFIX: `{imt_fuzz_${tag}}`,
    REDIS_KEY_PREFIX: `imt_fuzz_${tag}:`,
    OPERATOR_KEY,
    MANUFACTURER_RATE_PER_MIN: '10000000',
    OWNER_RATE_PER_MIN: '10000000',
    OPERATOR_RATE_PER_MIN: '10000000',
    ANON_RATE_PER_MIN: '10000000',
    AUTH_FAILURES_PER_MIN: '10000000',
    DEVICE_RATE_PER_MIN: '10000000',
    ALLOW_PRIVATE_WEBHOOKS: 'true',
  });
  await createDatabase(url);
  let app: Awaited<ReturnType<typeof createApiApp>> | undefined;
  try {
    await migrate(url, platformMigrationsDir());
    app = await createApiApp(config);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const doc = JSON.parse(readFileSync(OPENAPI_FILE(), 'utf8')) as OpenApi;
    const fixtures = await fuzzFixtures(base, OPERATOR_KEY);
    const started = Date.now();
    const result = await runFuzz(base, doc, fixtures, {
      perOperation: PER_OP,
      seed: SEED,
      onNode: async (id) => {
        await fetch(`${base}/operator/v1/nodes/${id}/disable`, { method: 'POST', headers: { 'x-operator-key': OPERATOR_KEY } });
      },
    });
    const statuses = Object.entries(result.byStatus)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    console.log(
      `fuzz: ${Object.keys(doc.paths).length} paths, seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${statuses}`,
    );
    for (const s of result.samples) console.log(`  ${s}`);
    console.log(fuzzLine(result));
    return result.serverErrors === 0 && result.envelopeViolations === 0 ? 0 : 1;
  } finally {
    await app?.close().catch(() => undefined);
    await dropDatabase(url).catch(() => undefined);
    await deleteKeys(REDIS, [`{imt_fuzz_${tag}}:*`, `imt_fuzz_${tag}:*`]).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
