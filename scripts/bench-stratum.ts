import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from '@idlemint/core';
import { enrollMiners, stratumCredential, StratumClient, type FoundShare } from '../apps/sim/src/index.js';
import { startStack } from './lib/stack.js';

/**
 * `npm run bench:stratum`: the built stack with one Stratum gateway. Opens CONNECTIONS Stratum
 * connections (each subscribed and authorized), prints the gateway's memory, then has SUBMITTERS of
 * them submit pre-mined real shares as fast as the gateway answers, and waits until every accepted
 * share is credited. Ends with
 *   stratum: connections=N shares_per_s=N accepted=N rejected=N credited_ok=yes rss_mb=N
 * A benchmark prints figures; it asserts nothing.
 */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const SHARES = Number(process.env.BENCH_SHARES ?? 20_000);
const SUBMITTERS = Number(process.env.BENCH_SUBMITTERS ?? 64);
const OPERATOR_KEY = 'bench-operator-key-stratum-0123456789';
const DIFF = 0.00000001; // ~43 hashes a share: the bench measures the gateway, not the miner

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function main(): Promise<void> {
  const pgBase = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  const stack = await startStack({
    tag: 'bench_stratum',
    pgBase,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    logDir: join(repoRoot(), '.demo', 'bench-stratum'),
    operatorKey: OPERATOR_KEY,
    stratum: true,
    platformEnv: {
      SHARE_MIN_DIFF: String(DIFF),
      SHARE_START_DIFF: String(DIFF),
      SHARE_RETARGET_S: '100000',
      SHARE_BATCH_MS: '500',
      SHARE_TEMPLATE_MS: '1000',
      STRATUM_MAX_MSG_PER_MIN: '1000000',
      STRATUM_AUTH_TIMEOUT_MS: '600000',
      INGEST_EVERY_MS: '600000',
    },
    // A network target no share of the bench will meet: it measures shares, not blocks.
    nodeEnv: { PENDING_SEED: '20', PENDING_RATE: '0', POW_BITS: '1d00ffff' },
  });
  const clients: StratumClient[] = [];
  try {
    const { miners } = await enrollMiners(stack.apiUrl, OPERATOR_KEY, 1);
    const cred = await stratumCredential(stack.apiUrl, miners[0]!.keys);
    const port = stack.stratumPort!;
    for (let i = 0; i < CONNECTIONS; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, CONNECTIONS - i) }, async () => {
          const c = await StratumClient.connect(port);
          await c.handshake(cred.username, cred.password);
          return c;
        }),
      );
      clients.push(...batch);
    }
    await Promise.all(clients.slice(0, SUBMITTERS).map((c) => c.until(() => c.job !== null)));
    const held = clients.filter((c) => !c.closed).length;
    const rssConnected = rssMb(stack.pid('stratum'));
    console.log(`stratum: ${held} connections held, gateway rss ${rssConnected} MB`);

    // Pre-mine real shares per submitter (each on its own extranonce1), then submit them flat out.
    const submitters = clients.slice(0, SUBMITTERS);
    const work = submitters.map((c) => {
      const list: FoundShare[] = [];
      for (let i = 0; i < Math.ceil(SHARES / SUBMITTERS); i++) list.push(c.mineShare());
      return list;
    });
    let accepted = 0;
    let rejected = 0;
    const started = Date.now();
    await Promise.all(
      submitters.map(async (c, k) => {
        for (const s of work[k]!) {
          const r = await c.submit(cred.username, s);
          if (r.result === true) accepted++;
          else rejected++;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const db = new pg.Client({ connectionString: stack.databases[0] });
    await db.connect();
    let creditedOk = false;
    for (const until = Date.now() + 120_000; Date.now() < until;) {
      const { rows } = await db.query<{ n: string; open: string }>(
        `SELECT count(*)::text AS n, count(*) FILTER (WHERE "batchId" IS NULL)::text AS open FROM "HashShare"`,
      );
      if (Number(rows[0]!.n) === accepted && rows[0]!.open === '0') {
        creditedOk = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await db.end();
    console.log(
      `stratum: connections=${held} shares_per_s=${Math.round(accepted / seconds)} accepted=${accepted} rejected=${rejected} credited_ok=${creditedOk ? 'yes' : 'no'} rss_mb=${Math.max(rssConnected, rssMb(stack.pid('stratum')))}`,
    );
  } finally {
    for (const c of clients) c.close();
    await stack.stop();
    await stack.dropDatabases();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
