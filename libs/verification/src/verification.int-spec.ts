import 'reflect-metadata';
import { PrismaService, newId, type Config } from '@idlemint/core';
import { RewardsService } from '@idlemint/ledger';
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
 * Submit → Verify → Credit on a scratch database and real Redis: replicas are claimed through the
 * work queues (each with canaries of its own planted), results are signed with real device keys,
 * and every assertion reads Postgres (units, assignments, devices, rewards, ledger, outbox) or Redis.
 */

const REWARD = 1001n;
// 6500 / 2500 / 1000 bps of 1001 at maturity: owner 650 (650.65 rounded down), manufacturer 250, operator the rest 101
const SHARE = { owner: 650n, manufacturer: 250n, operator: 101n };

describe('verification', () => {
  let platform: WorkPlatform;
  let config: Config;
  let db: PrismaService;
  let queues: WorkQueues;
  let assignments: AssignmentsService;
  let verification: VerificationService;
  let rewards: RewardsService;

  beforeAll(async () => {
    platform = await startWorkPlatform('verification', {
      OWNER_SHARE_BPS: '6500',
      MANUFACTURER_SHARE_BPS: '2500',
      OPERATOR_SHARE_BPS: '1000',
      QUARANTINE_STRIKES: '3',
      CANARIES_UNTRUSTED: '2',
      CANARIES_TRUSTED: '1',
      TRUST_AFTER: '3',
      // rewards are due at once, but mature only when a test runs matureDue()
      MATURITY_MS: '0',
    });
    ({ config, db } = platform);
    queues = platform.mod.get(WorkQueues);
    assignments = platform.mod.get(AssignmentsService);
    verification = platform.mod.get(VerificationService);
    rewards = platform.mod.get(RewardsService);
  });

  afterAll(() => platform?.close());

  // --- helpers -------------------------------------------------------------------------------

  /** Queues replicas `from..to` of a unit, as the outbox dispatcher would. */
  async function queueReplicas(fleet: TestFleet, unit: TestUnit, from: number, to: number): Promise<void> {
    for (let r = from; r <= to; r++) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });
  }

  /** The device claims the next replica, which must be of `unit`; where its canaries went is read from Postgres. */
  async function claim(device: TestDevice, unit: TestUnit): Promise<Held> {
    const res = await assignments.claim(device, {});
    expect(res?.assignment.unitId, 'claimed the expected unit').toBe(unit.id);
    const { assignmentId, items } = res!.assignment;
    const row = await db.assignment.findUniqueOrThrow({ where: { id: assignmentId } });
    return { assignmentId, unitId: unit.id, items, canaries: row.canaries as Held['canaries'] };
  }

  /** A unit with its first `replicasIssued` replicas queued, each held by a device of its own owner. */
  async function scenario(spec: Partial<UnitSpec> = {}) {
    const fleet = await createFleet(db);
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD, ...spec });
    const issued = spec.replicasIssued ?? spec.quorum ?? 2;
    await queueReplicas(fleet, unit, 1, issued);
    const devices: TestDevice[] = [];
    const held: Held[] = [];
    for (let i = 0; i < issued; i++) {
      const d = await createDevice(db, fleet, await createOwner(db));
      devices.push(d);
      held.push(await claim(d, unit));
    }
    return { fleet, unit, devices, held };
  }

  const honest = (h: Held) => honestVerdicts(h.items);
  /** Right on every canary, wrong on the unit's own item `k`. */
  const disagreeing = (h: Held, k: number) => flip(honest(h), realPositions(h)[k]!);
  /** Right on the unit's items, wrong on a canary. */
  const missingCanary = (h: Held) => flip(honest(h), h.canaries[0]!.index);

  const submit = (device: TestDevice, h: Held, verdicts: string) =>
    verification.submit(device, h.assignmentId, signedResult(device, h.unitId, verdicts));

  /** Net postings of the unit's journal entries by account code (accounts netting to zero left out). */
  async function ledgerOf(unitId: string): Promise<Record<string, bigint>> {
    const rows = await db.$queryRaw<{ code: string; total: string }[]>`
      SELECT a."code", SUM(p."amount")::text AS total FROM "Posting" p
        JOIN "JournalEntry" e ON e."id" = p."entryId" JOIN "LedgerAccount" a ON a."id" = p."accountId"
       WHERE e."unitId" = ${unitId} GROUP BY a."code" HAVING SUM(p."amount") <> 0`;
    return Object.fromEntries(rows.map((r) => [r.code, BigInt(r.total)]));
  }
  const entriesOf = (unitId: string) => db.journalEntry.findMany({ where: { unitId }, orderBy: { idempotencyKey: 'asc' } });
  const rewardsOf = (unitId: string) =>
    db.reward.findMany({ where: { unitId }, orderBy: { deviceId: 'asc' }, select: { deviceId: true, amount: true, status: true } });
  const outboxOf = (unitId: string) =>
    db.outboxMessage.findMany({
      where: { key: { contains: unitId } },
      orderBy: { id: 'asc' },
      select: { topic: true, key: true, payload: true },
    });
  const assignmentOf = (id: string) => db.assignment.findUniqueOrThrow({ where: { id } });
  const deviceRow = (id: string) =>
    db.device.findUniqueOrThrow({
      where: { id },
      select: { status: true, strikes: true, validResults: true, consecutiveValid: true, quarantineCount: true },
    });
  const immatureCredit = (...devices: TestDevice[]) => ({
    ...Object.fromEntries(devices.map((d) => [`immature:${d.id}`, REWARD])),
    'rewards:pool': -BigInt(devices.length) * REWARD,
  });

  // --- tests ---------------------------------------------------------------------------------

  it('two honest matching results verify the unit, credit both devices, and announce it; maturity splits the shares', async () => {
    const { fleet, unit, devices, held } = await scenario({ answers: '011010' });
    const [a, b] = devices as [TestDevice, TestDevice];
    // the real transactions behind the unit's items, as ingest recorded them
    for (let itemIndex = 0; itemIndex < unit.items.length; itemIndex++) {
      await db.sourceTx.create({
        data: { id: newId(), nodeId: 'node-x', externalId: newId(), ...unit.items[itemIndex]!, unitId: unit.id, itemIndex },
      });
    }
    // each device got canaries of its own, so the two verdict strings differ while agreeing on the unit
    expect(held[0]!.canaries.length).toBe(config.CANARIES_UNTRUSTED);

    expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'pending' });
    expect((await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).status).toBe('open');
    expect(await entriesOf(unit.id)).toEqual([]);

    expect(await submit(b, held[1]!, honest(held[1]!))).toEqual({ status: 'verified' });

    const u = await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } });
    expect(u).toMatchObject({ status: 'verified', verdicts: unit.truth, replicasIssued: 2 });
    expect(u.decidedAt).toBeInstanceOf(Date);
    for (const h of held) {
      expect(await assignmentOf(h.assignmentId)).toMatchObject({
        status: 'submitted',
        outcome: 'agreed',
        verdicts: honest(h),
        realVerdicts: unit.truth,
      });
    }
    for (const d of devices) {
      expect(await deviceRow(d.id)).toEqual({ status: 'active', strikes: 0, validResults: 1, consecutiveValid: 1, quarantineCount: 0 });
    }

    // credited in the verdict's transaction: immature, the whole reward per device
    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(a, b));
    expect((await entriesOf(unit.id)).map((e) => e.idempotencyKey)).toEqual(
      [`credit:${unit.id}:${a.id}`, `credit:${unit.id}:${b.id}`].sort(),
    );
    expect((await rewardsOf(unit.id)).map((r) => [r.deviceId, r.amount.toString(), r.status])).toEqual(
      [a, b].map((d) => [d.id, REWARD.toString(), 'immature']).sort(),
    );
    expect(await outboxOf(unit.id)).toEqual([{ topic: 'unit.verified', key: `unit.verified:${unit.id}`, payload: { unitId: unit.id } }]);
    const txs = await db.sourceTx.findMany({ where: { unitId: unit.id }, orderBy: { itemIndex: 'asc' } });
    expect(txs.map((t) => t.verdict)).toEqual([...unit.truth].map((c) => c === '1'));
    for (const r of [1, 2]) expect(await queues.queue(fleet.deviceClass).getJob(`unit-${unit.id}-r${r}`)).toBeUndefined();

    // maturity: owner, manufacturer and operator shares per config
    expect(await rewards.matureDue()).toBeGreaterThanOrEqual(2);
    expect(await ledgerOf(unit.id)).toEqual({
      [`device:${a.id}`]: SHARE.owner,
      [`device:${b.id}`]: SHARE.owner,
      [`manufacturer:${fleet.manufacturerId}`]: 2n * SHARE.manufacturer,
      operator: 2n * SHARE.operator,
      'rewards:pool': -2n * REWARD,
    });
    expect((await rewardsOf(unit.id)).map((r) => r.status)).toEqual(['mature', 'mature']);

    // a repeat of the first result gets the final answer
    expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'verified' });
  });

  it('a wrong canary answer is a strike and earns nothing; QUARANTINE_STRIKES strikes quarantine the device and forfeit its immature rewards', async () => {
    const fleet = await createFleet(db);
    const cheat = await createDevice(db, fleet, await createOwner(db));
    const partner = await createDevice(db, fleet, await createOwner(db));
    const honestOne = await createDevice(db, fleet, await createOwner(db));

    // first the cheat earns a reward honestly; it is still immature
    const earned = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD });
    await queueReplicas(fleet, earned, 1, 2);
    const e1 = await claim(cheat, earned);
    const e2 = await claim(partner, earned);
    await submit(cheat, e1, honest(e1));
    expect(await submit(partner, e2, honest(e2))).toEqual({ status: 'verified' });
    expect((await rewardsOf(earned.id)).find((r) => r.deviceId === cheat.id)?.status).toBe('immature');

    const units: TestUnit[] = [];
    const cheatHeld: Held[] = [];
    for (let i = 0; i < config.QUARANTINE_STRIKES; i++) {
      const u = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD });
      await queueReplicas(fleet, u, 1, 1);
      units.push(u);
      cheatHeld.push(await claim(cheat, u));
    }
    await queueReplicas(fleet, units[0]!, 2, 2);
    const honestHeld = await claim(honestOne, units[0]!);

    for (let i = 0; i < config.QUARANTINE_STRIKES; i++) {
      // "all valid": the first canary of every assignment is invalid, so this is caught
      const allValid = '1'.repeat(cheatHeld[i]!.items.length);
      expect(await submit(cheat, cheatHeld[i]!, allValid)).toEqual({ status: 'rejected', reason: 'CANARY_MISSED' });
      expect(await assignmentOf(cheatHeld[i]!.assignmentId)).toMatchObject({
        status: 'submitted',
        outcome: 'canary_failed',
        reason: 'CANARY_MISSED',
      });
      const last = i === config.QUARANTINE_STRIKES - 1;
      expect(await deviceRow(cheat.id)).toMatchObject({ status: last ? 'quarantined' : 'active', strikes: i + 1, consecutiveValid: 0 });
      expect(await entriesOf(units[i]!.id)).toEqual([]);
    }
    const q = await db.device.findUniqueOrThrow({ where: { id: cheat.id } });
    expect(q.quarantineCount).toBe(1);
    expect(q.quarantinedAt).toBeInstanceOf(Date);

    // quarantine forfeits what had not matured: back to the pool, the partner's reward untouched
    const after = await rewardsOf(earned.id);
    expect(after.find((r) => r.deviceId === cheat.id)?.status).toBe('forfeited');
    expect(after.find((r) => r.deviceId === partner.id)?.status).toBe('immature');
    expect(await ledgerOf(earned.id)).toEqual(immatureCredit(partner));

    // the canary failure counts as an answer: with the honest one, both issued replicas answered
    // without a quorum, so one more replica is asked for
    expect(await submit(honestOne, honestHeld, honest(honestHeld))).toEqual({ status: 'pending' });
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: units[0]!.id } })).toMatchObject({ status: 'open', replicasIssued: 3 });
    expect(await outboxOf(units[0]!.id)).toEqual([
      {
        topic: 'work.replica',
        key: `work.replica:${units[0]!.id}:3`,
        payload: { unitId: units[0]!.id, replica: 3, deviceClass: fleet.deviceClass },
      },
    ]);
    expect(await ledgerOf(units[0]!.id)).toEqual({});
  });

  it('disagreement asks for the missing number of replicas through the outbox; the late majority verifies and strikes the rest', async () => {
    const { fleet, unit, devices, held } = await scenario({ quorum: 3, replicasIssued: 3, maxReplicas: 6, answers: '0110' });
    const [a, b, c] = devices as [TestDevice, TestDevice, TestDevice];

    expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'pending' });
    expect(await submit(b, held[1]!, disagreeing(held[1]!, 1))).toEqual({ status: 'pending' });
    expect(await submit(c, held[2]!, disagreeing(held[2]!, 2))).toEqual({ status: 'pending' });

    // best group has 1 of 3: two more replicas, announced in the outbox, nothing else decided
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({
      status: 'open',
      replicasIssued: 5,
      verdicts: null,
    });
    expect(await outboxOf(unit.id)).toEqual(
      [4, 5].map((replica) => ({
        topic: 'work.replica',
        key: `work.replica:${unit.id}:${replica}`,
        payload: { unitId: unit.id, replica, deviceClass: fleet.deviceClass },
      })),
    );
    for (const h of held) expect((await assignmentOf(h.assignmentId)).outcome).toBeNull();
    expect(await entriesOf(unit.id)).toEqual([]);

    // the dispatcher queues replicas 4 and 5; two more honest devices answer
    await queueReplicas(fleet, unit, 4, 5);
    const d = await createDevice(db, fleet, await createOwner(db));
    const e = await createDevice(db, fleet, await createOwner(db));
    const dHeld = await claim(d, unit);
    const eHeld = await claim(e, unit);
    expect(await submit(d, dHeld, honest(dHeld))).toEqual({ status: 'pending' });
    expect(await submit(e, eHeld, honest(eHeld))).toEqual({ status: 'verified' });

    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({
      status: 'verified',
      verdicts: unit.truth,
      replicasIssued: 5,
    });
    for (const h of [held[0]!, dHeld, eHeld]) expect((await assignmentOf(h.assignmentId)).outcome).toBe('agreed');
    for (const h of [held[1]!, held[2]!]) {
      expect(await assignmentOf(h.assignmentId)).toMatchObject({ outcome: 'disagreed', reason: 'DISAGREED_WITH_QUORUM' });
    }
    for (const x of [b, c]) expect(await deviceRow(x.id)).toMatchObject({ status: 'active', strikes: 1, validResults: 0 });
    for (const x of [a, d, e]) expect(await deviceRow(x.id)).toMatchObject({ status: 'active', strikes: 0, validResults: 1 });

    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(a, d, e));
    expect((await outboxOf(unit.id)).map((m) => m.key)).toEqual([
      `work.replica:${unit.id}:4`,
      `work.replica:${unit.id}:5`,
      `unit.verified:${unit.id}`,
    ]);
    expect(await submit(b, held[1]!, disagreeing(held[1]!, 1))).toEqual({ status: 'rejected', reason: 'DISAGREED_WITH_QUORUM' });
  });

  it('at maxReplicas without a quorum the unit is disputed: nothing credited, nothing announced', async () => {
    const { fleet, unit, devices, held } = await scenario({ quorum: 2, replicasIssued: 2, maxReplicas: 3, answers: '0110' });
    const [a, b] = devices as [TestDevice, TestDevice];
    expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'pending' });
    expect(await submit(b, held[1]!, disagreeing(held[1]!, 1))).toEqual({ status: 'pending' });
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ status: 'open', replicasIssued: 3 });

    await queueReplicas(fleet, unit, 3, 3);
    const c = await createDevice(db, fleet, await createOwner(db));
    const cHeld = await claim(c, unit);
    expect(await submit(c, cHeld, disagreeing(cHeld, 2))).toEqual({ status: 'rejected', reason: 'UNIT_DISPUTED' });

    const u = await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } });
    expect(u).toMatchObject({ status: 'disputed', verdicts: null, replicasIssued: 3 });
    expect(u.decidedAt).toBeInstanceOf(Date);
    for (const h of [...held, cHeld]) {
      expect(await assignmentOf(h.assignmentId)).toMatchObject({ status: 'submitted', outcome: null, reason: 'UNIT_DISPUTED' });
    }
    expect(await entriesOf(unit.id)).toEqual([]);
    expect(await rewardsOf(unit.id)).toEqual([]);
    const outbox = await outboxOf(unit.id);
    expect(outbox.map((m) => m.key)).toEqual([`work.replica:${unit.id}:3`]);
    expect(outbox.some((m) => m.topic === 'unit.verified')).toBe(false);
    for (const x of [a, b, c]) expect((await deviceRow(x.id)).validResults).toBe(0);
    expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'rejected', reason: 'UNIT_DISPUTED' });
  });

  it('the same result twice gets the same answer and is credited once; a different second result is refused', async () => {
    const { unit, devices, held } = await scenario();
    const [a, b] = devices as [TestDevice, TestDevice];
    const body = signedResult(a, unit.id, honest(held[0]!));
    expect(await verification.submit(a, held[0]!.assignmentId, body)).toEqual({ status: 'pending' });
    const first = await assignmentOf(held[0]!.assignmentId);
    expect(await verification.submit(a, held[0]!.assignmentId, body)).toEqual({ status: 'pending' });
    expect(await assignmentOf(held[0]!.assignmentId)).toEqual(first);

    await expect(submit(a, held[0]!, disagreeing(held[0]!, 2))).rejects.toMatchObject({ code: 'WORK.ALREADY_ANSWERED' });
    expect(await assignmentOf(held[0]!.assignmentId)).toEqual(first);

    expect(await submit(b, held[1]!, honest(held[1]!))).toEqual({ status: 'verified' });
    for (let i = 0; i < 3; i++) {
      expect(await verification.submit(a, held[0]!.assignmentId, body)).toEqual({ status: 'verified' });
      expect(await submit(b, held[1]!, honest(held[1]!))).toEqual({ status: 'verified' });
    }
    expect(await entriesOf(unit.id)).toHaveLength(2);
    expect(await rewardsOf(unit.id)).toHaveLength(2);
    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(a, b));
    expect((await outboxOf(unit.id)).filter((m) => m.topic === 'unit.verified')).toHaveLength(1);
    for (const d of devices) expect((await deviceRow(d.id)).validResults).toBe(1);
  });

  it('both replicas submitted at once: exactly one verification and one credit per device', async () => {
    for (let round = 0; round < 4; round++) {
      const { unit, devices, held } = await scenario();
      const [a, b] = devices as [TestDevice, TestDevice];
      // in odd rounds duplicates of each submission race too
      const results = await Promise.all([
        submit(a, held[0]!, honest(held[0]!)),
        submit(b, held[1]!, honest(held[1]!)),
        ...(round % 2 === 1 ? [submit(a, held[0]!, honest(held[0]!)), submit(b, held[1]!, honest(held[1]!))] : []),
      ]);
      expect(results.map((r) => r.status)).toContain('verified');
      expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ status: 'verified', verdicts: unit.truth });
      expect((await entriesOf(unit.id)).map((e) => e.idempotencyKey)).toEqual(
        [`credit:${unit.id}:${a.id}`, `credit:${unit.id}:${b.id}`].sort(),
      );
      expect(await rewardsOf(unit.id)).toHaveLength(2);
      expect(await ledgerOf(unit.id)).toEqual(immatureCredit(a, b));
      expect((await outboxOf(unit.id)).map((m) => m.key)).toEqual([`unit.verified:${unit.id}`]);
      for (const d of devices) expect(await deviceRow(d.id)).toMatchObject({ status: 'active', strikes: 0, validResults: 1 });
      for (const h of held) expect((await assignmentOf(h.assignmentId)).outcome).toBe('agreed');
    }
  });

  it('a trusted device’s honest answer waits for an independent one: fewer canaries, never a solo verdict', async () => {
    const fleet = await createFleet(db);
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD });
    await queueReplicas(fleet, unit, 1, 2);
    const proven = await createDevice(db, fleet, await createOwner(db));
    await db.device.update({ where: { id: proven.id }, data: { consecutiveValid: config.TRUST_AFTER * 10 } });
    const h = await claim(proven, unit);
    expect(h.canaries).toHaveLength(config.CANARIES_TRUSTED);
    expect(await submit(proven, h, honest(h))).toEqual({ status: 'pending' });
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ status: 'open', quorum: 2 });
    expect(await ledgerOf(unit.id)).toEqual({});
    const other = await createDevice(db, fleet, await createOwner(db));
    const ho = await claim(other, unit);
    expect(await submit(other, ho, honest(ho))).toEqual({ status: 'verified' });
    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(proven, other));
  });

  it('a result arriving after the unit was decided changes nothing about the decision', async () => {
    // three replicas out for a quorum of 2: the first two decide
    for (const maxReplicas of [3, 5]) {
      const { unit, devices, held } = await scenario({ quorum: 2, replicasIssued: 3, maxReplicas });
      const [a, b, late] = devices as [TestDevice, TestDevice, TestDevice];
      expect(await submit(a, held[0]!, honest(held[0]!))).toEqual({ status: 'pending' });
      expect(await submit(b, held[1]!, honest(held[1]!))).toEqual({ status: 'verified' });
      const decided = await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } });

      // the third holder fails a canary after the verdict: a strike, and nothing else
      expect(await submit(late, held[2]!, missingCanary(held[2]!))).toEqual({ status: 'rejected', reason: 'CANARY_MISSED' });
      expect(await deviceRow(late.id)).toMatchObject({ strikes: 1, validResults: 0 });
      expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toEqual(decided);
      expect((await outboxOf(unit.id)).map((m) => m.key)).toEqual([`unit.verified:${unit.id}`]);
      expect(await entriesOf(unit.id)).toHaveLength(2);
    }
  });

  it('a late honest result on a verified unit is agreed but not credited', async () => {
    const { unit, devices, held } = await scenario({ quorum: 2, replicasIssued: 3, maxReplicas: 5 });
    const [a, b, c] = devices as [TestDevice, TestDevice, TestDevice];
    await submit(a, held[0]!, honest(held[0]!));
    expect(await submit(b, held[1]!, honest(held[1]!))).toEqual({ status: 'verified' });
    expect(await submit(c, held[2]!, honest(held[2]!))).toEqual({ status: 'verified' });
    expect(await assignmentOf(held[2]!.assignmentId)).toMatchObject({ outcome: 'agreed', reason: 'QUORUM_ALREADY_DECIDED' });
    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(a, b));
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ status: 'verified', replicasIssued: 3 });
  });

  it('a device quarantined while it holds a replica neither counts toward the quorum nor earns from it', async () => {
    const fleet = await createFleet(db);
    const unit = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD });
    await queueReplicas(fleet, unit, 1, 2);
    const cheat = await createDevice(db, fleet, await createOwner(db));
    const honestOne = await createDevice(db, fleet, await createOwner(db));
    const cheatHeld = await claim(cheat, unit);
    const honestHeld = await claim(honestOne, unit);
    for (let i = 0; i < config.QUARANTINE_STRIKES; i++) {
      const u = await createUnit(db, { deviceClass: fleet.deviceClass, reward: REWARD });
      await queueReplicas(fleet, u, 1, 1);
      const h = await claim(cheat, u);
      await submit(cheat, h, missingCanary(h));
    }
    expect((await deviceRow(cheat.id)).status).toBe('quarantined');

    // the quarantined device's matching answer is not the second vote: one more replica is asked for
    expect(await submit(honestOne, honestHeld, honest(honestHeld))).toEqual({ status: 'pending' });
    expect(await submit(cheat, cheatHeld, honest(cheatHeld))).toEqual({ status: 'pending' });
    expect(await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).toMatchObject({ status: 'open', replicasIssued: 3 });

    await queueReplicas(fleet, unit, 3, 3);
    const third = await createDevice(db, fleet, await createOwner(db));
    const thirdHeld = await claim(third, unit);
    expect(await submit(third, thirdHeld, honest(thirdHeld))).toEqual({ status: 'verified' });
    expect(await ledgerOf(unit.id)).toEqual(immatureCredit(honestOne, third));
    expect((await rewardsOf(unit.id)).map((r) => r.deviceId)).not.toContain(cheat.id);
  });

  it('refuses a result that is not the device’s, malformed, unsigned or late, and stores nothing', async () => {
    const { unit, devices, held } = await scenario();
    const [a, b] = devices as [TestDevice, TestDevice];
    const h = held[0]!;
    const right = honest(h);
    const untouched = await assignmentOf(h.assignmentId);

    await expect(submit(b, h, right)).rejects.toMatchObject({ code: 'WORK.NOT_YOUR_ASSIGNMENT' });
    await expect(submit(a, { ...h, assignmentId: newId() }, right)).rejects.toMatchObject({ code: 'WORK.ASSIGNMENT_NOT_FOUND' });
    // the length is that of the items sent, canaries included
    await expect(submit(a, h, right + '1')).rejects.toMatchObject({ code: 'WORK.VERDICTS_INVALID' });
    await expect(submit(a, h, unit.truth)).rejects.toMatchObject({ code: 'WORK.VERDICTS_INVALID' });
    await expect(submit(a, h, right.replace(/1/, '2'))).rejects.toMatchObject({ code: 'WORK.VERDICTS_INVALID' });
    // signed over other verdicts, or by another device's key
    await expect(
      verification.submit(a, h.assignmentId, {
        verdicts: right,
        resultSignature: signedResult(a, unit.id, disagreeing(h, 1)).resultSignature,
      }),
    ).rejects.toMatchObject({ code: 'WORK.RESULT_SIGNATURE_INVALID' });
    await expect(
      verification.submit(a, h.assignmentId, { verdicts: right, resultSignature: signedResult(b, unit.id, right).resultSignature }),
    ).rejects.toMatchObject({ code: 'WORK.RESULT_SIGNATURE_INVALID' });
    expect(await assignmentOf(h.assignmentId)).toEqual(untouched);

    await db.assignment.update({ where: { id: h.assignmentId }, data: { deadline: new Date(Date.now() - 1) } });
    await expect(submit(a, h, right)).rejects.toMatchObject({ code: 'WORK.DEADLINE_PASSED' });
    expect(await assignmentOf(h.assignmentId)).toMatchObject({ status: 'leased', verdicts: null, outcome: null });
    expect(await deviceRow(a.id)).toMatchObject({ status: 'active', strikes: 0, validResults: 0 });
    expect((await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } })).status).toBe('open');
  });
});
