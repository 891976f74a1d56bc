import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigModule, DbModule, PrismaService, RedisModule, newId } from '@idlemint/core';
import type { SeriesMetric } from '@idlemint/protocol';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { createDevice, createFleet, createOwner, type TestDevice, type TestFleet } from '../../../test/support/work.js';
import { FleetModule } from './fleet.module.js';
import { FleetRollupRepository, ROLLUP_SETTLE_MS } from './fleet-rollup.repository.js';
import { FleetSeriesService } from './fleet-series.service.js';

/**
 * The hourly rollup behind GET /manufacturer/v1/fleet/series on its own: known heartbeats,
 * verified units and reward postings (across hour and day boundaries, with rows that must not
 * count) in a scratch database, one pass, the exact series; a second pass from the watermark adds
 * nothing; rows that arrive after a pass are counted or not exactly as docs/fleet-api.md says.
 */

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
/** A fixed past day: the series are asked for explicit ranges, nothing depends on the clock. */
const DAY0 = Date.UTC(2026, 0, 10);
const H0 = DAY0 + 10 * H;
const DAY1 = DAY0 + DAY;
const at = (ms: number) => new Date(ms);
/** The `now` that makes a pass read up to `upTo` (it reads up to now less the settle time). */
const passAt = (upTo: number) => at(upTo + ROLLUP_SETTLE_MS);

describe('fleet hourly rollup', () => {
  let mod: TestingModule;
  let db: PrismaService;
  let series: FleetSeriesService;
  let rollups: FleetRollupRepository;
  let drop: () => Promise<void>;
  let patterns: string[];

  beforeAll(async () => {
    const scratch = await scratchDatabase('rollup');
    drop = scratch.drop;
    const config = testConfig(scratch.url);
    patterns = redisPatterns(config);
    mod = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), DbModule, RedisModule, FleetModule] }).compile();
    await mod.init();
    db = mod.get(PrismaService);
    series = mod.get(FleetSeriesService);
    rollups = mod.get(FleetRollupRepository);
  });

  afterAll(async () => {
    await mod?.close();
    await dropRedisKeys(patterns);
    await drop?.();
  });

  // -------------------------------------------------------------------------------------------
  // Row factories: written straight into the tables the rollup reads.

  let seq = 0;
  /** A unit decided at `decidedAt` with one assignment per device and its outcome. */
  async function unit(decidedAt: number, results: [TestDevice, 'agreed' | 'disagreed'][], status: 'verified' | 'disputed' = 'verified') {
    const id = newId();
    await db.workUnit.create({
      data: {
        id,
        kind: 'tx-verify',
        deviceClass: 'rollup-test',
        status,
        quorum: 2,
        maxReplicas: 5,
        replicasIssued: results.length,
        items: [],
        reward: 1000,
        createdAt: at(decidedAt - MIN),
        decidedAt: at(decidedAt),
      },
    });
    for (const [i, [d, outcome]] of results.entries()) {
      await db.assignment.create({
        data: {
          id: newId(),
          unitId: id,
          deviceId: d.id,
          ownerId: d.ownerId,
          replica: i,
          jobId: `job-${++seq}`,
          lockToken: `lock-${seq}`,
          deadline: at(decidedAt + MIN),
          status: 'submitted',
          outcome,
          submittedAt: at(decidedAt),
        },
      });
    }
    return id;
  }

  async function account(code: string): Promise<string> {
    const found = await db.ledgerAccount.findUnique({ where: { code } });
    if (found) return found.id;
    const id = newId();
    await db.ledgerAccount.create({ data: { id, code, kind: code.split(':')[0]! } });
    return id;
  }

  /** One balanced journal entry of `kind` stamped `createdAt`, postings as [account code, amount]. */
  async function entry(kind: string, createdAt: number, postings: [string, bigint][]) {
    const accounts = await Promise.all(postings.map(([code]) => account(code)));
    await db.$transaction(async (tx) => {
      const entryId = newId();
      await tx.journalEntry.create({
        data: { id: entryId, idempotencyKey: `e-${entryId}`, kind, memo: 'rollup test', createdAt: at(createdAt) },
      });
      for (const [i, [, amount]] of postings.entries()) {
        await tx.posting.create({
          data: {
            id: newId(),
            entryId,
            accountId: accounts[i]!,
            amount: amount.toString(),
            idempotencyKey: `p-${entryId}-${i}`,
            memo: 'rollup test',
            createdAt: at(createdAt),
          },
        });
      }
    });
  }

  const reward = (createdAt: number, m: TestFleet | null, mShare: bigint, d: TestDevice, dShare: bigint) =>
    entry('reward', createdAt, [
      ['rewards:pool', -(mShare + dShare)],
      ...(m ? [[`manufacturer:${m.manufacturerId}`, mShare] as [string, bigint]] : []),
      [`device:${d.id}`, dShare],
    ]);

  /** The heartbeat buffer's upsert: a (device, hour) row that grows in place. */
  async function heartbeats(d: TestDevice, hour: number, n: number) {
    await db.telemetryRollup.upsert({
      where: { deviceId_hour: { deviceId: d.id, hour: at(hour) } },
      create: {
        deviceId: d.id,
        hour: at(hour),
        manufacturerId: d.manufacturerId,
        heartbeats: n,
        idle: 0,
        tempCount: 0,
        tempSum: 0,
        powerCount: 0,
        powerSum: 0,
        loadCount: 0,
        loadSum: 0,
      },
      update: { heartbeats: n },
    });
  }

  async function points(m: TestFleet, metric: SeriesMetric, bucket: 'hour' | 'day', from: number, to: number) {
    const p = { manufacturerId: m.manufacturerId, keyId: 'test', role: 'viewer' as const };
    const r = await series.series(p, { metric, bucket, from: at(from), to: at(to) });
    return r.points.map((x) => x.value);
  }

  /** Every metric of A over three hours from H0 and over two days from DAY0. */
  async function snapshot(m: TestFleet) {
    const out: Record<string, (number | string)[]> = {};
    for (const metric of ['heartbeats', 'units_verified', 'results_agreed', 'rewards_manufacturer', 'rewards_owners'] as const) {
      out[`${metric}/hour`] = await points(m, metric, 'hour', H0, H0 + 3 * H);
      out[`${metric}/day`] = await points(m, metric, 'day', DAY0, DAY0 + 2 * DAY);
    }
    return out;
  }

  it('rolls up known rows exactly, a second pass adds nothing, and late rows count as documented', async () => {
    // Nothing else in this scratch database writes the rollup: start from no watermark at all.
    expect(await rollups.through()).toBeNull();

    const a = await createFleet(db);
    const b = await createFleet(db);
    const a1 = await createDevice(db, a, await createOwner(db));
    const a2 = await createDevice(db, a, await createOwner(db));
    const b1 = await createDevice(db, b, await createOwner(db));

    // Units. Hour H0: u1 (a1 and a2 agree, a third device of B disagreed: not A's, not agreed),
    // u2 at the hour's last millisecond (a1). Hour H0+1 exactly: u3 (a2 and B's b1). Day 1: u4.
    await unit(H0 + 10 * MIN, [
      [a1, 'agreed'],
      [a2, 'agreed'],
      [b1, 'disagreed'],
    ]);
    await unit(H0 + H - 1, [[a1, 'agreed']]);
    await unit(H0 + H, [
      [a2, 'agreed'],
      [b1, 'agreed'],
    ]);
    await unit(DAY1 + 3 * H, [[a1, 'agreed']]);
    // Not counted: a disputed unit (no verdict), and a verified one that none of A's devices agreed on.
    await unit(H0 + 5 * MIN, [[a1, 'agreed']], 'disputed');
    await unit(H0 + 6 * MIN, [
      [a1, 'disagreed'],
      [b1, 'agreed'],
    ]);

    // Rewards: the manufacturer's share and its devices' (owners') shares, by the hour stamped.
    await reward(H0 + 15 * MIN, a, 300n, a1, 700n);
    await reward(H0 + H + MIN, a, 150n, a2, 350n);
    await reward(DAY1 + 3 * H + 30 * MIN, null, 0n, a1, 100n);
    await reward(H0 + 16 * MIN, b, 50n, b1, 50n);
    // Not counted: a payout (not a reward), and maturing rewards still on the immature account.
    await entry('payout', H0 + 20 * MIN, [
      [`device:${a1.id}`, -200n],
      ['payouts:in-flight', 200n],
    ]);
    await entry('reward', H0 + 21 * MIN, [
      ['rewards:pool', -80n],
      [`immature:${a1.id}`, 80n],
    ]);

    // Heartbeats per (device, hour).
    await heartbeats(a1, H0, 60);
    await heartbeats(a2, H0, 30);
    await heartbeats(a1, H0 + H, 12);
    await heartbeats(b1, H0, 99);
    await heartbeats(a1, DAY1 + 3 * H, 5);

    // Pass 1 reads everything up to DAY1 03:40, in the middle of an hour that already has rows.
    const w1 = DAY1 + 3 * H + 40 * MIN;
    expect(await series.rollUp(passAt(w1))).toEqual({ from: new Date(0), through: at(w1) });
    const first = await snapshot(a);
    expect(first).toEqual({
      'heartbeats/hour': [90, 12, 0],
      'heartbeats/day': [102, 5],
      'units_verified/hour': [2, 1, 0],
      'units_verified/day': [3, 1],
      'results_agreed/hour': [3, 1, 0],
      'results_agreed/day': [4, 1],
      'rewards_manufacturer/hour': ['300', '150', '0'],
      'rewards_manufacturer/day': ['450', '0'],
      'rewards_owners/hour': ['700', '350', '0'],
      'rewards_owners/day': ['1050', '100'],
    });
    // The other tenant's rows are its own.
    expect(await points(b, 'heartbeats', 'hour', H0, H0 + 2 * H)).toEqual([99, 0]);
    expect(await points(b, 'units_verified', 'hour', H0, H0 + 2 * H)).toEqual([1, 1]);
    expect(await points(b, 'rewards_manufacturer', 'hour', H0, H0 + 2 * H)).toEqual(['50', '0']);
    expect(
      (await series.series({ manufacturerId: a.manufacturerId, keyId: 't', role: 'viewer' }, { metric: 'heartbeats', bucket: 'hour' }))
        .through,
    ).toBe(at(w1).toISOString());

    // A pass at the same time reads nothing; a later one with nothing new changes nothing.
    expect(await series.rollUp(passAt(w1))).toEqual({ from: at(w1), through: at(w1) });
    const w2 = w1 + MIN;
    expect(await series.rollUp(passAt(w2))).toEqual({ from: at(w1), through: at(w2) });
    expect(await snapshot(a)).toEqual(first);

    // Late rows. Stamped after the watermark (03:41): counted by the next pass, added to the
    // hour's existing counts (DAY1 03:00 holds u4 and 100 already).
    await unit(DAY1 + 3 * H + 45 * MIN, [
      [a1, 'agreed'],
      [a2, 'agreed'],
    ]);
    await reward(DAY1 + 3 * H + 50 * MIN, a, 20n, a2, 80n);
    // Stamped at or before the watermark but committed only now (what the settle time is for):
    // the watermark has passed them, so no pass ever counts them.
    await unit(w1, [[a1, 'agreed']]);
    await reward(w1 - MIN, a, 1_000n, a1, 1_000n);
    // The watermark's hour's heartbeats are recomputed (the row grew from 5 to 8, not 5 + 8);
    // an earlier hour's are not read again.
    await heartbeats(a1, DAY1 + 3 * H, 8);
    await heartbeats(a2, H0, 31);
    // Inside the settle time of the next pass: left for the pass after it.
    const w3 = DAY1 + 4 * H;
    await unit(w3 + 10_000, [[a2, 'agreed']]);

    expect(await series.rollUp(passAt(w3))).toEqual({ from: at(w2), through: at(w3) });
    const day1Hours = async (metric: SeriesMetric) => points(a, metric, 'hour', DAY1 + 3 * H, DAY1 + 5 * H);
    expect(await day1Hours('units_verified')).toEqual([2, 0]);
    expect(await day1Hours('results_agreed')).toEqual([3, 0]);
    expect(await day1Hours('rewards_manufacturer')).toEqual(['20', '0']);
    expect(await day1Hours('rewards_owners')).toEqual(['180', '0']);
    expect(await day1Hours('heartbeats')).toEqual([8, 0]);
    expect(await points(a, 'heartbeats', 'hour', H0, H0 + H)).toEqual([90]);

    // The next pass takes the unit that was inside the settle time, once.
    const w4 = w3 + MIN;
    await rollups.rollUp(at(w4));
    await rollups.rollUp(at(w4 + MIN));
    expect(await day1Hours('units_verified')).toEqual([2, 1]);
    expect(await points(a, 'units_verified', 'day', DAY0, DAY0 + 2 * DAY)).toEqual([3, 3]);
    expect(await rollups.through()).toEqual(at(w4 + MIN));
  });
});
