import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteKeys, repoRoot } from '@idlemint/core';
import type { Reconciliation } from '@idlemint/payouts';
import { progressLine, runFleet } from '../apps/sim/src/index.js';
import { startStack } from './lib/stack.js';

/**
 * `npm run demo`: the platform, two reference nodes and a 50-device fleet (5 liars) for about a
 * minute on the local PostgreSQL and Redis; then waits for relays and payouts to settle,
 * reconciles the ledger with both nodes, and prints one summary line. Exits 0 only if reconciled.
 * Then it drops its databases and Redis keys (DEMO_KEEP=1 keeps them) and keeps the logs and a
 * scrape of both /metrics in .demo/.
 * Prints the console's URL and keys to sign in with as soon as the fleet is up. With `--keep`
 * (`npm run demo -- --keep`) the fleet keeps working and the stack stays up until Ctrl-C, for a
 * look around the console; then everything stops (no reconciliation: Ctrl-C reaches the api and
 * worker too).
 */
const DEVICES = 50;
const LIARS = 5;
const SECONDS = Number(process.env.DEMO_SECONDS ?? 60);
const PAYOUT_EVERY_MS = 5_000;
const OPERATOR_KEY = 'demo-operator-key-0123456789';
const KEEP = process.argv.includes('--keep');

const say = (s: string) => console.log(`demo: ${s}`);

async function reconcile(apiUrl: string): Promise<Reconciliation> {
  const res = await fetch(`${apiUrl}/operator/v1/reconciliation`, { headers: { 'x-operator-key': OPERATOR_KEY } });
  if (!res.ok) throw new Error(`reconciliation: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Reconciliation;
}

const causeOf = (e: unknown): string => {
  const err = e as { message?: string; code?: string; errors?: { message?: string }[] };
  return err.code ?? err.errors?.[0]?.message ?? err.message ?? String(e);
};

/** PostgreSQL and Redis must answer before anything starts: say which one does not, and how to start it. */
async function preflight(pgBase: string, redisUrl: string): Promise<boolean> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: `${pgBase}/postgres`, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    problems.push(`PostgreSQL is not reachable at ${pgBase} (${causeOf(e)})`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let lastError: unknown;
  redis.on('error', (e) => (lastError = e));
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    problems.push(`Redis is not reachable at ${redisUrl} (${causeOf(lastError ?? e)})`);
  } finally {
    redis.disconnect();
  }
  if (problems.length === 0) return true;
  for (const p of problems) console.error(`demo: ${p}`);
  console.error(
    [
      'demo: start them, then run `npm run demo` again:',
      '  with Docker:  docker compose up -d postgres redis',
      '  on Debian:    sudo apt-get install -y postgresql redis-server  (PostgreSQL must let user postgres in',
      '                without a password on 127.0.0.1: `trust` in pg_hba.conf), then start both services',
      '  elsewhere:    DEMO_PG_URL=postgresql://user:pass@host:5432 DEMO_REDIS_URL=redis://host:6379 npm run demo',
    ].join('\n'),
  );
  return false;
}

/** Both /metrics as they stand, for `promtool check metrics < .demo/metrics/api.prom`. */
async function saveMetrics(dir: string, apiUrl: string, workerUrl: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, url, headers] of [
    ['api', `${apiUrl}/metrics`, { authorization: `Bearer ${OPERATOR_KEY}` }],
    ['worker', workerUrl, {}],
  ] as const) {
    const res = await fetch(url, { headers });
    writeFileSync(join(dir, `${name}.prom`), await res.text());
  }
  say(`metrics of the api and the worker saved in ${dir} (check: promtool check metrics < ${join(dir, 'api.prom')})`);
}

async function main(): Promise<void> {
  const pgBase = process.env.DEMO_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  const redisUrl = process.env.DEMO_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keep = process.env.DEMO_KEEP === '1';
  const logDir = join(repoRoot(), '.demo', 'logs');
  if (!(await preflight(pgBase, redisUrl))) process.exit(2);
  await deleteKeys(redisUrl, ['{imt_demo}:*', 'imt_demo:*']);
  say(`starting 2 reference nodes, the api and the worker (logs in ${logDir})`);
  const stack = await startStack({
    tag: 'demo',
    pgBase,
    redisUrl,
    logDir,
    operatorKey: OPERATOR_KEY,
    platformEnv: { PAYOUT_EVERY_MS: String(PAYOUT_EVERY_MS), PAYOUT_THRESHOLD: '2000', MATURITY_MS: '3000' },
  });
  let code: number;
  try {
    say(`api ${stack.apiUrl}; nodes ${stack.nodes.map((n) => `${n.name} ${n.url}`).join(', ')}`);
    say(`fleet of ${DEVICES} appliances (${LIARS} liars answering "all valid") ${KEEP ? 'until Ctrl-C' : `for ${SECONDS} s`}`);
    let interrupted = false;
    if (KEEP) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (interrupted = true));
    const tty = process.stdout.isTTY && !KEEP;
    const run = runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      devices: DEVICES,
      liars: LIARS / DEVICES,
      durationMs: KEEP ? Number.MAX_SAFE_INTEGER : SECONDS * 1000,
      stop: () => interrupted,
      onReady: (f) => {
        say(`console: ${stack.apiUrl}/console/`);
        say(`  manufacturer API key (admin): ${f.apiKey}`);
        say(`  operator key: ${OPERATOR_KEY}`);
        say(`  owner token (one of ${f.ownerTokens.length}): ${f.ownerTokens[0] ?? 'none'}`);
      },
      onProgress: (s) => (tty ? process.stdout.write(`\r${progressLine(s)}`) : KEEP ? undefined : console.log(progressLine(s))),
    });
    if (KEEP) {
      // Ctrl-C reaches the api and worker too: the fleet's last calls may fail, and that is fine.
      await run.catch((e: unknown) => {
        if (!interrupted) throw e;
      });
      say('stopped (kept until Ctrl-C; not reconciled)');
      await stack.stop();
      process.exit(0);
    }
    const fleet = await run;
    if (tty) process.stdout.write('\n');
    say(`fleet done: ${fleet.answered} results, ${fleet.verified} completed a quorum, ${fleet.rejected} rejected, ${fleet.errors} errors`);

    say('waiting for relays and the payout run to settle…');
    await new Promise((r) => setTimeout(r, PAYOUT_EVERY_MS + 1_000));
    let r = await reconcile(stack.apiUrl);
    const until = Date.now() + 90_000;
    while ((!r.ok || r.payouts.open > 0) && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 2_000));
      r = await reconcile(stack.apiUrl);
    }

    say(`units: ${r.units.verified} verified, ${r.units.disputed} disputed, ${r.units.open} still open`);
    say(
      `ledger: ${r.ledger.rewardsIssued} credited, ${r.ledger.settled} paid out, ${r.ledger.inFlight} in flight; accounts sum to ${r.ledger.sumOfAllAccounts}`,
    );
    say(`payouts: ${r.payouts.confirmed} confirmed (${r.payouts.confirmedTotal}), ${r.payouts.open} open`);
    for (const n of r.nodes) {
      say(
        `${n.name}: ${n.logLength} units in its log, chain ${n.chainValid ? 'valid' : 'BROKEN'}, wrong verdicts ${n.wrongVerdicts}, paid ${n.payoutsTotal}`,
      );
    }
    say(
      `liars: ${fleet.liars} devices answered ${fleet.liarAnswered} units, earned ${fleet.liarCredited}; honest devices earned ${fleet.honestCredited}`,
    );
    for (const p of r.problems) say(`problem: ${p}`);
    const reconciled = r.ok && r.payouts.open === 0 && fleet.liarCredited === 0n && r.nodes.every((n) => n.wrongVerdicts === 0);
    console.log(
      `demo: devices=${fleet.enrolled} units_verified=${r.units.verified} items_checked=${r.work.itemsChecked} ` +
        `canaries_caught=${r.work.canariesCaught} credited=${r.ledger.rewardsIssued} paid=${r.ledger.settled} ` +
        `relayed=${r.relay.delivered}/${r.relay.expected} reconciled=${reconciled ? 'yes' : 'no'}`,
    );
    code = reconciled ? 0 : 1;
    await saveMetrics(join(repoRoot(), '.demo', 'metrics'), stack.apiUrl, stack.workerMetricsUrl).catch((e: unknown) =>
      say(`could not save the metrics: ${causeOf(e)}`),
    );
  } finally {
    await stack.stop();
    if (keep) {
      say(
        `kept databases ${stack.databases.map((d) => d.slice(d.lastIndexOf('/') + 1)).join(', ')} and Redis keys ${stack.redisPatterns.join(' ')} (DEMO_KEEP=1)`,
      );
    } else {
      await stack.dropDatabases();
      await deleteKeys(redisUrl, stack.redisPatterns);
      say('dropped the demo databases and Redis keys (DEMO_KEEP=1 keeps them); logs are in .demo/logs');
    }
  }
  process.exit(code);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
