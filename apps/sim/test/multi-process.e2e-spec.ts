import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';
import type { Reconciliation } from '@idlemint/payouts';
import { startStack, type Stack } from '../../../scripts/lib/stack.js';
import { startRedisCluster, type LocalRedisCluster } from '../../../test/support/redis-cluster.js';
import { TEST_PG, TEST_REDIS, dropRedisKeys, uniqueSuffix } from '../../../test/support/scratch.js';
import { runFleet, type FleetSummary } from '../src/index.js';

/**
 * Two api and two worker processes (API_PROCESSES, WORKER_PROCESSES) against one PostgreSQL and
 * one Redis, driven by a fleet: nothing is credited, relayed or paid twice, and the ledger, the
 * rewards and both nodes agree. The same again against a Redis Cluster of three masters started
 * here, which refuses any MULTI or script whose keys span slots: every queue, nonce and rate key
 * must carry a hash tag for this to pass. Needs `npm run build` first (npm test does).
 */
const OPERATOR_KEY = 'e2e-operator-key-0123456789';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function reconcile(stack: Stack): Promise<Reconciliation> {
  const res = await fetch(`${stack.apiUrl}/operator/v1/reconciliation`, { headers: { 'x-operator-key': OPERATOR_KEY } });
  expect(res.status).toBe(200);
  return (await res.json()) as Reconciliation;
}

const pidsIn = (log: string, re: RegExp) => new Set([...log.matchAll(re)].map((m) => m[1]));

describe.each([
  { redis: 'one redis', cluster: false },
  { redis: 'a redis cluster of three masters', cluster: true },
])('2 api + 2 worker processes on $redis', ({ cluster }) => {
  const tag = `mp_${cluster ? 'c' : 's'}_${uniqueSuffix()}`;
  const logDir = join(repoRoot(), '.demo', tag);
  let redisCluster: LocalRedisCluster | undefined;
  let stack: Stack;
  let fleet: FleetSummary;
  let r: Reconciliation;

  beforeAll(async () => {
    redisCluster = cluster ? await startRedisCluster(3) : undefined;
    stack = await startStack({
      tag,
      pgBase: TEST_PG,
      redisUrl: redisCluster?.url ?? TEST_REDIS,
      logDir,
      operatorKey: OPERATOR_KEY,
      platformEnv: {
        API_PROCESSES: '2',
        WORKER_PROCESSES: '2',
        REDIS_CLUSTER: cluster ? '1' : '0',
        PAYOUT_EVERY_MS: '1500',
        PAYOUT_THRESHOLD: '1400',
        INGEST_EVERY_MS: '500',
        MATURITY_MS: '1000',
      },
      nodeEnv: { PENDING_SEED: '300', PENDING_RATE: '50' },
    });
    fleet = await runFleet({ apiUrl: stack.apiUrl, operatorKey: OPERATOR_KEY, devices: 8, devicesPerOwner: 2, durationMs: 15_000 });
    // Wait (generous ceiling) until relays are delivered and a payout run has been confirmed.
    const until = Date.now() + 300_000;
    r = await reconcile(stack);
    while ((!r.ok || r.payouts.open > 0 || r.payouts.confirmed === 0 || r.relay.delivered < r.relay.expected) && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 1_000));
      r = await reconcile(stack);
    }
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
    await stack?.dropDatabases();
    if (stack && !cluster) await dropRedisKeys(stack.redisPatterns);
    await redisCluster?.stop();
  }, 120_000);

  it('ran two processes of each', () => {
    expect(pidsIn(readFileSync(join(logDir, 'api.log'), 'utf8'), /api: listening on \S+ \(pid (\d+)\)/g).size).toBe(2);
    expect(pidsIn(readFileSync(join(logDir, 'worker.log'), 'utf8'), /worker: processing .* \(pid (\d+)\)/g).size).toBe(2);
  });

  it('did real work and reconciles: ledger balanced, every unit relayed, payouts confirmed', () => {
    expect(fleet.enrolled).toBe(8);
    expect(fleet.errors).toBe(0);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.units.verified).toBeGreaterThan(5);
    expect(r.relay.expected).toBe(2 * r.units.verified);
    expect(r.relay.delivered).toBe(r.relay.expected);
    expect(r.payouts.confirmed).toBeGreaterThan(0);
  });

  it('credits each agreeing device once per unit, and the rewards add up to the ledger', async () => {
    const [platformDb] = stack.databases;
    const twice = await query(platformDb!, `SELECT "unitId", "deviceId" FROM "Reward" GROUP BY 1, 2 HAVING COUNT(*) > 1`);
    expect(twice).toEqual([]);
    const rewards = await query<{ n: number; total: string }>(
      platformDb!,
      `SELECT COUNT(*)::int AS n, COALESCE(SUM("amount"), 0)::text AS total FROM "Reward"`,
    );
    expect(rewards[0]!.n).toBeGreaterThan(0);
    expect(rewards[0]!.total).toBe(r.ledger.rewardsIssued);
    // No reward without a submitted result of that device on a verified unit.
    const orphans = await query(
      platformDb!,
      `SELECT w."id" FROM "Reward" w JOIN "WorkUnit" u ON u."id" = w."unitId"
        WHERE u."status" <> 'verified'
           OR NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."unitId" = w."unitId" AND a."deviceId" = w."deviceId" AND a."status" = 'submitted')`,
    );
    expect(orphans).toEqual([]);
  });

  it('relays each verified unit to each node exactly once, and pays each payout once', async () => {
    const [platformDb, ...nodeDbs] = stack.databases;
    const verified = await query<{ id: string }>(platformDb!, `SELECT "id" FROM "WorkUnit" WHERE "status" = 'verified'`);
    const paid = await query<{ idempotencyKey: string; amount: string }>(
      platformDb!,
      `SELECT "idempotencyKey", "amount"::text AS amount FROM "Payout" WHERE "status" = 'confirmed' ORDER BY 1`,
    );
    for (const nodeDb of nodeDbs) {
      const log = await query<{ unitId: string }>(nodeDb, `SELECT "unitId" FROM "LogEntry"`);
      expect(log).toHaveLength(verified.length);
      expect(new Set(log.map((l) => l.unitId))).toEqual(new Set(verified.map((u) => u.id)));
    }
    const nodePayouts = (
      await Promise.all(
        nodeDbs.map((db) =>
          query<{ idempotencyKey: string; amount: string }>(
            db,
            `SELECT "idempotencyKey", "amount"::text AS amount FROM "Payout" WHERE "status" = 'confirmed'`,
          ),
        ),
      )
    ).flat();
    expect(nodePayouts.map((p) => `${p.idempotencyKey}=${p.amount}`).sort()).toEqual(
      paid.map((p) => `${p.idempotencyKey}=${p.amount}`).sort(),
    );
  });
});
