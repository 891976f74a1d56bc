import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, writeOutbox, type Config, type Tx } from '@idlemint/core';
import { ed25519VerifyHex } from '@idlemint/crypto';
import { RewardsService } from '@idlemint/ledger';
import { resultSigningString, type ResultBody, type ResultResponse } from '@idlemint/protocol';
import { WorkErrors, WorkQueues } from '@idlemint/work';
import { decide, passesCanaries, type Answer } from './quorum.js';
import { ReputationService } from './reputation.service.js';

export interface SubmittingDevice {
  id: string;
  publicKey: string;
}

interface LockedUnit {
  id: string;
  status: 'open' | 'verified' | 'disputed';
  deviceClass: string;
  quorum: number;
  maxReplicas: number;
  replicasIssued: number;
  reward: string;
  verdicts: string | null;
  itemCount: number;
}

type Planted = { index: number; valid: boolean }[];

/** A verdict under load may wait for a pooled connection and for the unit's row lock. */
const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 };

/** The device's verdicts on the unit's own items, in unit order: its canaries taken out. */
export function realVerdicts(verdicts: string, canaries: Planted): string {
  const at = new Set(canaries.map((c) => c.index));
  return [...verdicts].filter((_, i) => !at.has(i)).join('');
}

/**
 * Takes a device's signed result, and when it completes a quorum, verifies the unit: verdict,
 * rewards (ledger) and the relay announcement (outbox) commit in one transaction.
 */
@Injectable()
export class VerificationService {
  constructor(
    private readonly db: PrismaService,
    private readonly rewards: RewardsService,
    private readonly reputation: ReputationService,
    private readonly queues: WorkQueues,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async submit(device: SubmittingDevice, assignmentId: string, body: ResultBody): Promise<ResultResponse> {
    const a = await this.db.assignment.findUnique({ where: { id: assignmentId } });
    if (!a) throw WorkErrors.assignmentNotFound();
    if (a.deviceId !== device.id) throw WorkErrors.notYours();
    if (a.status === 'submitted') {
      if (a.verdicts !== body.verdicts || a.resultSignature !== body.resultSignature) throw WorkErrors.alreadyAnswered();
      return this.answer(assignmentId);
    }
    const canaries = a.canaries as Planted;
    const unit = await this.unitHead(this.db, a.unitId);
    // Cheap checks first, the signature last.
    const length = unit.itemCount + canaries.length;
    if (body.verdicts.length !== length || !/^[01]*$/.test(body.verdicts)) throw WorkErrors.verdictsInvalid(length);
    if (a.status === 'expired' || a.deadline.getTime() < Date.now()) throw WorkErrors.deadlinePassed();
    if (!ed25519VerifyHex(device.publicKey, resultSigningString(a.unitId, body.verdicts), body.resultSignature)) {
      throw WorkErrors.resultSignatureInvalid();
    }

    const real = realVerdicts(body.verdicts, canaries);
    await this.db.$transaction(async (tx) => {
      const locked = await this.unitHead(tx, a.unitId, true);
      const { count } = await tx.assignment.updateMany({
        where: { id: a.id, status: 'leased' },
        data: {
          status: 'submitted',
          verdicts: body.verdicts,
          realVerdicts: real,
          resultSignature: body.resultSignature,
          submittedAt: new Date(),
        },
      });
      if (count === 0) return; // the same result raced in twice: the first one counts
      if (!passesCanaries(body.verdicts, canaries)) {
        await this.reputation.strike(tx, a.id, device.id, 'canary_failed', 'CANARY_MISSED');
        // A decided unit stays decided: a late wrong answer is a strike, never a re-evaluation.
        if (locked.status !== 'open') return;
      } else if (locked.status !== 'open') {
        const agreed = locked.status === 'verified' && locked.verdicts === real;
        await tx.assignment.update({
          where: { id: a.id },
          data: { outcome: agreed ? 'agreed' : 'disagreed', reason: 'QUORUM_ALREADY_DECIDED' },
        });
        return;
      }
      await this.evaluate(tx, locked);
    }, TX_OPTIONS);
    await this.queues.complete(unit.deviceClass, a.jobId, a.lockToken);
    return this.answer(assignmentId);
  }

  /** What the device is told about its result; the same for a repeated submission. */
  private async answer(assignmentId: string): Promise<ResultResponse> {
    const a = await this.db.assignment.findUniqueOrThrow({ where: { id: assignmentId } });
    switch (a.outcome) {
      case 'agreed':
        return { status: 'verified' };
      case 'canary_failed':
        return { status: 'rejected', reason: 'CANARY_MISSED' };
      case 'disagreed':
        return { status: 'rejected', reason: a.reason ?? 'DISAGREED_WITH_QUORUM' };
      case null:
        return a.reason === 'UNIT_DISPUTED' ? { status: 'rejected', reason: 'UNIT_DISPUTED' } : { status: 'pending' };
    }
  }

  private async unitHead(db: Tx | PrismaService, unitId: string, lock = false): Promise<LockedUnit> {
    const rows = lock
      ? await db.$queryRaw<LockedUnit[]>`
          SELECT "id", "status"::text AS status, "deviceClass", "quorum", "maxReplicas", "replicasIssued",
                 "reward"::text AS reward, "verdicts", jsonb_array_length("items") AS "itemCount"
            FROM "WorkUnit" WHERE "id" = ${unitId} FOR UPDATE`
      : await db.$queryRaw<LockedUnit[]>`
          SELECT "id", "status"::text AS status, "deviceClass", "quorum", "maxReplicas", "replicasIssued",
                 "reward"::text AS reward, "verdicts", jsonb_array_length("items") AS "itemCount"
            FROM "WorkUnit" WHERE "id" = ${unitId}`;
    const unit = rows[0];
    if (!unit) throw WorkErrors.assignmentNotFound();
    return unit;
  }

  private async evaluate(tx: Tx, unit: LockedUnit): Promise<void> {
    const submitted = await tx.$queryRaw<
      { id: string; deviceId: string; ownerId: string | null; realVerdicts: string; outcome: string | null; active: boolean }[]
    >`
      SELECT a."id", a."deviceId", a."ownerId", a."realVerdicts", a."outcome"::text AS outcome, d."status" = 'active' AS active
        FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
       WHERE a."unitId" = ${unit.id} AND a."status" = 'submitted'`;
    // Only answers that passed their canaries, from devices still in good standing, count.
    const answers: Answer[] = submitted
      .filter((s) => s.outcome === null && s.active)
      .map((s) => ({ assignmentId: s.id, deviceId: s.deviceId, ownerId: s.ownerId, verdicts: s.realVerdicts }));
    const decision = decide(answers, {
      quorum: unit.quorum,
      answered: submitted.length,
      replicasIssued: unit.replicasIssued,
      maxReplicas: unit.maxReplicas,
    });
    switch (decision.kind) {
      case 'wait':
        return;
      case 'more': {
        const first = unit.replicasIssued + 1;
        await tx.workUnit.update({ where: { id: unit.id }, data: { replicasIssued: unit.replicasIssued + decision.replicas } });
        for (let replica = first; replica < first + decision.replicas; replica++) {
          await writeOutbox(tx, 'work.replica', `work.replica:${unit.id}:${replica}`, {
            unitId: unit.id,
            replica,
            deviceClass: unit.deviceClass,
          });
        }
        return;
      }
      case 'disputed':
        await tx.workUnit.update({ where: { id: unit.id }, data: { status: 'disputed', decidedAt: new Date() } });
        await tx.assignment.updateMany({
          where: { unitId: unit.id, status: 'submitted', outcome: null },
          data: { reason: 'UNIT_DISPUTED' },
        });
        return;
      case 'verified':
        await this.verify(tx, unit, decision.verdicts, decision.agreeing, decision.disagreeing);
        return;
    }
  }

  private async verify(tx: Tx, unit: LockedUnit, verdicts: string, agreeing: Answer[], disagreeing: Answer[]): Promise<void> {
    await tx.workUnit.update({ where: { id: unit.id }, data: { status: 'verified', verdicts, decidedAt: new Date() } });
    // Lock every device this verdict touches in one order, so two verdicts never wait on each other.
    const touched = [...new Set([...agreeing, ...disagreeing].map((a) => a.deviceId))].sort();
    await tx.$queryRaw`SELECT "id" FROM "Device" WHERE "id" = ANY(${touched}) ORDER BY "id" FOR UPDATE`;
    await tx.assignment.updateMany({ where: { id: { in: agreeing.map((a) => a.assignmentId) } }, data: { outcome: 'agreed' } });
    for (const a of agreeing) await this.reputation.agreed(tx, a.deviceId);
    for (const d of disagreeing) await this.reputation.strike(tx, d.assignmentId, d.deviceId, 'disagreed', 'DISAGREED_WITH_QUORUM');
    await tx.$executeRaw`
      UPDATE "SourceTx" SET "verdict" = (substr(${verdicts}, "itemIndex" + 1, 1) = '1') WHERE "unitId" = ${unit.id}`;
    // Each device's place among its owner's devices sets its share (diminishing returns per owner).
    const devices = await tx.$queryRaw<{ id: string; manufacturerId: string; ownerRank: number }[]>`
      SELECT d."id", d."manufacturerId",
             CASE WHEN d."ownerId" IS NULL THEN 1 ELSE (
               SELECT COUNT(*)::int FROM "Device" x
                WHERE x."ownerId" = d."ownerId" AND (x."enrolledAt", x."id") <= (d."enrolledAt", d."id")) END AS "ownerRank"
        FROM "Device" d WHERE d."id" = ANY(${agreeing.map((a) => a.deviceId)})`;
    await this.rewards.credit(
      tx,
      unit.id,
      devices.map((d) => ({ deviceId: d.id, manufacturerId: d.manufacturerId, ownerRank: d.ownerRank })),
      BigInt(unit.reward),
    );
    await writeOutbox(tx, 'unit.verified', `unit.verified:${unit.id}`, { unitId: unit.id });
  }
}
