import { Injectable } from '@nestjs/common';
import { PrismaService, writeOutbox, type Tx } from '@idlemint/core';
import type { AssignmentModel as Assignment } from '@idlemint/core';

/** A unit's head as a verdict reads it, locked or not. */
export interface UnitHead {
  id: string;
  status: 'open' | 'verified' | 'disputed';
  auditStatus: 'pending' | 'passed' | 'contested' | 'upheld' | 'overturned' | null;
  deviceClass: string;
  quorum: number;
  minManufacturers: number;
  maxReplicas: number;
  replicasIssued: number;
  auditReplicas: number;
  reward: string;
  verdicts: string | null;
  itemCount: number;
}

/** A submitted answer to a unit, with what keeps answers apart. */
export interface SubmittedAnswer {
  id: string;
  deviceId: string;
  ownerId: string | null;
  manufacturerId: string | null;
  origin: string | null;
  realVerdicts: string;
  outcome: 'agreed' | 'disagreed' | 'canary_failed' | null;
  reason: string | null;
  audit: boolean;
  active: boolean;
  reputation: number;
}

/** What the nodes are told about who agreed, fixed at the verdict (signed with every relay). */
export interface Assurance {
  devices: number;
  owners: number;
  manufacturers: number;
  origins: number;
  reputations: number[];
}

export type AuditStatus = NonNullable<UnitHead['auditStatus']>;

/**
 * The only writer of work's tables (`WorkUnit`, `Assignment`, `SourceTx`): the verification lib
 * decides, this stores. Methods are named for what they mean to the work, and take the caller's
 * transaction where a verdict must commit with its credit.
 */
@Injectable()
export class WorkRepository {
  constructor(private readonly db: PrismaService) {}

  findAssignment(id: string): Promise<Assignment | null> {
    return this.db.assignment.findUnique({ where: { id } });
  }

  unitHead(unitId: string): Promise<UnitHead | undefined> {
    return this.head(this.db, unitId, false);
  }

  /** The unit's row, locked for the verdict's transaction: one verdict at a time per unit. */
  lockUnit(tx: Tx, unitId: string): Promise<UnitHead | undefined> {
    return this.head(tx, unitId, true);
  }

  private async head(db: Tx | PrismaService, unitId: string, lock: boolean): Promise<UnitHead | undefined> {
    const rows = lock
      ? await db.$queryRaw<UnitHead[]>`
          SELECT "id", "status"::text AS status, "auditStatus"::text AS "auditStatus", "deviceClass", "quorum", "minManufacturers",
                 "maxReplicas", "replicasIssued", "auditReplicas", "reward"::text AS reward, "verdicts",
                 jsonb_array_length("items") AS "itemCount"
            FROM "WorkUnit" WHERE "id" = ${unitId} FOR UPDATE`
      : await db.$queryRaw<UnitHead[]>`
          SELECT "id", "status"::text AS status, "auditStatus"::text AS "auditStatus", "deviceClass", "quorum", "minManufacturers",
                 "maxReplicas", "replicasIssued", "auditReplicas", "reward"::text AS reward, "verdicts",
                 jsonb_array_length("items") AS "itemCount"
            FROM "WorkUnit" WHERE "id" = ${unitId}`;
    return rows[0];
  }

  /** Stores a device's answer; false when it was already stored (the same result raced in twice). */
  async recordResult(
    tx: Tx,
    assignmentId: string,
    r: { verdicts: string; realVerdicts: string; resultSignature: string },
  ): Promise<boolean> {
    const { count } = await tx.assignment.updateMany({
      where: { id: assignmentId, status: 'leased' },
      data: { status: 'submitted', ...r, submittedAt: new Date() },
    });
    return count > 0;
  }

  async setOutcome(
    tx: Tx,
    assignmentIds: string[],
    outcome: 'agreed' | 'disagreed' | 'canary_failed' | null,
    reason?: string,
  ): Promise<void> {
    if (assignmentIds.length === 0) return;
    await tx.assignment.updateMany({ where: { id: { in: assignmentIds } }, data: { outcome, ...(reason ? { reason } : {}) } });
  }

  /** Every submitted answer of a unit, with its device's standing now. */
  submittedAnswers(tx: Tx, unitId: string): Promise<SubmittedAnswer[]> {
    return tx.$queryRaw<SubmittedAnswer[]>`
      SELECT a."id", a."deviceId", a."ownerId", a."manufacturerId", a."origin", a."realVerdicts", a."outcome"::text AS outcome,
             a."reason", a."audit", d."status" = 'active' AS active, d."reputation"
        FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
       WHERE a."unitId" = ${unitId} AND a."status" = 'submitted'
       ORDER BY a."id"`;
  }

  /** Announces replicas `first..first+count-1` through the outbox, in the caller's transaction. */
  async announceReplicas(
    tx: Tx,
    unit: { id: string; deviceClass: string },
    first: number,
    count: number,
    opts: { audit?: boolean; delayMs?: number } = {},
  ): Promise<void> {
    for (let replica = first; replica < first + count; replica++) {
      await writeOutbox(tx, 'work.replica', `work.replica:${unit.id}:${replica}`, {
        unitId: unit.id,
        replica,
        deviceClass: unit.deviceClass,
        ...(opts.audit ? { audit: true } : {}),
        ...(opts.delayMs ? { delayMs: opts.delayMs } : {}),
      });
    }
  }

  /** More replicas for a unit still open (a disagreement). */
  async addReplicas(tx: Tx, unit: UnitHead, count: number): Promise<void> {
    await tx.workUnit.update({ where: { id: unit.id }, data: { replicasIssued: unit.replicasIssued + count } });
    await this.announceReplicas(tx, unit, unit.replicasIssued + 1, count);
  }

  async markDisputed(tx: Tx, unitId: string): Promise<void> {
    await tx.workUnit.update({ where: { id: unitId }, data: { status: 'disputed', decidedAt: new Date() } });
    await tx.assignment.updateMany({
      where: { unitId, status: 'submitted', outcome: null },
      data: { reason: 'UNIT_DISPUTED' },
    });
  }

  /** The verdict: the unit, its agreeing answers, and each of its node transactions' verdict. */
  async markVerified(tx: Tx, unitId: string, verdicts: string, agreeing: string[], assurance: Assurance): Promise<void> {
    await tx.workUnit.update({
      where: { id: unitId },
      data: { status: 'verified', verdicts, decidedAt: new Date(), assurance: assurance as object },
    });
    await this.setOutcome(tx, agreeing, 'agreed');
    await tx.$executeRaw`
      UPDATE "SourceTx" SET "verdict" = (substr(${verdicts}, "itemIndex" + 1, 1) = '1') WHERE "unitId" = ${unitId}`;
  }

  /** Samples a verified unit for audit: one more replica, held back `delayMs`, for a third device. */
  async startAudit(tx: Tx, unit: UnitHead, delayMs: number): Promise<void> {
    await tx.workUnit.update({
      where: { id: unit.id },
      data: { auditStatus: 'pending', auditReplicas: 1, replicasIssued: unit.replicasIssued + 1 },
    });
    await this.announceReplicas(tx, unit, unit.replicasIssued + 1, 1, { audit: true, delayMs });
  }

  /** The audit disagreed: `count` fresh replicas settle who was right. */
  async contestAudit(tx: Tx, unit: UnitHead, count: number): Promise<void> {
    await tx.workUnit.update({
      where: { id: unit.id },
      data: { auditStatus: 'contested', auditReplicas: unit.auditReplicas + count, replicasIssued: unit.replicasIssued + count },
    });
    await this.announceReplicas(tx, unit, unit.replicasIssued + 1, count, { audit: true });
  }

  /** An auditor failed its canaries: its answer is worth nothing, so another device audits instead. */
  async reissueAudit(tx: Tx, unit: UnitHead): Promise<void> {
    await tx.workUnit.update({
      where: { id: unit.id },
      data: { auditReplicas: unit.auditReplicas + 1, replicasIssued: unit.replicasIssued + 1 },
    });
    await this.announceReplicas(tx, unit, unit.replicasIssued + 1, 1, { audit: true });
  }

  async settleAudit(tx: Tx, unitId: string, status: 'passed' | 'upheld'): Promise<void> {
    await tx.workUnit.update({ where: { id: unitId }, data: { auditStatus: status } });
  }

  /** The relayed verdict did not hold: withdrawn, and the node transactions lose their verdict. */
  async retract(tx: Tx, unitId: string): Promise<void> {
    await tx.workUnit.update({ where: { id: unitId }, data: { auditStatus: 'overturned', retractedAt: new Date() } });
    await tx.$executeRaw`UPDATE "SourceTx" SET "verdict" = NULL WHERE "unitId" = ${unitId}`;
    await writeOutbox(tx, 'unit.retracted', `unit.retracted:${unitId}`, { unitId });
  }
}
