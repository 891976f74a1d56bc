import 'reflect-metadata';
import { PrismaService } from '@idlemint/core';
import { RelayService } from '@idlemint/relay';
import { AssignmentsService, WorkQueues } from '@idlemint/work';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDevice,
  createFleet,
  createOwner,
  createUnit,
  flip,
  honestVerdicts,
  realPositions,
  signedResult,
  type Held,
  type TestDevice,
  type TestFleet,
  type TestUnit,
  type UnitSpec,
  startWorkPlatform,
  type WorkPlatform,
} from '../../../test/support/work.js';
import { VerificationService } from './index.js';

/**
 * The patient attackers of issue 13, each on the real claim and submit paths (Postgres, Redis,
 * real signatures): devices that behave until trusted and then lie, alone (`turncoat`, `sleeper`,
 * `targeted`) or together (`cartel`, `sybil`). No single device's word verifies a unit, however
 * trusted; replicas are kept apart by owner, origin and manufacturer and handed out in an order the
 * claimers do not choose; and a wrong verdict that two colluders manage to agree on is caught by
 * the audit and retracted.
 */

describe('patient attackers', () => {
  let platform: WorkPlatform;
  let db: PrismaService;
  let queues: WorkQueues;
  let assignments: AssignmentsService;
  let verification: VerificationService;

  beforeAll(async () => {
    platform = await startWorkPlatform('patient', {
      CANARIES_UNTRUSTED: '2',
      CANARIES_TRUSTED: '1',
      TRUST_AFTER: '10',
      QUARANTINE_STRIKES: '3',
      PLACEMENT_SEED: 'patient-attackers',
      AUDIT_RATE: '0',
    });
    db = platform.db;
    queues = platform.mod.get(WorkQueues);
    assignments = platform.mod.get(AssignmentsService);
    verification = platform.mod.get(VerificationService);
  });

  afterAll(() => platform?.close());

  // --- helpers -------------------------------------------------------------------------------

  let originSeq = 0;
  const freshOrigin = () => `198.51.${Math.floor(++originSeq / 250)}.${(originSeq % 250) + 1}`;

  /** A device that behaved for `record` results in a row: as trusted as the platform makes anyone. */
  async function trustedDevice(fleet: TestFleet, ownerId?: string, record = 200): Promise<TestDevice> {
    const d = await createDevice(db, fleet, ownerId ?? (await createOwner(db)));
    await db.device.update({
      where: { id: d.id },
      data: { consecutiveValid: record, validResults: record, reputation: 1, dailyQuota: 20_000 },
    });
    return d;
  }

  async function unitWithReplicas(fleet: TestFleet, spec: Partial<UnitSpec> = {}): Promise<TestUnit> {
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, answers: '011010', ...spec });
    const quorum = spec.quorum ?? 2;
    for (let r = 1; r <= (spec.replicasIssued ?? quorum); r++) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });
    return unit;
  }

  async function claim(device: TestDevice, origin: string | null = freshOrigin()): Promise<Held | null> {
    const res = await assignments.claim(device, {}, origin);
    if (!res) return null;
    const { assignmentId, unitId, items } = res.assignment;
    const row = await db.assignment.findUniqueOrThrow({ where: { id: assignmentId } });
    return { assignmentId, unitId, items, canaries: row.canaries as Held['canaries'] };
  }

  /** A replica given back waits a moment before it is handed out again: claim until one comes. */
  async function claimWhenQueued(device: TestDevice): Promise<Held> {
    for (let i = 0; i < 200; i++) {
      const h = await claim(device);
      if (h) return h;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no replica came back to the queue');
  }

  const honest = (h: Held) => honestVerdicts(h.items);
  /** Right on every canary, wrong on the unit's own item `k`: the lie a patient device tells. */
  const lie = (h: Held, k = 0) => flip(honest(h), realPositions(h)[k]!);
  const submit = (d: TestDevice, h: Held, verdicts: string) => verification.submit(d, h.assignmentId, signedResult(d, h.unitId, verdicts));
  const unitRow = (id: string) => db.workUnit.findUniqueOrThrow({ where: { id } });
  const strikesOf = async (d: TestDevice) => (await db.device.findUniqueOrThrow({ where: { id: d.id } })).strikes;

  /** Honest devices of fresh owners answer the unit until it is decided. */
  async function settleHonestly(fleet: TestFleet, unitId: string): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const u = await unitRow(unitId);
      if (u.status !== 'open') return;
      for (let r = 1; r <= u.replicasIssued; r++) await queues.addReplica(fleet.deviceClass, { unitId, replica: r });
      const d = await createDevice(db, fleet, await createOwner(db));
      const h = await claim(d);
      if (h?.unitId === unitId) await submit(d, h, honest(h));
    }
  }

  // --- every kind ----------------------------------------------------------------------------

  it('turncoat: a trusted device that flips one real item is never verified alone; the honest majority decides and strikes it', async () => {
    const fleet = await createFleet(db);
    const turncoat = await trustedDevice(fleet);
    const unit = await unitWithReplicas(fleet);
    const held = (await claim(turncoat))!;
    expect(held.canaries).toHaveLength(1); // trust buys fewer canaries ...
    expect(await submit(turncoat, held, lie(held))).toEqual({ status: 'pending' }); // ... never a solo verdict
    expect(await unitRow(unit.id)).toMatchObject({ status: 'open', quorum: 2, verdicts: null });

    await settleHonestly(fleet, unit.id);
    expect(await unitRow(unit.id)).toMatchObject({ status: 'verified', verdicts: unit.truth });
    expect(await strikesOf(turncoat)).toBe(1);
    // what the nodes are told: two independent devices, of two owners and two origins
    expect((await unitRow(unit.id)).assurance).toMatchObject({ devices: 2, owners: 2, origins: 2, manufacturers: 1 });
  });

  it('turncoat: quarantined within QUARANTINE_STRIKES of its lies, and its immature rewards forfeited', async () => {
    const fleet = await createFleet(db);
    const turncoat = await trustedDevice(fleet);
    let lies = 0;
    while ((await db.device.findUniqueOrThrow({ where: { id: turncoat.id } })).status === 'active') {
      const unit = await unitWithReplicas(fleet);
      const held = (await claim(turncoat))!;
      expect(held.unitId).toBe(unit.id);
      await submit(turncoat, held, lie(held));
      lies++;
      await settleHonestly(fleet, unit.id);
      expect((await unitRow(unit.id)).verdicts).toBe(unit.truth);
      expect(lies).toBeLessThanOrEqual(5);
    }
    expect(lies).toBe(3);
    expect(await db.device.findUniqueOrThrow({ where: { id: turncoat.id } })).toMatchObject({ status: 'quarantined' });
  });

  it('sleeper: after a long honest record, a lie on one item of a unit is outvoted, never relayed', async () => {
    const fleet = await createFleet(db);
    const sleeper = await trustedDevice(fleet, undefined, 5_000);
    const unit = await unitWithReplicas(fleet, { answers: '0110101101' });
    const held = (await claim(sleeper))!;
    expect(await submit(sleeper, held, lie(held, 7))).toEqual({ status: 'pending' });
    await settleHonestly(fleet, unit.id);
    expect(await unitRow(unit.id)).toMatchObject({ status: 'verified', verdicts: unit.truth });
    expect(await strikesOf(sleeper)).toBe(1);
  });

  it('targeted: two trusted devices of one household (same network origin, distinct owners) never hold replicas of one unit', async () => {
    const fleet = await createFleet(db);
    const a = await trustedDevice(fleet);
    const b = await trustedDevice(fleet);
    const unit = await unitWithReplicas(fleet);
    const household = freshOrigin();
    const ha = (await claim(a, household))!;
    expect(ha.unitId).toBe(unit.id);
    // b claims from the same origin at the same moment: the unit's other replica is not for it
    expect(await claim(b, household)).toBeNull();
    expect(await submit(a, ha, lie(ha, 2))).toEqual({ status: 'pending' });
    await settleHonestly(fleet, unit.id);
    expect(await unitRow(unit.id)).toMatchObject({ status: 'verified', verdicts: unit.truth });
  });

  it('cartel: members of several owners and one brand cannot complete a unit alone where the class has two manufacturers', async () => {
    const deviceClass = `cls-${Date.now().toString(36)}`;
    const brandA = await createFleet(db, 4, deviceClass);
    const brandB = await createFleet(db, 4, deviceClass);
    const cartel = [await trustedDevice(brandA), await trustedDevice(brandA)];
    await trustedDevice(brandB); // the class has devices of two manufacturers
    expect(await assignments.manufacturersOf(deviceClass)).toBe(2);
    // cut well before the claims, so no grace period of the old design applies
    const unit = await unitWithReplicas(brandA, { minManufacturers: 2 });
    await db.workUnit.update({ where: { id: unit.id }, data: { createdAt: new Date(Date.now() - 3_600_000) } });
    const [h1, h2] = await Promise.all(cartel.map((d) => claim(d)));
    const got = [h1, h2].filter((h): h is Held => h !== null);
    expect(got).toHaveLength(1); // the second replica waits for the other brand
    await submit(cartel[got[0] === h1 ? 0 : 1]!, got[0]!, lie(got[0]!));
    // an honest device of the other brand takes it, and the unit needs more than the cartel's word
    const honestB = await createDevice(db, brandB, await createOwner(db));
    const hb = await claimWhenQueued(honestB);
    expect(hb.unitId).toBe(unit.id);
    await submit(honestB, hb, honest(hb));
    const u = await unitRow(unit.id);
    expect(u.status).toBe('open');
    expect(u.verdicts).toBeNull();
  });

  it('cartel: claiming at the same instants does not collect both replicas of units (random placement, reproducible from a seed)', async () => {
    const deviceClass = `cls-${Date.now().toString(36)}-p`;
    const brandA = await createFleet(db, 4, deviceClass);
    const brandB = await createFleet(db, 4, deviceClass);
    for (let i = 0; i < 60; i++) await unitWithReplicas(brandA, { answers: '0110' });
    // A cross-brand pair, hammering claims together. In cut order they would take r1 and r2 of the
    // same unit every time (5 of 5); placed at random among 120 replicas, two of their ten claims
    // land on one unit with a chance of about 0.3 in all.
    const x = await trustedDevice(brandA);
    const y = await trustedDevice(brandB);
    const both = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      const [hx, hy] = await Promise.all([claim(x), claim(y)]);
      for (const h of [hx, hy]) if (h) both.set(h.unitId, (both.get(h.unitId) ?? 0) + 1);
    }
    const claimed = [...both.values()].reduce((s, n) => s + n, 0);
    expect(claimed).toBe(10);
    const collected = [...both.values()].filter((n) => n === 2).length;
    expect(collected).toBeLessThanOrEqual(1);
  });

  it('sybil: many owners, one or two devices each, from one network origin hold at most one replica of a unit', async () => {
    const fleet = await createFleet(db);
    const farm = freshOrigin();
    const sybils: TestDevice[] = [];
    for (let i = 0; i < 4; i++) sybils.push(await trustedDevice(fleet, await createOwner(db)));
    const unit = await unitWithReplicas(fleet, { quorum: 3, replicasIssued: 3 });
    const held = (await Promise.all(sybils.map((d) => claim(d, farm)))).filter((h): h is Held => h !== null);
    expect(held).toHaveLength(1);
    expect(held[0]!.unitId).toBe(unit.id);
    const rows = await db.assignment.findMany({ where: { unitId: unit.id } });
    expect(rows.map((r) => r.origin)).toEqual([farm]);
  });
});

describe('audit: a wrong verdict two colluders agreed on is caught later and retracted', () => {
  let platform: WorkPlatform;
  let db: PrismaService;
  let queues: WorkQueues;
  let assignments: AssignmentsService;
  let verification: VerificationService;

  beforeAll(async () => {
    platform = await startWorkPlatform('audit', {
      CANARIES_UNTRUSTED: '1',
      CANARIES_TRUSTED: '1',
      QUARANTINE_STRIKES: '5',
      AUDIT_RATE: '1',
      AUDIT_DELAY_MS: '0',
      AUDIT_TIEBREAK: '2',
      PLACEMENT_SEED: 'audit',
      MATURITY_MS: '3600000',
    });
    db = platform.db;
    queues = platform.mod.get(WorkQueues);
    assignments = platform.mod.get(AssignmentsService);
    verification = platform.mod.get(VerificationService);
  });

  afterAll(() => platform?.close());

  let originSeq = 0;
  const freshOrigin = () => `203.0.${Math.floor(++originSeq / 250)}.${(originSeq % 250) + 1}`;

  async function claimOf(d: TestDevice, unitId: string): Promise<Held> {
    const res = await assignments.claim(d, {}, freshOrigin());
    expect(res?.assignment.unitId).toBe(unitId);
    const row = await db.assignment.findUniqueOrThrow({ where: { id: res!.assignment.assignmentId } });
    return { assignmentId: row.id, unitId, items: res!.assignment.items, canaries: row.canaries as Held['canaries'] };
  }
  const honest = (h: Held) => honestVerdicts(h.items);
  const lie = (h: Held) => flip(honest(h), realPositions(h)[0]!);
  const submit = (d: TestDevice, h: Held, verdicts: string) => verification.submit(d, h.assignmentId, signedResult(d, h.unitId, verdicts));
  /** Queues whatever the unit's outbox announced, as the dispatcher would. */
  async function dispatchReplicas(fleet: TestFleet, unitId: string): Promise<number> {
    const msgs = await db.outboxMessage.findMany({ where: { topic: 'work.replica', key: { startsWith: `work.replica:${unitId}:` } } });
    for (const m of msgs) {
      const p = m.payload as { replica: number; audit?: boolean };
      await queues.addReplica(fleet.deviceClass, { unitId, replica: p.replica, ...(p.audit ? { audit: true } : {}) });
    }
    return msgs.length;
  }

  it('overturned: the colluders are struck, their reward forfeited and others frozen, the verdict retracted through the outbox', async () => {
    const fleet = await createFleet(db);
    const [x, y] = [await createDevice(db, fleet, await createOwner(db)), await createDevice(db, fleet, await createOwner(db))];
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, answers: '0110' });
    for (const r of [1, 2]) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });
    const [hx, hy] = [await claimOf(x, unit.id), await claimOf(y, unit.id)];
    // they agree, out of band, on the same wrong verdict (different owners, origins: independent to the platform)
    await submit(x, hx, lie(hx));
    expect(await submit(y, hy, lie(hy))).toEqual({ status: 'verified' });
    const wrong = flip(unit.truth, 0);
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({
      status: 'verified',
      verdicts: wrong,
      auditStatus: 'pending',
      auditReplicas: 1,
    });
    expect(await db.reward.count({ where: { unitId: unit.id, status: 'immature' } })).toBe(2);

    // the audit replica goes to a third, independent device, which answers honestly: contested
    await dispatchReplicas(fleet, unit.id);
    const auditor = await createDevice(db, fleet, await createOwner(db));
    const ha = await claimOf(auditor, unit.id);
    expect((await db.assignment.findUniqueOrThrow({ where: { id: ha.assignmentId } })).audit).toBe(true);
    expect(await submit(auditor, ha, honest(ha))).toEqual({ status: 'pending' });
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ auditStatus: 'contested', auditReplicas: 3 });
    expect(await db.outboxMessage.count({ where: { topic: 'unit.retracted' } })).toBe(0); // one device's word retracts nothing

    // the tie-break: two more independent devices
    await dispatchReplicas(fleet, unit.id);
    for (let i = 0; i < 2; i++) {
      const t = await createDevice(db, fleet, await createOwner(db));
      const ht = await claimOf(t, unit.id);
      await submit(t, ht, honest(ht));
    }
    const u = await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } });
    expect(u.auditStatus).toBe('overturned');
    expect(u.retractedAt).toBeInstanceOf(Date);
    expect(await db.outboxMessage.findMany({ where: { topic: 'unit.retracted' }, select: { key: true, payload: true } })).toEqual([
      { key: `unit.retracted:${unit.id}`, payload: { unitId: unit.id } },
    ]);
    for (const d of [x, y]) {
      expect(await db.device.findUniqueOrThrow({ where: { id: d.id } })).toMatchObject({ strikes: 1 });
      expect((await db.reward.findFirstOrThrow({ where: { unitId: unit.id, deviceId: d.id } })).status).toBe('forfeited');
    }
    // the auditor and the tie-breakers were right: credited for it
    expect(await db.reward.count({ where: { unitId: unit.id, status: 'immature' } })).toBe(3);
    // a node that has not got the unit yet will not get it now (its retraction goes out anyway)
    const node = await db.trustedNode.create({
      data: { id: `node-${unit.id}`, name: `n-${unit.id.slice(-8)}`, url: 'http://127.0.0.1:9' },
    });
    expect(await platform.mod.get(RelayService).deliver(unit.id, node.id)).toBe('retracted');
    expect(await db.relayDelivery.findFirstOrThrow({ where: { unitId: unit.id } })).toMatchObject({ status: 'dead' });
  });

  it('upheld: an auditor that lies about a true verdict is outvoted by the tie-break and struck; nothing retracted', async () => {
    const fleet = await createFleet(db);
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, answers: '1011' });
    for (const r of [1, 2]) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });
    for (let i = 0; i < 2; i++) {
      const d = await createDevice(db, fleet, await createOwner(db));
      const h = await claimOf(d, unit.id);
      await submit(d, h, honest(h));
    }
    await dispatchReplicas(fleet, unit.id);
    const liar = await createDevice(db, fleet, await createOwner(db));
    const hl = await claimOf(liar, unit.id);
    await submit(liar, hl, lie(hl));
    await dispatchReplicas(fleet, unit.id);
    for (let i = 0; i < 2; i++) {
      const t = await createDevice(db, fleet, await createOwner(db));
      const ht = await claimOf(t, unit.id);
      await submit(t, ht, honest(ht));
    }
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({
      status: 'verified',
      verdicts: unit.truth,
      auditStatus: 'upheld',
      retractedAt: null,
    });
    expect(await db.device.findUniqueOrThrow({ where: { id: liar.id } })).toMatchObject({ strikes: 1 });
    expect(await db.outboxMessage.count({ where: { key: `unit.retracted:${unit.id}` } })).toBe(0);
  });
});
