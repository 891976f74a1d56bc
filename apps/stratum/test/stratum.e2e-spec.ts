import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';
import { bitsToTarget, difficultyToTarget, hashValue, stratumHeader, u32Hex } from '@idlemint/crypto';
import type { PowBlocksPage } from '@idlemint/protocol';
import { startStack, type Stack } from '../../../scripts/lib/stack.js';
import { TEST_PG, TEST_REDIS, dropRedisKeys, uniqueSuffix } from '../../../test/support/scratch.js';
import { enrollMiners, stratumCredential, StratumClient, type EnrolledMiner } from '../../sim/src/index.js';
import { call } from '../../sim/src/http.js';

/**
 * The Stratum gateway on the real stack (built api, worker, gateway and two nodes as processes): a
 * miner speaking Stratum v1 as Bitaxe's firmware does mines real shares at a low difficulty, finds
 * a block at an easy network target, is credited, and both nodes append the block; hostile
 * sessions get the customary codes or are dropped. Needs `npm run build` first (npm test does).
 */
const OPERATOR_KEY = 'e2e-operator-key-stratum-0123456789';
const SHARE_DIFF = 0.0000002; // ~860 hashes a share; the network (1f00ffff) needs ~65,536 a block

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function poll<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > until)
      throw new Error(`${what}: not reached, last ${JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('Stratum v1 gateway end to end', () => {
  const tag = `e2e_${uniqueSuffix()}`;
  let stack: Stack;
  let miners: EnrolledMiner[];
  let mfrKey: string;
  const clients: StratumClient[] = [];
  const connect = async () => {
    const c = await StratumClient.connect(stack.stratumPort!);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    stack = await startStack({
      tag,
      pgBase: TEST_PG,
      redisUrl: TEST_REDIS,
      logDir: join(repoRoot(), '.demo', tag),
      operatorKey: OPERATOR_KEY,
      stratum: true,
      platformEnv: {
        SHARE_MIN_DIFF: '0.00000001',
        SHARE_START_DIFF: String(SHARE_DIFF),
        SHARE_BATCH_MS: '500',
        SHARE_TEMPLATE_MS: '500',
        SHARE_BLOCK_BONUS: '700',
        SHARE_PPS_PER_DIFF1: '1000000000', // 200 minor units a share of difficulty 2e-7
        MATURITY_MS: '1000',
        STRATUM_AUTH_TIMEOUT_MS: '3000',
        STRATUM_RECHECK_MS: '500',
        STRATUM_MAX_LINE: '2048',
        STRATUM_MAX_MSG_PER_MIN: '300',
        INGEST_EVERY_MS: '60000',
      },
      nodeEnv: { PENDING_SEED: '20', PENDING_RATE: '0', POW_BITS: '1f00ffff' },
    });
    ({ manufacturerApiKey: mfrKey, miners } = await enrollMiners(stack.apiUrl, OPERATOR_KEY, 2));
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.stop();
    await stack?.dropDatabases();
    if (stack) await dropRedisKeys(stack.redisPatterns);
  }, 60_000);

  it('mines shares and a block as a Bitaxe would; the owner is credited and both nodes append the block', async () => {
    const m = miners[0]!;
    const cred = await stratumCredential(stack.apiUrl, m.keys);
    expect(cred.username).toBe(m.deviceId);
    const c = await connect();
    const { configure, subscribe, authorize } = await c.handshake(cred.username, cred.password, SHARE_DIFF);
    expect(configure.result).toEqual({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    const sub = subscribe.result as [[string, string][], string, number];
    expect(sub[0].map((s) => s[0])).toEqual(['mining.set_difficulty', 'mining.notify']);
    expect(sub[1]).toMatch(/^[89a-f][0-9a-f]{7}$/); // extranonce1 per connection, top bit set
    expect(sub[2]).toBe(4);
    expect(authorize).toMatchObject({ result: true, error: null });
    await c.until(() => c.job !== null);
    expect(c.difficulty).toBe(SHARE_DIFF); // fractional, as the gateway sent it
    expect(c.job!.clean).toBe(true);
    expect(c.lines.find((l) => l.includes('"method":"mining.notify"'))).toMatch(
      /^\{"id":null,"method":"mining.notify","params":\["[0-9a-f]{8}","[0-9a-f]{64}",/,
    );

    const network = bitsToTarget(parseInt(c.job!.nbits, 16))!;
    const firstJob = c.job!;
    let accepted = 0;
    let blockShare: ReturnType<StratumClient['mineShare']> | null = null;
    while (!blockShare) {
      const s = c.mineShare();
      const r = await c.submit(cred.username, s);
      expect(r.error).toBeNull();
      expect(r.result).toBe(true);
      accepted++;
      if (s.hash <= network) blockShare = s;
      if (accepted > 2_000) throw new Error('no block after 2,000 shares');
    }
    // The same share again: duplicate (22).
    expect((await c.submit(cred.username, blockShare)).error?.[0]).toBe(22);
    // A nonce that misses the share target: low difficulty (23).
    const miss = { ...blockShare, extranonce2: 'fffffff0', nonce: '00000000' };
    for (let n = 0; ; n++) {
      const header = stratumHeader(firstJob, { extranonce1: c.extranonce1, ...miss, nonce: u32Hex(n), versionMask: c.versionMask });
      if (hashValue(header) > difficultyToTarget(SHARE_DIFF)) {
        miss.nonce = u32Hex(n);
        break;
      }
    }
    // (the job may already be stale if the block is relayed fast: then 21 is the right answer)
    expect([21, 23]).toContain((await c.submit(cred.username, miss)).error?.[0]);

    // Both nodes append the block; the gateway moves every miner to the new tip with clean_jobs.
    const appended = await Promise.all(
      stack.nodes.map((n) =>
        poll(
          `${n.name} tip`,
          async () => (await (await fetch(`${n.url}/v1/pow/blocks?after=0`)).json()) as PowBlocksPage,
          (p) => p.tip.height >= 1,
        ),
      ),
    );
    expect(new Set(appended.map((p) => p.blocks[0]!.hash)).size).toBe(1);
    expect(BigInt('0x' + appended[0]!.blocks[0]!.hash)).toBe(blockShare.hash);
    await c.until(() => c.job!.jobId !== firstJob.jobId && c.job!.clean);
    // A share for the old tip is stale now (21).
    expect((await c.submit(cred.username, { ...blockShare, extranonce2: 'ffffff00' })).error?.[0]).toBe(21);

    // Pay-per-share in batches and the block bonus: the owner's device is credited, every share once.
    const db = stack.databases[0]!;
    const rows = await poll(
      'shares credited',
      () =>
        query<{ n: string; credited: string }>(
          db,
          `SELECT count(*)::text AS n, count("batchId")::text AS credited FROM "HashShare" WHERE "deviceId" = $1`,
          [m.deviceId],
        ),
      (r) => r[0]!.n === r[0]!.credited && Number(r[0]!.n) === accepted,
    );
    expect(Number(rows[0]!.n)).toBe(accepted);
    const rewards = await query<{ why: string; amount: string }>(
      db,
      `SELECT "why", "amount"::text AS amount FROM "Reward" WHERE "deviceId" = $1`,
      [m.deviceId],
    );
    expect(rewards.some((r) => r.why.includes('hash shares'))).toBe(true);
    expect(rewards.some((r) => r.why.includes('found by a hash share') && r.amount === '700')).toBe(true);
    // Matured, the owner's share shows on the owner's earnings: share batches and the block bonus.
    const earnings = await poll(
      'owner credited',
      async () =>
        (
          await call<{ lines: { amount: string; why: string }[] }>(stack.apiUrl, 'GET', '/owner/v1/earnings', undefined, {
            authorization: `Bearer ${m.ownerToken}`,
          })
        ).body,
      (e) =>
        Array.isArray(e.lines) && e.lines.some((l) => l.why.includes('unit shares:')) && e.lines.some((l) => l.why.includes('unit block:')),
    );
    expect(earnings.lines.reduce((sum, l) => sum + BigInt(l.amount), 0n)).toBeGreaterThan(0n);
  }, 240_000);

  it('answers hostile sessions with the customary codes and drops abusive connections', async () => {
    // Submit before subscribing: 25. Subscribed but not authorized: 24. Wrong password: 24.
    const a = await connect();
    const early = await a.request(
      (id) => `{"params": ["x", "00000000", "00000000", "00000000", "00000000"], "id": ${id}, "method": "mining.submit"}`,
    );
    expect(early.error?.[0]).toBe(25);
    await a.request((id) => `{"id": ${id}, "method": "mining.subscribe", "params": ["cgminer/4.12.1"]}`);
    expect(
      (await a.request((id) => `{"params": ["x", "00000000", "00000000", "00000000", "00000000"], "id": ${id}, "method": "mining.submit"}`))
        .error?.[0],
    ).toBe(24);
    expect(
      (await a.request((id) => `{"id": ${id}, "method": "mining.authorize", "params": ["${miners[1]!.deviceId}", "wrong"]}`)).error?.[0],
    ).toBe(24);
    // …and with no valid authorization in time the gateway hangs up.
    await a.until(() => a.closed, 30_000);

    // A line over the limit: dropped.
    const b = await connect();
    b.writeRaw('{"id": 1, "method": "mining.subscribe", "params": ["' + 'x'.repeat(4096) + '"]}\n');
    await b.until(() => b.closed, 30_000);

    // A flood: more messages a minute than allowed, dropped.
    const f = await connect();
    f.writeRaw(`{"id": 1, "method": "mining.extranonce.subscribe", "params": []}\n`.repeat(400));
    await f.until(() => f.closed, 30_000);
    expect(f.lines.length).toBeLessThanOrEqual(300);
  }, 120_000);

  it('disconnects a device when its manufacturer revokes it', async () => {
    const m = miners[1]!;
    const cred = await stratumCredential(stack.apiUrl, m.keys);
    const c = await connect();
    expect((await c.handshake(cred.username, cred.password, SHARE_DIFF)).authorize.result).toBe(true);
    await c.until(() => c.job !== null);
    const s = c.mineShare();
    expect((await c.submit(cred.username, s)).result).toBe(true);
    const r = await call(
      stack.apiUrl,
      'POST',
      '/manufacturer/v1/devices/bulk',
      { action: 'revoke', ids: [m.deviceId] },
      { 'x-api-key': mfrKey },
    );
    expect(r.status).toBeLessThan(300);
    await c.until(() => c.closed, 30_000);
    // It cannot come back: authorization refused.
    const again = await connect();
    expect((await again.handshake(cred.username, cred.password)).authorize.error?.[0]).toBe(24);
  }, 120_000);
});
