import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';
import { runFleet, type FleetSummary } from '../apps/sim/src/index.js';
import { startStack, type Stack } from '../scripts/lib/stack.js';
import { parseExposition, promtoolAvailable, promtoolCheckMetrics, sum, type Exposition } from './support/prometheus.js';
import { TEST_PG, TEST_REDIS, dropRedisKeys, uniqueSuffix } from './support/scratch.js';

/**
 * What an operator sees of a working fleet, on the built api, worker and two nodes as processes:
 * both /metrics pass `promtool check metrics` (or the parser when promtool is not installed) and
 * their families move; the api's log is JSON lines with a request id per request, echoed in
 * `x-request-id`. Needs `npm run build` first (npm test does).
 */
const OPERATOR_KEY = 'obs-operator-key-0123456789';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ text: string; e: Exposition }> {
  const res = await fetch(url, { headers });
  expect(res.status, url).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, e: parseExposition(text) };
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ceilingMs = 120_000): Promise<T> {
  const end = Date.now() + ceilingMs;
  for (;;) {
    let last: unknown;
    try {
      const v = await read();
      if (ok(v)) return v;
    } catch (e) {
      last = e; // not up yet
    }
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ceilingMs} ms`, { cause: last });
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('observability end to end', () => {
  const tag = `obs_${uniqueSuffix()}`;
  const logDir = join(repoRoot(), '.demo', tag);
  let stack: Stack;
  let fleet: FleetSummary;

  beforeAll(async () => {
    stack = await startStack({
      tag,
      pgBase: TEST_PG,
      redisUrl: TEST_REDIS,
      logDir,
      operatorKey: OPERATOR_KEY,
      platformEnv: { PAYOUT_EVERY_MS: '1500', PAYOUT_THRESHOLD: '1400', INGEST_EVERY_MS: '500', MATURITY_MS: '1000' },
      nodeEnv: { PENDING_SEED: '200', PENDING_RATE: '20' },
    });
    // The stack does not wait for the worker: the fleet starts once the worker answers, so it has work to do.
    await until(
      'the worker up',
      () => fetch(stack.workerMetricsUrl),
      (r) => r.ok,
    );
    fleet = await runFleet({
      apiUrl: stack.apiUrl,
      operatorKey: OPERATOR_KEY,
      devices: 4,
      liars: 0,
      devicesPerOwner: 1,
      durationMs: 15_000,
    });
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    await stack?.dropDatabases();
    if (stack) await dropRedisKeys(stack.redisPatterns);
    if (!process.env.KEEP_E2E_LOGS) rmSync(logDir, { recursive: true, force: true });
  }, 60_000);

  it('keeps /metrics of the api behind the operator key', async () => {
    const res = await fetch(`${stack.apiUrl}/metrics`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUTH.OPERATOR_KEY_INVALID');
  });

  it('exposes the api metrics: valid exposition, requests by route, refusals by code, results, queue depths', async () => {
    expect(fleet.answered).toBeGreaterThan(0);
    // One refused device request, so the refusal family has a sample.
    const refused = await fetch(`${stack.apiUrl}/device/v1/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);

    const { text, e } = await scrape(`${stack.apiUrl}/metrics`, { authorization: `Bearer ${OPERATOR_KEY}` });
    if (promtoolAvailable()) expect(promtoolCheckMetrics(text)).toEqual([]);
    expect(e.types.get('idlemint_http_request_duration_seconds')).toBe('histogram');
    expect(sum(e, 'idlemint_http_request_duration_seconds_count', { route: '/device/v1/work/claim', method: 'POST' })).toBeGreaterThan(0);
    expect(sum(e, 'idlemint_http_request_duration_seconds_count', { route: '/device/v1/enroll' })).toBeGreaterThanOrEqual(4);
    expect(sum(e, 'idlemint_device_requests_refused_total', { code: 'DEVICE.KEY_INVALID' })).toBeGreaterThanOrEqual(1);
    expect(sum(e, 'idlemint_results_total', { outcome: 'accepted' })).toBeGreaterThan(0);
    expect(e.types.get('idlemint_queue_jobs')).toBe('gauge');
    expect(e.samples.some((s) => s.name === 'idlemint_queue_jobs' && s.labels.queue === 'relay')).toBe(true);
    expect(sum(e, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('exposes the worker metrics: units, results, credits, deliveries per node, payouts, outbox, jobs', async () => {
    const { text, e } = await until(
      'verified units relayed to both nodes and a payout confirmed',
      () => scrape(stack.workerMetricsUrl),
      ({ e }) =>
        sum(e, 'idlemint_work_units', { status: 'verified' }) > 0 &&
        stack.nodes.every((n) => sum(e, 'idlemint_relay_deliveries', { node: n.name, outcome: 'delivered' }) > 0) &&
        sum(e, 'idlemint_payouts', { state: 'confirmed' }) > 0 &&
        sum(e, 'idlemint_jobs_total', { queue: 'ingest', outcome: 'completed' }) > 0,
    );
    if (promtoolAvailable()) expect(promtoolCheckMetrics(text)).toEqual([]);
    expect(sum(e, 'idlemint_assignments', { status: 'submitted', outcome: 'agreed' })).toBeGreaterThan(0);
    expect(sum(e, 'idlemint_rewards_minor_units')).toBeGreaterThan(0);
    expect(sum(e, 'idlemint_payouts_minor_units', { state: 'confirmed' })).toBeGreaterThan(0);
    expect(sum(e, 'idlemint_jobs_total', { queue: 'relay', outcome: 'completed' })).toBeGreaterThan(0);
    expect(sum(e, 'idlemint_jobs_total', { queue: 'ingest', outcome: 'completed' })).toBeGreaterThan(0);
    for (const family of ['idlemint_outbox_backlog', 'idlemint_outbox_oldest_age_seconds']) expect(e.types.get(family)).toBe('gauge');
    expect(sum(e, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  }, 180_000);

  it('logs one JSON line per api request with its request id, echoed to the caller', async () => {
    const res = await fetch(`${stack.apiUrl}/operator/v1/queues`, {
      headers: { 'x-operator-key': OPERATOR_KEY, 'x-request-id': `obs-${tag}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(`obs-${tag}`);
    const generated = (await fetch(`${stack.apiUrl}/health`)).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    const lines = await until(
      'the request line in the api log',
      () => Promise.resolve(readFileSync(join(logDir, 'api.log'), 'utf8').split('\n').filter(Boolean)),
      (ls) => ls.some((l) => l.includes(`obs-${tag}`)),
      30_000,
    );
    expect(lines.join('\n')).not.toContain('\u001b[');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = entries.find((x) => x.reqId === `obs-${tag}`);
    expect(mine).toMatchObject({ msg: 'request', method: 'GET', route: '/operator/v1/queues', status: 200, app: 'api', level: 'info' });
    expect(typeof mine?.ms).toBe('number');
    const claims = entries.filter((x) => x.msg === 'request' && x.route === '/device/v1/work/claim');
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) {
      expect(c.reqId).toEqual(expect.any(String));
      expect(c.deviceId).toEqual(expect.any(String));
      expect(c.manufacturerId).toEqual(expect.any(String));
    }
  });
});
