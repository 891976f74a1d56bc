import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigModule, DbModule, PrismaService, REDIS, RedisModule, workQueueName, type Config } from '@idlemint/core';
import { verifyItem, type TxItem } from '@idlemint/crypto';
import type { Redis } from 'ioredis';
import { LedgerModule } from '@idlemint/ledger';
import { VerificationModule } from '@idlemint/verification';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropRedisKeys, redisPatterns, testConfig } from '../../../test/support/scratch.js';
import {
  createDevice,
  createFleet,
  createOwner,
  createUnit,
  eventually,
  realPositions,
  type Held,
  type TestFleet,
  type UnitSpec,
  startWorkPlatform,
  type WorkPlatform,
} from '../../../test/support/work.js';
import { AssignmentsService, CanaryStock, WorkModule, WorkQueues } from './index.js';

/**
 * Assign: replica jobs on a per-class BullMQ queue, taken by manual fetching with the job lock as
 * the lease; the Assignment row in Postgres is the record. Real Postgres (scratch database) and
 * real Redis (own prefixes). LEASE_MS is short so an expired lease is seen within seconds.
 */

const LEASE_MS = 1500;
const CANARIES_UNTRUSTED = 2;

describe('work assignment', () => {
  let platform: WorkPlatform;
  let config: Config;
  let db: PrismaService;
  let queues: WorkQueues;
  let assignments: AssignmentsService;

  beforeAll(async () => {
    platform = await startWorkPlatform('work', {
      LEASE_MS: String(LEASE_MS),
      CANARIES_UNTRUSTED: String(CANARIES_UNTRUSTED),
      CANARIES_TRUSTED: '1',
      TRUST_AFTER: '3',
      CANARY_STOCK: '20',
    });
    ({ config, db } = platform);
    queues = platform.mod.get(WorkQueues);
    assignments = platform.mod.get(AssignmentsService);
  });

  afterAll(() => platform?.close());

  /** A fleet of its own device class (so its own queue), and a unit with `replicas` jobs queued. */
  async function unitWithReplicas(fleet: TestFleet, replicas: number, extra: Partial<UnitSpec> = {}) {
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, replicasIssued: Math.max(2, replicas), ...extra });
    for (let r = 1; r <= replicas; r++) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });
    return unit;
  }

  const jobState = (fleet: TestFleet, jobId: string) => queues.queue(fleet.deviceClass).getJobState(jobId);

  it('hands out a replica with its items and a lease deadline, recorded in Postgres and locked in Redis', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 2);
    const device = await createDevice(db, fleet, await createOwner(db));

    const before = Date.now();
    const res = await assignments.claim(device, {});
    const after = Date.now();

    expect(res).not.toBeNull();
    const a = res!.assignment;
    expect(a.unitId).toBe(unit.id);
    expect(a.kind).toBe('tx-verify');
    const deadline = Date.parse(a.deadline);
    expect(deadline).toBeGreaterThanOrEqual(before + LEASE_MS);
    expect(deadline).toBeLessThanOrEqual(after + LEASE_MS);

    // the unit's own items, in order, with this assignment's canaries planted among them
    const planted = (await db.assignment.findUniqueOrThrow({ where: { id: a.assignmentId } })).canaries as Held['canaries'];
    expect(planted).toHaveLength(CANARIES_UNTRUSTED);
    expect(a.items).toHaveLength(unit.items.length + CANARIES_UNTRUSTED);
    const held: Held = { assignmentId: a.assignmentId, unitId: a.unitId, items: a.items, canaries: planted };
    expect(realPositions(held).map((i) => a.items[i])).toEqual(unit.items);
    for (const c of planted) expect(verifyItem(a.items[c.index]!)).toBe(c.valid);
    expect(planted.some((c) => !c.valid)).toBe(true);

    const row = await db.assignment.findUniqueOrThrow({ where: { id: a.assignmentId } });
    expect(row).toMatchObject({
      unitId: unit.id,
      deviceId: device.id,
      ownerId: device.ownerId,
      status: 'leased',
      outcome: null,
    });
    // either replica: devices are handed replicas in a random order (placement.ts), not the cut order
    expect([1, 2]).toContain(row.replica);
    expect(row.jobId).toBe(`unit-${unit.id}-r${row.replica}`);
    expect(row.deadline.getTime()).toBe(deadline);
    expect(await jobState(fleet, row.jobId)).toBe('active');
    // the lock in Redis is the lease: held with the token the assignment recorded, for LEASE_MS
    const redis = platform.mod.get<Redis>(REDIS);
    const lockKey = `${config.QUEUE_PREFIX}:${workQueueName(fleet.deviceClass)}:${row.jobId}:lock`;
    expect(await redis.get(lockKey)).toBe(row.lockToken);
    const ttl = await redis.pttl(lockKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LEASE_MS);
    // and the deadline told to the device does not outlive the lock
    expect(deadline).toBeLessThanOrEqual(Date.now() + ttl + 1);
    expect(await db.assignment.count({ where: { unitId: unit.id } })).toBe(1);
  });

  it('a claim on an empty queue returns null and records nothing', async () => {
    const fleet = await createFleet(db);
    const device = await createDevice(db, fleet, await createOwner(db));
    expect(await assignments.claim(device, {})).toBeNull();
    expect(await db.assignment.count({ where: { deviceId: device.id } })).toBe(0);
  });

  it('a device of the same owner cannot take a second replica of a unit; a device of another owner can', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 2);
    const owner = await createOwner(db);
    const a1 = await createDevice(db, fleet, owner);
    const a2 = await createDevice(db, fleet, owner);
    const b = await createDevice(db, fleet, await createOwner(db));

    const first = await assignments.claim(a1, {});
    expect(first?.assignment.unitId).toBe(unit.id);

    // only replica 2 of the same unit is queued: the sibling device gets nothing
    expect(await assignments.claim(a2, {})).toBeNull();
    expect(await db.assignment.count({ where: { deviceId: a2.id } })).toBe(0);
    // the replica was given back, not lost: it is waiting (delayed) in the queue again
    const taken = (await db.assignment.findFirstOrThrow({ where: { deviceId: a1.id } })).replica;
    const left = taken === 1 ? 2 : 1;
    expect(['delayed', 'waiting', 'prioritized']).toContain(await jobState(fleet, `unit-${unit.id}-r${left}`));

    // a device of another owner gets it once the short give-back delay is over
    const other = await eventually(() => assignments.claim(b, {}), 5_000, 100);
    expect(other.assignment.unitId).toBe(unit.id);
    const rows = await db.assignment.findMany({ where: { unitId: unit.id }, orderBy: { replica: 'asc' } });
    expect(rows.map((r) => [r.replica, r.deviceId, r.ownerId])).toEqual(
      [
        [taken, a1.id, owner],
        [left, b.id, b.ownerId],
      ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    );
  });

  it('the sibling of the same owner is handed a different unit instead when one is queued', async () => {
    const fleet = await createFleet(db);
    const u = await unitWithReplicas(fleet, 2);
    const v = await unitWithReplicas(fleet, 2);
    const owner = await createOwner(db);
    const a1 = await createDevice(db, fleet, owner);
    const a2 = await createDevice(db, fleet, owner);

    // replicas are handed out in a seeded random order: a1 gets either unit, its sibling the other
    const first = (await assignments.claim(a1, {}))?.assignment.unitId;
    const second = (await assignments.claim(a2, {}))?.assignment.unitId;
    expect([first, second].sort()).toEqual([u.id, v.id].sort());
    // and the owner never holds two replicas of one unit
    const byUnit = await db.assignment.groupBy({ by: ['unitId'], where: { ownerId: owner }, _count: true });
    expect(byUnit.map((g) => g._count).sort()).toEqual([1, 1]);
  });

  it('the same device never holds two replicas of one unit (unowned device included)', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 3, { replicasIssued: 3 });
    const device = await createDevice(db, fleet, null);

    const first = await assignments.claim(device, {});
    expect(first?.assignment.unitId).toBe(unit.id);
    for (let i = 0; i < 3; i++) {
      const again = await assignments.claim(device, {});
      if (again) expect(again.assignment.unitId).not.toBe(unit.id);
      await sleep(300); // past the give-back delay, so the other replicas are offered again
    }
    expect(await db.assignment.count({ where: { unitId: unit.id, deviceId: device.id } })).toBe(1);

    // two other unowned devices can take the remaining two replicas
    const d2 = await createDevice(db, fleet, null);
    const d3 = await createDevice(db, fleet, null);
    expect((await eventually(() => assignments.claim(d2, {}), 3_000)).assignment.unitId).toBe(unit.id);
    expect((await eventually(() => assignments.claim(d3, {}), 3_000)).assignment.unitId).toBe(unit.id);
    const replicas = await db.assignment.findMany({ where: { unitId: unit.id }, select: { replica: true } });
    expect(replicas.map((r) => r.replica).sort()).toEqual([1, 2, 3]);
  });

  it('a lease that runs out returns the replica to the queue and another device claims it', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 1);
    const slow = await createDevice(db, fleet, await createOwner(db));
    const next = await createDevice(db, fleet, await createOwner(db));

    const held = await assignments.claim(slow, {});
    expect(held?.assignment.unitId).toBe(unit.id);
    // while the lease holds nobody else gets it
    expect(await assignments.claim(next, {})).toBeNull();

    const started = Date.now();
    const taken = await eventually(() => assignments.claim(next, {}), 10_000, 200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(taken.assignment.unitId).toBe(unit.id);
    expect(Date.parse(taken.assignment.deadline)).toBeGreaterThan(Date.parse(held!.assignment.deadline));

    const rows = await db.assignment.findMany({ where: { unitId: unit.id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.deviceId, r.replica, r.jobId])).toEqual([
      [slow.id, 1, `unit-${unit.id}-r1`],
      [next.id, 1, `unit-${unit.id}-r1`],
    ]);
    expect(rows[1]!.lockToken).not.toBe(rows[0]!.lockToken);
    expect(await jobState(fleet, `unit-${unit.id}-r1`)).toBe('active');
  }, 20_000);

  it('a unit that is no longer open is discarded on claim and the next open one handed out', async () => {
    const fleet = await createFleet(db);
    const closed = await unitWithReplicas(fleet, 1, { status: 'verified' });
    const disputed = await unitWithReplicas(fleet, 1, { status: 'disputed' });
    const device = await createDevice(db, fleet, await createOwner(db));

    expect(await assignments.claim(device, {})).toBeNull();
    expect(await db.assignment.count({ where: { deviceId: device.id } })).toBe(0);
    // gone from the queue, not given back
    for (const u of [closed, disputed]) {
      expect(await queues.queue(fleet.deviceClass).getJob(`unit-${u.id}-r1`)).toBeUndefined();
    }
    await sleep(300);
    expect(await assignments.claim(device, {})).toBeNull();

    const closedAgain = await unitWithReplicas(fleet, 1, { status: 'verified' });
    const open = await unitWithReplicas(fleet, 1);
    const res = await assignments.claim(device, {});
    expect(res?.assignment.unitId).toBe(open.id);
    // whichever came first in the placement order, the closed unit's job is gone after the next claim
    expect(await assignments.claim(device, {})).toBeNull();
    expect(await queues.queue(fleet.deviceClass).getJob(`unit-${closedAgain.id}-r1`)).toBeUndefined();
  });

  it('a unit that would exceed maxItems with its canaries is not handed out and stays queued for others', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 1, { answers: '01101' });
    const small = await createDevice(db, fleet, await createOwner(db));
    const big = await createDevice(db, fleet, await createOwner(db));

    // 5 items of the unit + 2 canaries = 7
    expect(await assignments.claim(small, { maxItems: 6 })).toBeNull();
    expect(await db.assignment.count({ where: { unitId: unit.id } })).toBe(0);
    const res = await eventually(() => assignments.claim(big, { maxItems: 7 }), 3_000);
    expect(res.assignment.unitId).toBe(unit.id);
    expect(res.assignment.items).toHaveLength(7);
  });

  it('no device decides alone: every unit keeps its QUORUM replicas; a trusted taker only gets fewer canaries', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 2, { quorum: config.QUORUM, replicasIssued: config.QUORUM });
    const proven = await createDevice(db, fleet, await createOwner(db));
    await db.device.update({ where: { id: proven.id }, data: { consecutiveValid: 1_000, strikes: 0, reputation: 1 } });
    const res = await assignments.claim(proven, {});
    expect(res?.assignment.unitId).toBe(unit.id);
    expect(res!.assignment.items).toHaveLength(unit.items.length + config.CANARIES_TRUSTED);
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ quorum: 2, replicasIssued: 2 });
    // the other replica is still there for an independent device
    const other = await createDevice(db, fleet, await createOwner(db));
    const second = await eventually(() => assignments.claim(other, {}), 10_000);
    expect(second.assignment.unitId).toBe(unit.id);
    expect(second.assignment.items).toHaveLength(unit.items.length + CANARIES_UNTRUSTED);
  });

  it('a device past its daily quota gets no work, and the replica stays queued', async () => {
    const fleet = await createFleet(db);
    const u1 = await unitWithReplicas(fleet, 1);
    const u2 = await unitWithReplicas(fleet, 1);
    const device = await createDevice(db, fleet, await createOwner(db));
    await db.device.update({ where: { id: device.id }, data: { dailyQuota: 1 } });
    const first = (await assignments.claim(device, {}))?.assignment.unitId;
    expect([u1.id, u2.id]).toContain(first);
    const rest = first === u1.id ? u2 : u1;
    expect(await assignments.claim(device, {})).toBeNull();
    // replica jobs wait with a placement priority: 'prioritized' is BullMQ's waiting state for them
    expect(await jobState(fleet, `unit-${rest.id}-r1`)).toBe('prioritized');
    const other = await createDevice(db, fleet, await createOwner(db));
    expect((await assignments.claim(other, {}))?.assignment.unitId).toBe(rest.id);
  });

  it('where a unit needs two manufacturers, its second replica waits for a device of another manufacturer', async () => {
    const spreadConfig = testConfig(config.DATABASE_URL, { CANARIES_UNTRUSTED: '1' });
    const spread = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(spreadConfig), DbModule, RedisModule, WorkModule, VerificationModule, LedgerModule],
    }).compile();
    await spread.init();
    try {
      const sq = spread.get(WorkQueues);
      const sa = spread.get(AssignmentsService);
      const m1 = await createFleet(db);
      const m2 = await createFleet(db, 4, m1.deviceClass);
      const unit = await createUnit(db, { deviceClass: m1.deviceClass, minManufacturers: 2 });
      for (const replica of [1, 2]) await sq.addReplica(m1.deviceClass, { unitId: unit.id, replica });
      const a = await createDevice(db, m1, await createOwner(db));
      const sameMaker = await createDevice(db, m1, await createOwner(db));
      const otherMaker = await createDevice(db, m2, await createOwner(db));

      expect((await sa.claim(a, {}))?.assignment.unitId).toBe(unit.id);
      expect(await sa.claim(sameMaker, {})).toBeNull();
      const res = await eventually(() => sa.claim(otherMaker, {}), 3_000);
      expect(res.assignment.unitId).toBe(unit.id);
      const holders = await db.assignment.findMany({ where: { unitId: unit.id }, select: { deviceId: true } });
      expect(holders.map((h) => h.deviceId).sort()).toEqual([a.id, otherMaker.id].sort());
    } finally {
      await spread.close();
      await dropRedisKeys(redisPatterns(spreadConfig));
    }
  });

  it('the canary stock is made ahead, handed out with the first canary invalid, and each use counted', async () => {
    const stock = platform.mod.get(CanaryStock);
    await db.canary.deleteMany({});
    const made = await stock.replenish();
    expect(made).toBe(config.CANARY_STOCK);
    const rows = await db.canary.findMany();
    expect(rows.filter((r) => r.valid)).toHaveLength(config.CANARY_STOCK / 2);
    for (const r of rows) expect(verifyItem(r.item as unknown as TxItem)).toBe(r.valid);
    expect(await stock.replenish()).toBe(0);

    const taken = await stock.take(3);
    expect(taken).toHaveLength(3);
    expect(taken[0]!.valid).toBe(false);
    const stored = new Set(rows.map((r) => JSON.stringify(r.item)));
    for (const c of taken) {
      expect(stored.has(JSON.stringify(c.item)), 'taken from the stock, not made on the spot').toBe(true);
      expect(verifyItem(c.item)).toBe(c.valid);
    }
    // the batch fetched into this process counts as one use of each
    const uses = await db.canary.findMany({ select: { uses: true } });
    expect(uses.every((u) => u.uses === 1)).toBe(true);
  });

  it('the same replica added twice is one job (deterministic job id)', async () => {
    const fleet = await createFleet(db);
    const unit = await unitWithReplicas(fleet, 1);
    await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: 1 });
    const counts = await queues.queue(fleet.deviceClass).getJobCounts('wait', 'prioritized', 'delayed', 'active');
    expect(counts).toEqual({ wait: 0, prioritized: 1, delayed: 0, active: 0 });
  });
});
