import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from '@idlemint/core';
import type { NodeStats } from '@idlemint/protocol';
import { ADVERSARIES, progressLine, runFleet, type Behaviour, type FleetSummary } from '../apps/sim/src/index.js';
import { startStack } from './lib/stack.js';

/**
 * `npm run bench:integrity`: the platform with two manufacturers' fleets in one device class
 * (BENCH_DEVICES in all), 30% of each fleet adversaries of every kind (the old ones and the
 * patient ones: turncoat, targeted, cartel, sybil, sleeper), until BENCH_UNITS units are verified
 * (default 100,000) or BENCH_MAX_MINUTES pass. Ends with
 *   integrity: units=N wrong_relayed=N wrong_relayed_unretracted=N retracted=N adversary_earnings_pct=X
 *              replicas_per_unit=X replicas_per_relayed_unit=X quarantine_units_p50=N turncoat_lies_before_quarantine_p50=N
 * A benchmark prints figures; it asserts nothing.
 */
const UNITS = Number(process.env.BENCH_UNITS ?? 100_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const ADVERSARY_SHARE = Number(process.env.BENCH_ADVERSARY_SHARE ?? 0.3);
const MAX_MINUTES = Number(process.env.BENCH_MAX_MINUTES ?? 240);
const OPERATOR_KEY = 'bench-operator-key-0123456789';
/** Adversaries that answer wrongly (the slowpoke answers right, only too late). */
const LIARS: Behaviour[] = ADVERSARIES.filter((b) => b !== 'slowpoke');

const p50 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : -1);

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
      // long enough that a patient liar's early rewards are still immature when it is caught
      MATURITY_MS: '900000',
      INGEST_EVERY_MS: '500',
      INGEST_MAX_OPEN_UNITS: '600',
      INGEST_BATCH: '1000',
      DEVICE_RATE_PER_MIN: '6000',
      AUDIT_RATE: process.env.BENCH_AUDIT_RATE ?? '0.1',
      AUDIT_DELAY_MS: '3000',
    },
    nodeEnv: { PENDING_SEED: '6000', PENDING_RATE: '400' },
  });
  const db = new pg.Pool({ connectionString: stack.databases[0], max: 2 });
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  let stopping = false;
  const interrupt = () => {
    stopping = true;
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const mix = Object.fromEntries(ADVERSARIES.map((b) => [b, ADVERSARY_SHARE / ADVERSARIES.length]));
    let verified = 0;
    const poll = setInterval(() => {
      void count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'verified'`).then((n) => (verified = n));
    }, 2_000);
    const started = new Date();
    // Two manufacturers in one class: a unit's agreement must span both (docs/integrity.md).
    const fleets: FleetSummary[] = await Promise.all(
      [0, 1].map((k) =>
        runFleet({
          apiUrl: stack.apiUrl,
          operatorKey: OPERATOR_KEY,
          name: `bench-maker-${k}`,
          devices: Math.ceil(DEVICES / 2),
          mix,
          batchSize: 8,
          originNet: 20 + k,
          durationMs: MAX_MINUTES * 60_000,
          stop: () => stopping || verified >= UNITS,
          onProgress: (s) => {
            if (k === 0 && Math.floor(s.elapsedMs / 1000) % 10 === 0) console.log(`${progressLine(s)} units_verified=${verified}`);
          },
        }),
      ),
    );
    clearInterval(poll);
    const ended = new Date();
    const midpoint = new Date((started.getTime() + ended.getTime()) / 2);
    const byBehaviour = (b: Behaviour) => fleets.flatMap((f) => f.devicesByBehaviour[b] ?? []);

    const units = await count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'verified'`);
    let wrongRelayed = 0;
    let wrongUnretracted = 0;
    for (const n of stack.nodes) {
      const stats = (await (await fetch(`${n.url}/v1/stats`)).json()) as NodeStats;
      wrongRelayed += Number(stats.verdicts.wrong);
      wrongUnretracted += Number(stats.verdicts.wrongUnretracted);
    }
    const retracted = await count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "retractedAt" IS NOT NULL`);
    const audits = await db.query<{ status: string; n: string }>(
      `SELECT "auditStatus"::text AS status, COUNT(*)::text AS n FROM "WorkUnit" WHERE "auditStatus" IS NOT NULL GROUP BY 1 ORDER BY 1`,
    );
    const adversaryIds = ADVERSARIES.flatMap(byBehaviour);
    const honestIds = byBehaviour('honest');
    const earned = async (ids: string[]) =>
      (
        await db.query<{ total: string | null }>(
          `SELECT SUM("amount")::text AS total FROM "Reward" WHERE "status" <> 'forfeited' AND "deviceId" = ANY($1)`,
          [ids],
        )
      ).rows[0]?.total ?? '0';
    const meanAdversary = Number(await earned(adversaryIds)) / Math.max(1, adversaryIds.length);
    const meanHonest = Number(await earned(honestIds)) / Math.max(1, honestIds.length);
    // Replicas per unit decided in the second half (the fleet's steady state), all assignments
    // counted: the quorum's own, dispute replicas, audits and tie-breaks, expired leases.
    const replicas = await db.query<{ status: string; units: string; replicas: string; audits: string }>(
      `SELECT u."status"::text AS status, COUNT(DISTINCT u."id")::text AS units, COUNT(a."id")::text AS replicas,
              COUNT(a."id") FILTER (WHERE a."audit")::text AS audits
         FROM "WorkUnit" u JOIN "Assignment" a ON a."unitId" = u."id"
        WHERE u."status" <> 'open' AND u."decidedAt" >= $1 GROUP BY 1`,
      [midpoint],
    );
    const row = (s: string) => replicas.rows.find((r) => r.status === s) ?? { units: '0', replicas: '0', audits: '0' };
    const decidedUnits = replicas.rows.reduce((s, r) => s + Number(r.units), 0);
    const decidedReplicas = replicas.rows.reduce((s, r) => s + Number(r.replicas), 0);
    const replicasPerUnit = decidedReplicas / Math.max(1, decidedUnits);
    const relayedPerUnit = Number(row('verified').replicas) / Math.max(1, Number(row('verified').units));
    const auditPerUnit = Number(row('verified').audits) / Math.max(1, Number(row('verified').units));

    const liarIds = LIARS.flatMap(byBehaviour);
    const beforeQuarantine = await db.query<{ n: number }>(
      `SELECT (SELECT COUNT(*)::int FROM "Assignment" a
                WHERE a."deviceId" = d."id" AND a."status" = 'submitted' AND a."submittedAt" <= d."quarantinedAt") AS n
         FROM "Device" d WHERE d."id" = ANY($1) AND d."quarantinedAt" IS NOT NULL`,
      [liarIds],
    );
    // A turncoat's lies: its answers struck for disagreeing (with the quorum or an audit), up to its quarantine.
    const turncoatLies = await db.query<{ n: number }>(
      `SELECT (SELECT COUNT(*)::int FROM "Assignment" a
                WHERE a."deviceId" = d."id" AND a."outcome" IN ('disagreed', 'canary_failed') AND a."submittedAt" <= d."quarantinedAt") AS n
         FROM "Device" d WHERE d."id" = ANY($1) AND d."quarantinedAt" IS NOT NULL`,
      [byBehaviour('turncoat')],
    );
    const byKind = await db.query<{ status: string; n: string }>(
      `SELECT "status"::text AS status, COUNT(*)::text AS n FROM "Device" WHERE "id" = ANY($1) GROUP BY 1`,
      [adversaryIds],
    );
    const seconds = (ended.getTime() - started.getTime()) / 1000;
    console.log(
      `bench: ${units} units verified in ${seconds.toFixed(0)} s (${(units / seconds).toFixed(1)} units/s) by ${DEVICES} devices of 2 manufacturers`,
    );
    console.log(
      `bench: adversaries by status: ${byKind.rows.map((r) => `${r.status}=${r.n}`).join(' ')}; ${beforeQuarantine.rows.length} of ${liarIds.length} liars quarantined`,
    );
    for (const b of ADVERSARIES) {
      const ids = byBehaviour(b);
      const quarantined = await count(`SELECT COUNT(*) AS n FROM "Device" WHERE "id" = ANY($1) AND "status" <> 'active'`, [ids]);
      console.log(`bench: ${b}: devices=${ids.length} quarantined=${quarantined} earned=${await earned(ids)}`);
    }
    console.log(`bench: mean earnings honest=${meanHonest.toFixed(0)} adversary=${meanAdversary.toFixed(0)} (minor units, not forfeited)`);
    console.log(
      `bench: second half: ${row('verified').units} verified units took ${relayedPerUnit.toFixed(2)} replicas each ` +
        `(quorum 2, audits ${auditPerUnit.toFixed(2)}, disputes and expired leases the rest); ${row('disputed').units} disputed`,
    );
    console.log(`bench: audits by outcome: ${audits.rows.map((r) => `${r.status}=${r.n}`).join(' ') || 'none'}`);
    console.log(
      `integrity: units=${units} wrong_relayed=${wrongRelayed} wrong_relayed_unretracted=${wrongUnretracted} retracted=${retracted} ` +
        `adversary_earnings_pct=${((100 * meanAdversary) / Math.max(1, meanHonest)).toFixed(2)} ` +
        `replicas_per_unit=${replicasPerUnit.toFixed(2)} replicas_per_relayed_unit=${relayedPerUnit.toFixed(2)} ` +
        `quarantine_units_p50=${p50(beforeQuarantine.rows.map((r) => r.n))} turncoat_lies_before_quarantine_p50=${p50(turncoatLies.rows.map((r) => r.n))}`,
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
