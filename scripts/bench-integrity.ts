import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from '@idlemint/core';
import type { NodeStats } from '@idlemint/protocol';
import { ADVERSARIES, progressLine, runFleet, type Behaviour } from '../apps/sim/src/index.js';
import { startStack } from './lib/stack.js';

/**
 * `npm run bench:integrity`: the platform with 200 devices, 20% of them adversaries of every kind
 * (lazy, random, flipper, ring, replayer, slowpoke), until 20,000 units are verified. Ends with
 *   integrity: units=N wrong_relayed=N adversary_earnings_pct=X replicas_per_unit=X quarantine_units_p50=N
 * A benchmark prints figures; it asserts nothing. UNITS and DEVICES can be lowered for a quick look.
 */
const UNITS = Number(process.env.BENCH_UNITS ?? 20_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const ADVERSARY_SHARE = 0.2;
const MAX_MINUTES = Number(process.env.BENCH_MAX_MINUTES ?? 40);
const OPERATOR_KEY = 'bench-operator-key-0123456789';
/** Adversaries that answer wrongly (the slowpoke answers right, only too late). */
const LIARS: Behaviour[] = ['lazy', 'random', 'flipper', 'ring', 'replayer'];

async function main(): Promise<void> {
  const pgBase = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  const stack = await startStack({
    tag: 'bench_integrity',
    pgBase,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    logDir: join(repoRoot(), '.demo', 'bench-integrity'),
    operatorKey: OPERATOR_KEY,
    platformEnv: {
      LOG_LEVEL: 'warn',
      LEASE_MS: '8000',
      MATURITY_MS: '10000',
      INGEST_EVERY_MS: '500',
      INGEST_MAX_OPEN_UNITS: '600',
      INGEST_BATCH: '1000',
      DEVICE_RATE_PER_MIN: '6000',
    },
    nodeEnv: { PENDING_SEED: '6000', PENDING_RATE: '400' },
  });
  const db = new pg.Pool({ connectionString: stack.databases[0], max: 2 });
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  try {
    const mix = Object.fromEntries(ADVERSARIES.map((b) => [b, ADVERSARY_SHARE / ADVERSARIES.length]));
    let verified = 0;
    const poll = setInterval(() => {
      void count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'verified'`).then((n) => (verified = n));
    }, 2_000);
    const started = new Date();
    const fleet = await runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      devices: DEVICES,
      mix,
      batchSize: 8,
      durationMs: MAX_MINUTES * 60_000,
      stop: () => verified >= UNITS,
      onProgress: (s) => {
        if (Math.floor(s.elapsedMs / 1000) % 10 === 0) console.log(`${progressLine(s)} units_verified=${verified}`);
      },
    });
    clearInterval(poll);
    const ended = new Date();
    const midpoint = new Date((started.getTime() + ended.getTime()) / 2);

    const units = await count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'verified'`);
    let wrongRelayed = 0;
    for (const n of stack.nodes) {
      const stats = (await (await fetch(`${n.url}/v1/stats`)).json()) as NodeStats;
      wrongRelayed += Number(stats.verdicts.wrong);
    }
    const adversaryIds = ADVERSARIES.flatMap((b) => fleet.devicesByBehaviour[b] ?? []);
    const honestIds = fleet.devicesByBehaviour.honest ?? [];
    const earned = async (ids: string[]) =>
      (
        await db.query<{ total: string | null }>(
          `SELECT SUM("amount")::text AS total FROM "Reward" WHERE "status" <> 'forfeited' AND "deviceId" = ANY($1)`,
          [ids],
        )
      ).rows[0]?.total ?? '0';
    const meanAdversary = Number(await earned(adversaryIds)) / Math.max(1, adversaryIds.length);
    const meanHonest = Number(await earned(honestIds)) / Math.max(1, honestIds.length);
    const secondHalf = await db.query<{ units: string; replicas: string }>(
      `SELECT COUNT(DISTINCT u."id")::text AS units, COUNT(a."id")::text AS replicas
         FROM "WorkUnit" u JOIN "Assignment" a ON a."unitId" = u."id"
        WHERE u."status" = 'verified' AND u."decidedAt" >= $1`,
      [midpoint],
    );
    const replicasPerUnit = Number(secondHalf.rows[0]!.replicas) / Math.max(1, Number(secondHalf.rows[0]!.units));
    const liarIds = LIARS.flatMap((b) => fleet.devicesByBehaviour[b] ?? []);
    const beforeQuarantine = await db.query<{ n: number }>(
      `SELECT (SELECT COUNT(*)::int FROM "Assignment" a
                WHERE a."deviceId" = d."id" AND a."status" = 'submitted' AND a."submittedAt" <= d."quarantinedAt") AS n
         FROM "Device" d WHERE d."id" = ANY($1) AND d."quarantinedAt" IS NOT NULL ORDER BY 1`,
      [liarIds],
    );
    const counts = beforeQuarantine.rows.map((r) => r.n);
    const p50 = counts.length ? counts[Math.floor((counts.length - 1) / 2)]! : -1;
    const byKind = await db.query<{ status: string; n: string }>(
      `SELECT "status"::text AS status, COUNT(*)::text AS n FROM "Device" WHERE "id" = ANY($1) GROUP BY 1`,
      [adversaryIds],
    );
    const seconds = (ended.getTime() - started.getTime()) / 1000;
    console.log(
      `bench: ${units} units verified in ${seconds.toFixed(0)} s (${(units / seconds).toFixed(1)} units/s) by ${DEVICES} devices`,
    );
    console.log(
      `bench: adversaries by status: ${byKind.rows.map((r) => `${r.status}=${r.n}`).join(' ')}; ${counts.length} of ${liarIds.length} liars quarantined`,
    );
    console.log(`bench: mean earnings honest=${meanHonest.toFixed(0)} adversary=${meanAdversary.toFixed(0)} (minor units, not forfeited)`);
    console.log(
      `integrity: units=${units} wrong_relayed=${wrongRelayed} adversary_earnings_pct=${((100 * meanAdversary) / Math.max(1, meanHonest)).toFixed(2)} ` +
        `replicas_per_unit=${replicasPerUnit.toFixed(2)} quarantine_units_p50=${p50}`,
    );
  } finally {
    await db.end();
    await stack.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
