import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { encodeTime } from 'ulid';
import { repoRoot, workQueueName } from '@idlemint/core';
import { runFleet, type FleetSummary } from '../../apps/sim/src/index.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './private-services.js';
import { startStack, type Stack } from './stack.js';

/**
 * The chaos suite. Each scenario starts its own PostgreSQL cluster and Redis on spare ports (never
 * the shared ones), the api, the worker and two reference nodes as processes, and a simulated
 * fleet; injects its fault; lets things settle; then checks from the databases alone:
 *
 * - lost: accepted (202) results not stored, agreeing answers of verified units not credited,
 *   verified units missing from a node's log;
 * - doubled: a unit credited twice to a device, a unit twice in a node's log, an entry that does
 *   not balance, a ledger that does not sum to 0, an owner paid more than earned;
 * - stuck: an open unit's replica with no job and no lease, a relay not delivered, a payout
 *   pending without a job, a payout left unclear;
 * - recovery_s: from the fault until work flows again (a unit cut after the fault is claimed).
 */

export interface ChaosResult {
  name: string;
  lost: number;
  doubled: number;
  stuck: number;
  recoveryS: number;
  pass: boolean;
  notes: string[];
}

interface Ctx {
  stack: Stack;
  pg: PrivatePostgres;
  redis: PrivateRedis;
  platformDb: string;
  /** Seconds from `t0` until a unit cut after t0 has been claimed by a device (work flows). */
  flowSince(t0: number, ceilingMs?: number): Promise<number>;
  note(s: string): void;
}

export interface Scenario {
  name: string;
  /** Largest acceptable recovery, seconds. */
  maxRecoveryS: number;
  workers?: number;
  platformEnv?: Record<string, string>;
  /** Injects the fault; answers the recovery time in seconds. */
  inject(ctx: Ctx): Promise<number>;
}

const OPERATOR_KEY = 'chaos-operator-key-0123456789';
const PLATFORM_ENV = {
  INGEST_EVERY_MS: '500',
  INGEST_MAX_OPEN_UNITS: '12',
  PAYOUT_EVERY_MS: '3000',
  PAYOUT_THRESHOLD: '1000',
  MATURITY_MS: '1000',
  LEASE_MS: '8000',
  RECONCILE_EVERY_MS: '5000',
  RELAY_REDRIVE_MS: '10000',
  LOG_LEVEL: 'warn',
};

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The first column of the first row as a number (a `COUNT(*)` is named `count`, an alias its own name). */
const n = async (url: string, sql: string, params: unknown[] = []): Promise<number> =>
  Number(Object.values((await query(url, sql, params))[0] ?? {})[0] ?? 0);

async function poll<T>(what: string, check: () => Promise<T | undefined | false>, ceilingMs: number, stepMs = 250): Promise<T> {
  const until = Date.now() + ceilingMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`${what}: not reached within ${ceilingMs / 1000} s`);
    await sleep(stepMs);
  }
}

/** Counts from the databases and Redis. */
async function measure(
  ctx: Ctx,
  fleet: FleetSummary,
  queuePrefix: string,
): Promise<{ lost: number; doubled: number; stuck: number; detail: string }> {
  const db = ctx.platformDb;
  const [, ...nodeDbs] = ctx.stack.databases;
  const lostResults = Math.max(0, fleet.answered - (await n(db, `SELECT COUNT(*) FROM "Assignment" WHERE "status" = 'submitted'`)));
  const lostCredits = await n(
    db,
    `SELECT COUNT(*) FROM "Assignment" a JOIN "WorkUnit" u ON u."id" = a."unitId"
      WHERE u."status" = 'verified' AND a."outcome" = 'agreed' AND a."reason" IS NULL
        AND NOT EXISTS (SELECT 1 FROM "Reward" r WHERE r."unitId" = a."unitId" AND r."deviceId" = a."deviceId")`,
  );
  const verified = (await query<{ id: string }>(db, `SELECT "id" FROM "WorkUnit" WHERE "status" = 'verified'`)).map((r) => r.id);
  let lostRelays = 0;
  let doubledRelays = 0;
  for (const nodeDb of nodeDbs) {
    const log = await query<{ unitId: string; c: number }>(nodeDb, `SELECT "unitId", COUNT(*)::int AS c FROM "LogEntry" GROUP BY 1`);
    const seen = new Map(log.map((l) => [l.unitId, l.c]));
    lostRelays += verified.filter((id) => !seen.has(id)).length;
    doubledRelays += log.filter((l) => l.c > 1).length;
  }
  const doubledCredits = await n(
    db,
    `SELECT COUNT(*) FROM (SELECT 1 FROM "JournalEntry" e JOIN "Posting" p ON p."entryId" = e."id"
      WHERE e."kind" = 'credit' GROUP BY e."unitId", p."accountId" HAVING COUNT(*) > 1) x`,
  );
  const unbalanced = await n(db, `SELECT COUNT(*) FROM (SELECT 1 FROM "Posting" GROUP BY "entryId" HAVING SUM("amount") <> 0) x`);
  const sum = await n(db, `SELECT COALESCE(SUM("amount"), 0) AS n FROM "Posting"`);
  const overpaid = await n(
    db,
    `SELECT COUNT(*) FROM (SELECT a."id" FROM "LedgerAccount" a JOIN "Posting" p ON p."accountId" = a."id"
      WHERE a."code" LIKE 'device:%' GROUP BY a."id" HAVING SUM(p."amount") < 0) x`,
  );
  // Stuck: replicas nobody holds whose job is not in Redis, undelivered relays, payouts without a way forward.
  const orphans = await query<{ unitId: string; deviceClass: string; replica: number }>(
    db,
    `SELECT u."id" AS "unitId", u."deviceClass", r.replica::int AS replica
       FROM "WorkUnit" u CROSS JOIN LATERAL generate_series(1, u."replicasIssued") AS r(replica)
      WHERE u."status" = 'open'
        AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."unitId" = u."id" AND a."replica" = r.replica
                          AND (a."status" = 'submitted' OR (a."status" = 'leased' AND a."deadline" > (now() AT TIME ZONE 'UTC'))))`,
  );
  const redis = new Redis(ctx.redis.url, { maxRetriesPerRequest: 1 });
  let stuckReplicas = 0;
  let stuckPayouts = 0;
  try {
    const queues = new Map<string, Queue>();
    const queue = (name: string) => {
      let q = queues.get(name);
      if (!q) queues.set(name, (q = new Queue(name, { connection: redis, prefix: queuePrefix })));
      return q;
    };
    const live = ['waiting', 'wait', 'delayed', 'active', 'prioritized', 'waiting-children'];
    for (const o of orphans) {
      if (!live.includes(await queue(workQueueName(o.deviceClass)).getJobState(`unit-${o.unitId}-r${o.replica}`))) stuckReplicas++;
    }
    for (const { id } of await query<{ id: string }>(db, `SELECT "id" FROM "Payout" WHERE "status" = 'pending'`)) {
      if (!live.includes(await queue('payouts').getJobState(`payout-${id}`))) stuckPayouts++;
    }
    for (const q of queues.values()) await q.close();
  } finally {
    redis.disconnect();
  }
  const undelivered = await n(db, `SELECT COUNT(*) FROM "RelayDelivery" WHERE "status" <> 'delivered'`);
  const unclear = await n(db, `SELECT COUNT(*) FROM "Payout" WHERE "status" = 'unclear'`);
  const lost = lostResults + lostCredits + lostRelays;
  const doubled = doubledRelays + doubledCredits + unbalanced + (sum !== 0 ? 1 : 0) + overpaid;
  const stuck = stuckReplicas + stuckPayouts + undelivered + unclear;
  const detail =
    `results_lost=${lostResults} credits_lost=${lostCredits} relays_missing=${lostRelays} relays_doubled=${doubledRelays} ` +
    `credits_doubled=${doubledCredits} unbalanced=${unbalanced} ledger_sum=${sum} overpaid=${overpaid} ` +
    `replicas_stuck=${stuckReplicas} payouts_stuck=${stuckPayouts} undelivered=${undelivered} unclear=${unclear} verified=${verified.length}`;
  return { lost, doubled, stuck, detail };
}

export async function runScenario(s: Scenario, log: (line: string) => void = () => undefined): Promise<ChaosResult> {
  const notes: string[] = [];
  const note = (x: string) => {
    notes.push(x);
    log(`chaos: [${s.name}] ${x}`);
  };
  let pgc: PrivatePostgres | undefined;
  let redis: PrivateRedis | undefined;
  let stack: Stack | undefined;
  let fleetStop = false;
  try {
    [pgc, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis({ appendonly: true })]);
    const tag = `chaos_${s.name.replace(/[^a-z0-9]/g, '_')}`;
    stack = await startStack({
      tag,
      pgBase: pgc.base,
      redisUrl: redis.url,
      logDir: join(repoRoot(), '.chaos', s.name),
      operatorKey: OPERATOR_KEY,
      platformEnv: { ...PLATFORM_ENV, ...s.platformEnv },
      nodeEnv: { PENDING_SEED: '400', PENDING_RATE: '50' },
    });
    for (let i = 2; i <= (s.workers ?? 1); i++) stack.addWorker(`worker-${i}`);
    const platformDb = stack.databases[0]!;
    const ctx: Ctx = {
      stack,
      pg: pgc,
      redis,
      platformDb,
      note,
      flowSince: async (t0, ceilingMs = 300_000) => {
        const after = encodeTime(t0, 10);
        await poll(
          'work flowing again',
          async () => (await n(platformDb, `SELECT COUNT(*) FROM "Assignment" WHERE "unitId" > $1 AND "id" > $1`, [after])) > 0,
          ceilingMs,
        );
        return (Date.now() - t0) / 1000;
      },
    };
    const fleetRun = runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      devices: 8,
      devicesPerOwner: 2,
      durationMs: 15 * 60_000, // a ceiling: the scenario stops it
      stop: () => fleetStop,
    });
    fleetRun.catch(() => undefined); // awaited below; a fleet cut short by a failure is not unhandled
    // Warm: units verified and a payout confirmed before the fault.
    const warm = async () => (await n(platformDb, `SELECT COUNT(*) FROM "WorkUnit" WHERE "status" = 'verified'`)) >= 2;
    await poll('warm-up', warm, 600_000).catch(async (e: Error) => {
      const counts = await query(
        platformDb,
        `SELECT (SELECT COUNT(*) FROM "Device") AS devices, (SELECT COUNT(*) FROM "SourceTx") AS txs, (SELECT COUNT(*) FROM "WorkUnit") AS units,
                (SELECT COUNT(*) FROM "Assignment") AS assignments, (SELECT COUNT(*) FROM "Assignment" WHERE "status" = 'submitted') AS submitted,
                (SELECT COUNT(*) FROM "OutboxMessage" WHERE "dispatchedAt" IS NULL) AS outbox`,
      ).catch(() => []);
      throw new Error(`${e.message} (${JSON.stringify(counts[0] ?? {})})`);
    });
    note('warm; injecting the fault');
    const recoveryS = await s.inject(ctx);
    note(`recovered in ${recoveryS.toFixed(1)} s`);
    // Some more work after recovery, then the fleet stops and everything settles.
    await ctx.flowSince(Date.now());
    fleetStop = true;
    const fleet = await fleetRun;
    let m = await measure(ctx, fleet, `{imt_${tag}}`);
    const until = Date.now() + 300_000;
    while ((m.lost > 0 || m.stuck > 0) && Date.now() < until) {
      await sleep(2_000);
      m = await measure(ctx, fleet, `{imt_${tag}}`).catch(() => m);
    }
    note(m.detail);
    const pass = m.lost === 0 && m.doubled === 0 && m.stuck === 0 && recoveryS <= s.maxRecoveryS;
    return { name: s.name, lost: m.lost, doubled: m.doubled, stuck: m.stuck, recoveryS: Math.round(recoveryS * 10) / 10, pass, notes };
  } catch (e) {
    note(`failed: ${(e as Error).message}`);
    return { name: s.name, lost: -1, doubled: -1, stuck: -1, recoveryS: -1, pass: false, notes };
  } finally {
    fleetStop = true;
    await stack?.stop().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    await pgc?.close().catch(() => undefined);
  }
}

export function chaosLine(r: ChaosResult): string {
  return `chaos: scenario=${r.name} lost=${r.lost} doubled=${r.doubled} stuck=${r.stuck} recovery_s=${r.recoveryS} pass=${r.pass ? 'yes' : 'no'}`;
}

/** 400 clients flooding the gateway for `seconds`, a third with forged signatures; /health/live probed meanwhile. */
async function flood(apiUrl: string, seconds: number) {
  const end = Date.now() + seconds * 1_000;
  const counts = { ok: 0, shed: 0, other: 0, timeouts: 0 };
  const live: number[] = [];
  const client = async (i: number) => {
    while (Date.now() < end) {
      const forged = i % 3 === 0;
      try {
        const res = await fetch(`${apiUrl}${forged ? '/device/v1/work/claim' : '/operator/v1/nodes'}`, {
          method: forged ? 'POST' : 'GET',
          headers: forged
            ? {
                'content-type': 'application/json',
                'x-device-id': '01J00000000000000000000000',
                'x-timestamp': String(Date.now()),
                'x-nonce': `n${i}${Date.now()}`,
                'x-signature': 'AA'.repeat(64),
              }
            : { 'x-operator-key': OPERATOR_KEY },
          body: forged ? '{}' : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 429 || res.status === 503) counts.shed++;
        else if (res.status < 500) counts.ok++;
        else counts.other++;
      } catch {
        counts.timeouts++;
      }
    }
  };
  const probe = async () => {
    while (Date.now() < end) {
      const t = performance.now();
      try {
        await (await fetch(`${apiUrl}/health/live`, { signal: AbortSignal.timeout(10_000) })).arrayBuffer();
        live.push(performance.now() - t);
      } catch {
        live.push(10_000);
      }
      await sleep(100);
    }
  };
  await Promise.all([...Array.from({ length: 400 }, (_, i) => client(i)), probe()]);
  live.sort((a, b) => a - b);
  const p99 = live[Math.min(live.length - 1, Math.floor(live.length * 0.99))] ?? 0;
  return { ...counts, liveP99Ms: Math.round(p99) };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'worker-kill',
    maxRecoveryS: 10,
    async inject(ctx) {
      let worst = 0;
      for (let i = 1; i <= 3; i++) {
        const killed = Date.now();
        await ctx.stack.signal('worker', 'SIGKILL');
        // The only worker: work must flow within 10 s of its restart (issue 7), so that is when the clock starts.
        const t0 = Date.now();
        await ctx.stack.restart('worker');
        const r = await ctx.flowSince(t0);
        ctx.note(
          `kill -9 #${i}: work flows again ${r.toFixed(1)} s after the restart (${((Date.now() - killed) / 1000).toFixed(1)} s after the kill)`,
        );
        worst = Math.max(worst, r);
      }
      return worst;
    },
  },
  {
    name: 'redis-kill-aof',
    maxRecoveryS: 30,
    async inject(ctx) {
      const t0 = Date.now();
      await ctx.redis.kill();
      await sleep(3_000);
      await ctx.redis.start();
      return ctx.flowSince(t0);
    },
  },
  {
    name: 'redis-empty',
    maxRecoveryS: 30,
    async inject(ctx) {
      const t0 = Date.now();
      await ctx.redis.restartEmpty();
      return ctx.flowSince(t0);
    },
  },
  {
    name: 'pg-restart',
    maxRecoveryS: 30,
    async inject(ctx) {
      const t0 = Date.now();
      await ctx.pg.crash();
      await sleep(3_000);
      await ctx.pg.start();
      return ctx.flowSince(t0);
    },
  },
  {
    name: 'node-down',
    maxRecoveryS: 30,
    async inject(ctx) {
      const downS = Number(process.env.CHAOS_NODE_DOWN_S ?? 120);
      await ctx.stack.signal('node-b', 'SIGKILL');
      await sleep(downS * 1_000);
      await ctx.stack.restart('node-b');
      // From the moment the node answers again (restart waits for its /health): the platform's part.
      const t0 = Date.now();
      // Recovered when everything verified so far reached node-b.
      await poll(
        'node-b caught up',
        async () => (await n(ctx.platformDb, `SELECT COUNT(*) FROM "RelayDelivery" WHERE "status" <> 'delivered'`)) === 0,
        120_000,
        500,
      );
      return (Date.now() - t0) / 1000;
    },
  },
  {
    name: 'payout-node-down',
    maxRecoveryS: 30,
    async inject(ctx) {
      // node-a pays. Down across payout runs: payouts made meanwhile run out of attempts and go unclear.
      await ctx.stack.signal('node-a', 'SIGKILL');
      await poll(
        'a payout left unclear',
        async () => (await n(ctx.platformDb, `SELECT COUNT(*) FROM "Payout" WHERE "status" = 'unclear'`)) > 0,
        120_000,
        500,
      );
      ctx.note(
        `unclear payouts while node-a is down: ${await n(ctx.platformDb, `SELECT COUNT(*) FROM "Payout" WHERE "status" = 'unclear'`)}`,
      );
      const t0 = Date.now();
      await ctx.stack.restart('node-a');
      await poll(
        'payouts settled by themselves',
        async () => (await n(ctx.platformDb, `SELECT COUNT(*) FROM "Payout" WHERE "status" IN ('pending', 'unclear')`)) === 0,
        120_000,
        500,
      );
      return (Date.now() - t0) / 1000;
    },
  },
  {
    name: 'overload',
    maxRecoveryS: 30,
    async inject(ctx) {
      const t0 = Date.now();
      const [f, r] = await Promise.all([flood(ctx.stack.apiUrl, 20), ctx.flowSince(t0)]);
      ctx.note(`flood: ok=${f.ok} shed=${f.shed} 5xx=${f.other} client_timeouts=${f.timeouts} live_p99_ms=${f.liveP99Ms}`);
      if (f.shed === 0 || f.timeouts > 0 || f.other > 0 || f.liveP99Ms >= 200) throw new Error('overload not handled (see the flood line)');
      return r;
    },
  },
  {
    name: 'worker-sigstop',
    maxRecoveryS: 30,
    workers: 2,
    async inject(ctx) {
      const t0 = Date.now();
      await ctx.stack.signal('worker', 'SIGSTOP');
      const r = await ctx.flowSince(t0);
      await sleep(Math.max(0, 15_000 - (Date.now() - t0))); // past its 10 s locks
      await ctx.stack.signal('worker', 'SIGCONT');
      return r;
    },
  },
];
