import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reconciliation } from '@idlemint/payouts';
import { repoRoot } from '@idlemint/core';
import { join } from 'node:path';
import { startStack, type Stack } from '../../../scripts/lib/stack.js';
import { TEST_PG, TEST_REDIS, dropRedisKeys, uniqueSuffix } from '../../../test/support/scratch.js';
import { runFleet, type FleetSummary } from '../src/index.js';

/**
 * The whole path on the real stack: the built api, worker and two reference nodes as processes on
 * scratch databases, and a small fleet (one liar) driven through enroll → claim → result →
 * verified → credited → relayed to both nodes → paid. Needs `npm run build` first (npm test does).
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

describe('fleet end to end', () => {
  const tag = `e2e_${uniqueSuffix()}`;
  let stack: Stack;
  let fleet: FleetSummary;
  let r: Reconciliation;

  beforeAll(async () => {
    stack = await startStack({
      tag,
      pgBase: TEST_PG,
      redisUrl: TEST_REDIS,
      logDir: join(repoRoot(), '.demo', tag),
      operatorKey: OPERATOR_KEY,
      platformEnv: { PAYOUT_EVERY_MS: '1500', PAYOUT_THRESHOLD: '1400', INGEST_EVERY_MS: '500', MATURITY_MS: '1000' },
      nodeEnv: { PENDING_SEED: '300', PENDING_RATE: '50' },
    });
    // The fleet runs until the platform has what the tests look at (units verified, the liar caught
    // by a canary), not for a fixed time: a busy machine only makes it take longer.
    const [platformDb] = stack.databases;
    let enough = false;
    const watch = setInterval(() => {
      void query<{ verified: number; caught: number }>(
        platformDb!,
        `SELECT (SELECT COUNT(*)::int FROM "WorkUnit" WHERE "status" = 'verified') AS verified,
                (SELECT COUNT(*)::int FROM "Assignment" WHERE "outcome" = 'canary_failed') AS caught`,
      ).then(
        ([row]) => (enough = row!.verified >= 8 && row!.caught >= 1),
        () => undefined,
      );
    }, 500);
    try {
      fleet = await runFleet({
        apiUrl: stack.apiUrl,
        operatorKey: OPERATOR_KEY,
        devices: 8,
        liars: 1 / 8,
        devicesPerOwner: 2,
        durationMs: 240_000, // a ceiling only
        stop: () => enough,
      });
    } finally {
      clearInterval(watch);
    }
    // Let relays and a payout run settle: poll until reconciled, under a generous ceiling.
    const until = Date.now() + 120_000;
    r = await reconcile(stack);
    while ((!r.ok || r.payouts.open > 0 || r.payouts.confirmed === 0) && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 1_000));
      r = await reconcile(stack);
    }
  }, 420_000);

  afterAll(async () => {
    await stack?.stop();
    await stack?.dropDatabases();
    if (stack) await dropRedisKeys(stack.redisPatterns);
  }, 60_000);

  it('verifies units and reconciles the ledger with both nodes', () => {
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(fleet.enrolled).toBe(8);
    expect(r.units.verified).toBeGreaterThan(5);
    expect(r.relay.delivered).toBe(r.relay.expected);
    expect(r.nodes).toHaveLength(2);
  });

  it('relays every verified unit to both nodes, with correct verdicts only', async () => {
    const [platformDb, ...nodeDbs] = stack.databases;
    const verified = await query<{ id: string; verdicts: string }>(
      platformDb!,
      `SELECT "id", "verdicts" FROM "WorkUnit" WHERE "status" = 'verified'`,
    );
    for (const nodeDb of nodeDbs) {
      const log = await query<{ unitId: string; payload: { verdicts: string; results: unknown[] } }>(
        nodeDb,
        `SELECT "unitId", "payload" FROM "LogEntry"`,
      );
      expect(new Set(log.map((l) => l.unitId))).toEqual(new Set(verified.map((u) => u.id)));
      for (const l of log) {
        expect(l.payload.verdicts).toBe(verified.find((u) => u.id === l.unitId)!.verdicts);
        expect(l.payload.results.length).toBeGreaterThanOrEqual(1);
      }
      // Every verdict a node recorded on its own transactions is the truth.
      const wrong = await query<{ n: string }>(
        nodeDb,
        `SELECT COUNT(*)::text AS n FROM "PendingTx" WHERE "verdict" IS NOT NULL AND "verdict" <> "valid"`,
      );
      expect(wrong[0]!.n).toBe('0');
    }
    const recorded = await query<{ n: string }>(nodeDbs[0]!, `SELECT COUNT(*)::text AS n FROM "PendingTx" WHERE "verdict" IS NOT NULL`);
    expect(Number(recorded[0]!.n)).toBeGreaterThan(0);
  });

  it('gives the liar nothing and catches it with canaries', async () => {
    expect(fleet.liarCredited).toBe(0n);
    expect(fleet.honestCredited).toBeGreaterThan(0n);
    const [platformDb] = stack.databases;
    const liarId = fleet.deviceIds.liars[0]!;
    const rows = await query<{ outcome: string | null }>(
      platformDb!,
      `SELECT "outcome"::text AS outcome FROM "Assignment" WHERE "deviceId" = $1 AND "status" = 'submitted'`,
      [liarId],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((x) => x.outcome === 'canary_failed')).toBe(true);
    const postings = await query<{ n: string }>(
      platformDb!,
      `SELECT COUNT(*)::text AS n FROM "Posting" p JOIN "LedgerAccount" a ON a."id" = p."accountId" WHERE a."code" = $1`,
      [`device:${liarId}`],
    );
    expect(postings[0]!.n).toBe('0');
    expect(r.work.canariesCaught).toBeGreaterThan(0);
  });

  it('pays owners through the payout node, exactly what the ledger settled', async () => {
    expect(r.payouts.confirmed).toBeGreaterThan(0);
    expect(r.payouts.open).toBe(0);
    const [platformDb, nodeA, nodeB] = stack.databases;
    // The worker keeps paying while the test reads: read both sides until a payout in flight has
    // landed on both (the platform's payouts and ledger in one statement, so one snapshot).
    const read = async () => {
      const platform = await query<{ total: string; settled: string }>(
        platformDb!,
        `SELECT (SELECT COALESCE(SUM("amount"), 0) FROM "Payout" WHERE "status" = 'confirmed')::text AS total,
                (SELECT COALESCE(SUM(p."amount"), 0) FROM "Posting" p JOIN "LedgerAccount" a ON a."id" = p."accountId"
                  WHERE a."code" = 'payouts:settled')::text AS settled`,
      );
      const node = await query<{ total: string }>(
        nodeA!,
        `SELECT COALESCE(SUM("amount"), 0)::text AS total FROM "Payout" WHERE "status" = 'confirmed'`,
      );
      return { platform: platform[0]!, node: node[0]! };
    };
    let seen = await read();
    for (let i = 0; i < 600 && seen.node.total !== seen.platform.total; i++) {
      await new Promise((res) => setTimeout(res, 100));
      seen = await read();
    }
    expect(seen.node.total).toBe(seen.platform.total);
    expect(seen.platform.settled).toBe(seen.platform.total);
    const nodeBPaid = await query<{ n: string }>(nodeB!, `SELECT COUNT(*)::text AS n FROM "Payout"`);
    expect(nodeBPaid[0]!.n).toBe('0');
    // The owner sees why each line is what it is.
    const res = await fetch(`${stack.apiUrl}/owner/v1/earnings`, { headers: { authorization: `Bearer ${fleet.ownerTokens[1]}` } });
    const body = (await res.json()) as { lines: { amount: string; why: string }[] };
    expect(body.lines.length).toBeGreaterThan(0);
    expect(body.lines.every((l) => l.why.length > 10)).toBe(true);
  });

  it('never hands two replicas of one unit to one owner', async () => {
    const [platformDb] = stack.databases;
    const dup = await query<{ n: string }>(
      platformDb!,
      `SELECT COUNT(*)::text AS n FROM (SELECT "unitId", d."ownerId" FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
        GROUP BY "unitId", d."ownerId" HAVING COUNT(*) > 1) x`,
    );
    expect(dup[0]!.n).toBe('0');
  });
});
