import type { PrismaService } from '../db/prisma.service.js';
import { cached, type Metrics } from './metrics.js';

/**
 * The platform's domain figures, read from PostgreSQL (the system of record) when Prometheus
 * scrapes, at most once per `ttlMs`: a few aggregate queries over indexed status columns, read
 * only. They live here rather than in each domain lib because they are one read-only view across
 * the tables for the operator, not domain logic; no lib's writes depend on them.
 *
 * Totals that only grow (units cut, credits) are gauges of the current count: Prometheus's
 * `deriv()`/`delta()` give the rates, and a restart of the api or worker does not reset them.
 * Amounts are minor units; as float64 they are exact up to 2^53.
 */
export interface PlatformStats {
  units: { status: string; n: number }[];
  assignments: { status: string; outcome: string; n: number }[];
  rewards: { status: string; n: number; amount: number }[];
  payouts: { status: string; n: number; amount: number }[];
  deliveries: { node: string; status: string; n: number }[];
  outbox: { backlog: number; oldestAgeS: number };
}

type Row = Record<string, string | number | bigint | null>;
const num = (v: string | number | bigint | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: string | number | bigint | null | undefined): string => (v === null || v === undefined ? '' : String(v));

export async function readPlatformStats(db: PrismaService): Promise<PlatformStats> {
  const [units, assignments, rewards, payouts, deliveries, outbox] = await Promise.all([
    db.$queryRaw<Row[]>`SELECT status::text AS status, count(*) AS n FROM "WorkUnit" GROUP BY 1`,
    db.$queryRaw<
      Row[]
    >`SELECT status::text AS status, coalesce(outcome::text, '') AS outcome, count(*) AS n FROM "Assignment" GROUP BY 1, 2`,
    db.$queryRaw<Row[]>`SELECT status::text AS status, count(*) AS n, coalesce(sum(amount), 0)::text AS amount FROM "Reward" GROUP BY 1`,
    db.$queryRaw<Row[]>`SELECT status::text AS status, count(*) AS n, coalesce(sum(amount), 0)::text AS amount FROM "Payout" GROUP BY 1`,
    db.$queryRaw<Row[]>`
      SELECT n.name AS node, d.status::text AS status, count(*) AS n
      FROM "RelayDelivery" d JOIN "TrustedNode" n ON n.id = d."nodeId" GROUP BY 1, 2`,
    db.$queryRaw<Row[]>`
      SELECT count(*) AS backlog, coalesce(extract(epoch FROM now() - min("createdAt")), 0)::float8 AS age
      FROM "OutboxMessage" WHERE "dispatchedAt" IS NULL`,
  ]);
  return {
    units: units.map((r) => ({ status: str(r.status), n: num(r.n) })),
    assignments: assignments.map((r) => ({ status: str(r.status), outcome: str(r.outcome), n: num(r.n) })),
    rewards: rewards.map((r) => ({ status: str(r.status), n: num(r.n), amount: num(r.amount) })),
    payouts: payouts.map((r) => ({ status: str(r.status), n: num(r.n), amount: num(r.amount) })),
    deliveries: deliveries.map((r) => ({ node: str(r.node), status: str(r.status), n: num(r.n) })),
    outbox: { backlog: num(outbox[0]?.backlog), oldestAgeS: num(outbox[0]?.age) },
  };
}

/** Registers the domain gauges on `metrics`, fed by one cached read of the database. */
export function registerPlatformGauges(metrics: Metrics, db: PrismaService, ttlMs = 5_000): void {
  const stats = cached(ttlMs, () => readPlatformStats(db));
  metrics.scrapeGauge('idlemint_work_units', 'Work units cut, by status (open, verified, disputed)', ['status'], async () =>
    (await stats()).units.map((r) => ({ labels: { status: r.status }, value: r.n })),
  );
  metrics.scrapeGauge(
    'idlemint_assignments',
    'Replica assignments by status (leased, submitted, expired) and outcome of the submitted result (agreed, disagreed, canary_failed)',
    ['status', 'outcome'],
    async () => (await stats()).assignments.map((r) => ({ labels: { status: r.status, outcome: r.outcome }, value: r.n })),
  );
  metrics.scrapeGauge('idlemint_rewards', 'Device rewards by status (immature, mature, forfeited)', ['status'], async () =>
    (await stats()).rewards.map((r) => ({ labels: { status: r.status }, value: r.n })),
  );
  metrics.scrapeGauge(
    'idlemint_rewards_minor_units',
    'Rewards credited to devices, minor units, by status (immature, mature, forfeited)',
    ['status'],
    async () => (await stats()).rewards.map((r) => ({ labels: { status: r.status }, value: r.amount })),
  );
  metrics.scrapeGauge('idlemint_payouts', 'Payouts by state (pending, confirmed, unclear, failed)', ['state'], async () =>
    (await stats()).payouts.map((r) => ({ labels: { state: r.status }, value: r.n })),
  );
  metrics.scrapeGauge('idlemint_payouts_minor_units', 'Payout amounts, minor units, by state', ['state'], async () =>
    (await stats()).payouts.map((r) => ({ labels: { state: r.status }, value: r.amount })),
  );
  metrics.scrapeGauge(
    'idlemint_relay_deliveries',
    'Relay deliveries of verified units per trusted node, by outcome (pending, delivered, dead)',
    ['node', 'outcome'],
    async () => (await stats()).deliveries.map((r) => ({ labels: { node: r.node, outcome: r.status }, value: r.n })),
  );
  metrics.scrapeGauge('idlemint_outbox_backlog', 'Outbox messages not yet dispatched', [], async () => [
    { labels: {}, value: (await stats()).outbox.backlog },
  ]);
  metrics.scrapeGauge('idlemint_outbox_oldest_age_seconds', 'Age of the oldest undispatched outbox message (0 when none)', [], async () => [
    { labels: {}, value: (await stats()).outbox.oldestAgeS },
  ]);
}
