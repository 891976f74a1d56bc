import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from '@idlemint/core';
import type { NodeStats } from '@idlemint/protocol';
import { nodeOracle, runFleet, type DeviceRequest } from '../apps/sim/src/index.js';
import { startStack } from './lib/stack.js';

/**
 * `npm run bench:pipeline`: the whole path (ingest → units → claim → result → verified →
 * credited → outbox → relayed to two nodes) as real processes, driven by a simulated fleet in
 * *oracle* mode: devices take an item's truth from what the nodes stored with it, so they spend
 * no CPU on item checks, while every request and result is still signed for real. The nodes
 * generate their whole pending pool before the window (PENDING_RATE=0).
 *
 * After BENCH_WARMUP_S it measures a steady BENCH_WINDOW_S window, then stops the fleet, lets the
 * outbox drain and prints
 *   pipeline: units_per_s=N results_per_s=N items_per_s=N claim_p99_ms=N result_p99_ms=N relayed=N/N ledger_balanced=yes
 *   pipeline-cpu: api_ms_per_unit=N worker_ms_per_unit=N postgres_ms_per_unit=N nodes_ms_per_unit=N fleet_ms_per_unit=N
 * CPU is read from /proc (user + system time of each process and its children), so it holds on a
 * busy machine; postgres is every backend of the server, so other clients' work counts there too.
 * items_per_s counts the real items of the verified units (BENCH_BATCH each), canaries not included.
 * A benchmark prints figures; it asserts nothing.
 */
const DEVICES = Number(process.env.BENCH_DEVICES ?? 300);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 20);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 60);
const PENDING = Number(process.env.BENCH_PENDING ?? 60_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 8);
const OPERATOR_KEY = 'bench-operator-key-0123456789';
const TICK_MS = 1000 / 100; // USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 10 ms

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(0.99 * (xs.length - 1))]! : NaN);

/** Every process: pid → [parent pid, CPU ms so far, command name]. */
function processTable(): Map<number, { ppid: number; cpuMs: number; comm: string }> {
  const table = new Map<number, { ppid: number; cpuMs: number; comm: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid … utime(14) stime(15): fields after the ')' that closes comm
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      table.set(Number(name), { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, comm });
    } catch {
      // the process ended while we read
    }
  }
  return table;
}

/** CPU ms of the processes rooted at `roots` (each with all its descendants). */
function treeCpu(table: ReturnType<typeof processTable>, roots: number[]): number {
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  let total = 0;
  const seen = new Set<number>();
  const walk = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    total += table.get(pid)?.cpuMs ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  roots.forEach(walk);
  return total;
}

function cpuSnapshot(pids: Record<'api' | 'worker' | 'nodes', number[]>) {
  const table = processTable();
  const postmasters = [...table].filter(([, p]) => p.comm === 'postgres' && table.get(p.ppid)?.comm !== 'postgres').map(([pid]) => pid);
  const self = process.cpuUsage();
  return {
    api: treeCpu(table, pids.api),
    worker: treeCpu(table, pids.worker),
    nodes: treeCpu(table, pids.nodes),
    postgres: treeCpu(table, postmasters),
    fleet: (self.user + self.system) / 1000,
  };
}

async function main(): Promise<void> {
  const pgBase = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  console.log(`bench: generating ${PENDING} pending transactions on each node before the window…`);
  const stack = await startStack({
    tag: 'bench_pipeline',
    pgBase,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    logDir: join(repoRoot(), '.demo', 'bench-pipeline'),
    operatorKey: OPERATOR_KEY,
    platformEnv: {
      LOG_LEVEL: 'warn',
      INGEST_EVERY_MS: '200',
      INGEST_BATCH: '1000',
      INGEST_MAX_OPEN_UNITS: String(Math.max(200, DEVICES)),
      DEVICE_RATE_PER_MIN: '60000',
      AUDIT_RATE: '0',
      ...(process.env.API_PROCESSES ? { API_PROCESSES: process.env.API_PROCESSES } : {}),
      ...(process.env.WORKER_PROCESSES ? { WORKER_PROCESSES: process.env.WORKER_PROCESSES } : {}),
    },
    nodeEnv: { PENDING_SEED: String(PENDING), PENDING_RATE: '0' },
    nodeStartMs: 900_000,
    // BENCH_PROFILE=1: the api and worker write V8 CPU profiles when they stop (read them with scripts/cpuprofile-top.mjs)
    platformNodeFlags: process.env.BENCH_PROFILE
      ? ['--cpu-prof', `--cpu-prof-dir=${join(repoRoot(), '.demo', 'bench-pipeline', 'profiles')}`]
      : [],
  });
  const platform = new pg.Pool({ connectionString: stack.databases[0], max: 2 });
  const count = async (sql: string): Promise<number> => Number((await platform.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const verifiedUnits = () => count(`SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'verified'`);
  const results = () => count(`SELECT COUNT(*) AS n FROM "Assignment" WHERE "submittedAt" IS NOT NULL`);
  try {
    const oracle = await nodeOracle(stack.databases.slice(1));
    console.log(`bench: oracle knows ${oracle.known} items; ${DEVICES} devices, units of ${BATCH} items`);
    const pids = {
      api: [stack.pid('api')!],
      worker: [stack.pid('worker')!],
      nodes: [stack.pid('node-a')!, stack.pid('node-b')!],
    };
    const latency: Record<DeviceRequest, number[]> = { heartbeat: [], claim: [], result: [] };
    let measuring = false;
    let stopping = false;
    process.once('SIGINT', () => (stopping = true));
    const fleet = runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      name: 'bench-pipeline',
      devices: DEVICES,
      batchSize: BATCH,
      check: oracle.check,
      durationMs: (WARMUP_S + WINDOW_S + 600) * 1000,
      stop: () => stopping,
      onRequest: (what, ms, status) => {
        // claims that found work and accepted results: what the window's rate is made of
        if (measuring && (status === 200 || status === 202)) latency[what].push(ms);
      },
    });
    // The fleet enrolls and claims its devices first; the warm-up starts at its first result.
    while ((await results()) === 0) await sleep(500);
    await sleep(WARMUP_S * 1000);

    const before = { units: await verifiedUnits(), results: await results(), cpu: cpuSnapshot(pids) };
    const t0 = performance.now();
    measuring = true;
    await sleep(WINDOW_S * 1000);
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const after = { units: await verifiedUnits(), results: await results(), cpu: cpuSnapshot(pids) };
    stopping = true;
    await fleet;

    // Drain: every verified unit relayed to both nodes (the outbox keeps going after the fleet stops).
    const relayedEverywhere = async () => {
      const n = await Promise.all(
        stack.nodes.map(async (node) => ((await (await fetch(`${node.url}/v1/stats`)).json()) as NodeStats).logLength),
      );
      return Math.min(...n);
    };
    const verified = await verifiedUnits();
    const drainUntil = Date.now() + 120_000;
    let relayed = await relayedEverywhere();
    while (relayed < verified && Date.now() < drainUntil) {
      await sleep(1_000);
      relayed = await relayedEverywhere();
    }
    // The books: every journal entry balances, and so does the whole ledger.
    const unbalanced = await count(`SELECT COUNT(*) AS n FROM (SELECT "entryId" FROM "Posting" GROUP BY 1 HAVING SUM("amount") <> 0) e`);
    const total = (await platform.query<{ s: string }>(`SELECT COALESCE(SUM("amount"), 0)::text AS s FROM "Posting"`)).rows[0]!.s;

    const units = after.units - before.units;
    const perUnit = (k: keyof typeof before.cpu) => ((after.cpu[k] - before.cpu[k]) / Math.max(1, units)).toFixed(1);
    console.log(
      `bench: ${units} units verified in ${seconds.toFixed(1)} s by ${DEVICES} devices; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    console.log(
      `pipeline: units_per_s=${(units / seconds).toFixed(1)} results_per_s=${((after.results - before.results) / seconds).toFixed(1)} ` +
        `items_per_s=${((units * BATCH) / seconds).toFixed(0)} claim_p99_ms=${p99(latency.claim).toFixed(0)} ` +
        `result_p99_ms=${p99(latency.result).toFixed(0)} relayed=${relayed}/${verified} ` +
        `ledger_balanced=${unbalanced === 0 && total === '0' ? 'yes' : `no(${unbalanced} entries, sum ${total})`}`,
    );
    console.log(
      `pipeline-cpu: api_ms_per_unit=${perUnit('api')} worker_ms_per_unit=${perUnit('worker')} postgres_ms_per_unit=${perUnit('postgres')} ` +
        `nodes_ms_per_unit=${perUnit('nodes')} fleet_ms_per_unit=${perUnit('fleet')}`,
    );
  } finally {
    await platform.end();
    await stack.stop();
    if (!process.env.BENCH_KEEP) await stack.dropDatabases();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
