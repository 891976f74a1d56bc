import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PrismaService, retryWriteConflicts, writeOutbox, type Config, type Tx } from '@idlemint/core';
import { ed25519VerifyHex } from '@idlemint/crypto';
import { RewardsService } from '@idlemint/ledger';
import { resultSigningString, type ResultBody, type ResultResponse } from '@idlemint/protocol';
import {
  WorkErrors,
  WorkQueues,
  WorkRepository,
  auditSampled,
  placementSeed,
  type Assurance,
  type SubmittedAnswer,
  type UnitHead,
} from '@idlemint/work';
import { decide, passesCanaries, settleAudit, type Answer } from './quorum.js';
import { ReputationService } from './reputation.service.js';

export interface SubmittingDevice {
  id: string;
  publicKey: string;
}

type Planted = { index: number; valid: boolean }[];

/** A verdict under load may wait for a pooled connection and for the unit's row lock. */
const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 };

/** The device's verdicts on the unit's own items, in unit order: its canaries taken out. */
export function realVerdicts(verdicts: string, canaries: Planted): string {
  const at = new Set(canaries.map((c) => c.index));
  return [...verdicts].filter((_, i) => !at.has(i)).join('');
}

const asAnswer = (s: SubmittedAnswer): Answer => ({
  assignmentId: s.id,
  deviceId: s.deviceId,
  ownerId: s.ownerId,
  manufacturerId: s.manufacturerId,
  origin: s.origin,
  verdicts: s.realVerdicts,
});

/** Who agreed, as the nodes are told inside what the platform signs. */
export function assuranceOf(agreeing: SubmittedAnswer[]): Assurance {
  const distinct = (f: (a: SubmittedAnswer) => string | null) => new Set(agreeing.map((a) => f(a) ?? `device:${a.deviceId}`)).size;
  return {
    devices: agreeing.length,
    owners: distinct((a) => a.ownerId),
    manufacturers: distinct((a) => a.manufacturerId),
    origins: distinct((a) => a.origin),
    reputations: agreeing.map((a) => Math.round(a.reputation * 1000) / 1000),
  };
}

/**
 * Takes a device's signed result and decides what it means: when it completes a unit's quorum of
 * independent answers, the verdict, the rewards (ledger) and the relay announcement (outbox)
 * commit in one transaction; an audit answer checks a verdict already relayed, and one that the
 * tie-break confirms withdraws it. Work's tables are written only through `WorkRepository`.
 */
@Injectable()
export class VerificationService {
  private readonly seed: string;

  constructor(
    private readonly db: PrismaService,
    private readonly work: WorkRepository,
    private readonly rewards: RewardsService,
    private readonly reputation: ReputationService,
    private readonly queues: WorkQueues,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.seed = placementSeed(config.PLACEMENT_SEED);
  }

  async submit(device: SubmittingDevice, assignmentId: string, body: ResultBody): Promise<ResultResponse> {
    const a = await this.work.findAssignment(assignmentId);
    if (!a) throw WorkErrors.assignmentNotFound();
    if (a.deviceId !== device.id) throw WorkErrors.notYours();
    if (a.status === 'submitted') {
      if (a.verdicts !== body.verdicts || a.resultSignature !== body.resultSignature) throw WorkErrors.alreadyAnswered();
      return this.answer(assignmentId);
    }
    const canaries = a.canaries as Planted;
    const unit = await this.work.unitHead(a.unitId);
    if (!unit) throw WorkErrors.assignmentNotFound();
    // Cheap checks first, the signature last.
    const length = unit.itemCount + canaries.length;
    if (body.verdicts.length !== length || !/^[01]*$/.test(body.verdicts)) throw WorkErrors.verdictsInvalid(length);
    if (a.status === 'expired' || a.deadline.getTime() < Date.now()) throw WorkErrors.deadlinePassed();
    if (!ed25519VerifyHex(device.publicKey, resultSigningString(a.unitId, body.verdicts), body.resultSignature)) {
      throw WorkErrors.resultSignatureInvalid();
    }

    const real = realVerdicts(body.verdicts, canaries);
    // A deadlock between two verdicts is Postgres's to break and ours to run again, never a 500.
    await retryWriteConflicts(() =>
      this.db.$transaction(async (tx) => {
        const locked = (await this.work.lockUnit(tx, a.unitId))!;
        const stored = await this.work.recordResult(tx, a.id, {
          verdicts: body.verdicts,
          realVerdicts: real,
          resultSignature: body.resultSignature,
        });
        if (!stored) return; // the same result raced in twice: the first one counts
        if (!passesCanaries(body.verdicts, canaries)) {
          await this.strike(tx, a.id, device.id, 'canary_failed', 'CANARY_MISSED');
          if (a.audit && (locked.auditStatus === 'pending' || locked.auditStatus === 'contested')) await this.work.reissueAudit(tx, locked);
          return; // a decided unit stays decided: a wrong canary is a strike, never a re-evaluation
        }
        if (a.audit) return this.evaluateAudit(tx, locked);
        if (locked.status !== 'open') {
          const agreed = locked.status === 'verified' && locked.verdicts === real;
          await this.work.setOutcome(tx, [a.id], agreed ? 'agreed' : 'disagreed', 'QUORUM_ALREADY_DECIDED');
          return;
        }
        await this.evaluate(tx, locked);
      }, TX_OPTIONS),
    );
    await this.queues.complete(unit.deviceClass, a.jobId, a.lockToken);
    return this.answer(assignmentId);
  }

  /** What the device is told about its result; the same for a repeated submission. */
  private async answer(assignmentId: string): Promise<ResultResponse> {
    const a = (await this.work.findAssignment(assignmentId))!;
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

  /** Only answers that passed their canaries, from devices still in good standing, count. */
  private async counted(tx: Tx, unitId: string): Promise<{ all: SubmittedAnswer[]; counted: SubmittedAnswer[] }> {
    const all = await this.work.submittedAnswers(tx, unitId);
    return { all, counted: all.filter((s) => s.outcome === null && s.active && !s.audit) };
  }

  private async evaluate(tx: Tx, unit: UnitHead): Promise<void> {
    const { all, counted } = await this.counted(tx, unit.id);
    const decision = decide(counted.map(asAnswer), {
      quorum: unit.quorum,
      minManufacturers: unit.minManufacturers,
      answered: all.filter((s) => !s.audit).length,
      replicasIssued: unit.replicasIssued,
      maxReplicas: unit.maxReplicas,
    });
    switch (decision.kind) {
      case 'wait':
        return;
      case 'more':
        return this.work.addReplicas(tx, unit, decision.replicas);
      case 'disputed':
        return this.work.markDisputed(tx, unit.id);
      case 'verified': {
        const ids = new Set(decision.agreeing.map((a) => a.assignmentId));
        await this.verify(
          tx,
          unit,
          decision.verdicts,
          counted.filter((s) => ids.has(s.id)),
          decision.disagreeing,
        );
        return;
      }
    }
  }

  private async verify(tx: Tx, unit: UnitHead, verdicts: string, agreeing: SubmittedAnswer[], disagreeing: Answer[]): Promise<void> {
    await this.lockDevices(tx, [...agreeing.map((a) => a.deviceId), ...disagreeing.map((a) => a.deviceId)]);
    await this.work.markVerified(
      tx,
      unit.id,
      verdicts,
      agreeing.map((a) => a.id),
      assuranceOf(agreeing),
    );
    for (const a of agreeing) await this.reputation.agreed(tx, a.deviceId);
    for (const d of disagreeing) await this.strike(tx, d.assignmentId, d.deviceId, 'disagreed', 'DISAGREED_WITH_QUORUM');
    await this.credit(
      tx,
      unit,
      agreeing.map((a) => a.deviceId),
    );
    await writeOutbox(tx, 'unit.verified', `unit.verified:${unit.id}`, { unitId: unit.id });
    if (auditSampled(this.seed, unit.id, this.config.AUDIT_RATE)) await this.work.startAudit(tx, unit, this.config.AUDIT_DELAY_MS);
  }

  /**
   * An audit answer for a verified unit. Agreeing with the relayed verdict passes the audit; a
   * disagreement asks `AUDIT_TIEBREAK` fresh devices, and once all have answered the independent
   * majority decides: the verdict holds (dissenting auditors struck) or is overturned (the devices
   * that made it struck, their reward for it forfeited and their other immature rewards frozen, and
   * the verdict retracted to every node through the outbox).
   */
  private async evaluateAudit(tx: Tx, unit: UnitHead): Promise<void> {
    if (unit.auditStatus !== 'pending' && unit.auditStatus !== 'contested') return;
    const all = await this.work.submittedAnswers(tx, unit.id);
    const auditors = all.filter((s) => s.audit && s.outcome === null && s.active);
    const answeredAudits = all.filter((s) => s.audit).length;
    if (unit.auditStatus === 'pending') {
      const auditor = auditors[0];
      if (!auditor) return;
      if (auditor.realVerdicts === unit.verdicts) {
        await this.work.settleAudit(tx, unit.id, 'passed');
        return this.agreeAll(tx, unit, [auditor]);
      }
      return this.work.contestAudit(tx, unit, this.config.AUDIT_TIEBREAK);
    }
    if (answeredAudits < unit.auditReplicas) return; // the tie-break is still out
    const made = all.filter((s) => !s.audit && s.outcome === 'agreed' && s.reason === null);
    const settlement = settleAudit(unit.verdicts!, [...made, ...auditors].map(asAnswer));
    await this.lockDevices(
      tx,
      [...made, ...auditors].map((s) => s.deviceId),
    );
    switch (settlement.kind) {
      case 'upheld': {
        await this.work.settleAudit(tx, unit.id, 'upheld');
        await this.agreeAll(
          tx,
          unit,
          auditors.filter((s) => s.realVerdicts === unit.verdicts),
        );
        for (const s of auditors.filter((x) => x.realVerdicts !== unit.verdicts)) {
          await this.strike(tx, s.id, s.deviceId, 'disagreed', 'AUDIT_DISAGREED');
        }
        return;
      }
      case 'overturned': {
        await this.work.retract(tx, unit.id);
        for (const s of made) {
          await this.strike(tx, s.id, s.deviceId, 'disagreed', 'AUDIT_OVERTURNED');
          await this.rewards.forfeitUnit(tx, unit.id, s.deviceId, `verdict of unit ${unit.id} overturned by audit`);
          await this.rewards.freezeImmature(tx, s.deviceId);
        }
        await this.agreeAll(
          tx,
          unit,
          auditors.filter((s) => s.realVerdicts === settlement.verdicts),
        );
        for (const s of auditors.filter((x) => x.realVerdicts !== settlement.verdicts)) {
          await this.strike(tx, s.id, s.deviceId, 'disagreed', 'AUDIT_DISAGREED');
        }
        return;
      }
      case 'undecided':
        // No independent majority either way: withdraw the verdict, strike nobody.
        await this.work.retract(tx, unit.id);
        await this.work.setOutcome(
          tx,
          auditors.map((s) => s.id),
          null,
          'AUDIT_UNDECIDED',
        );
        return;
    }
  }

  /** Auditors whose answer matched the outcome: credited and trusted for it like any agreeing device. */
  private async agreeAll(tx: Tx, unit: UnitHead, answers: SubmittedAnswer[]): Promise<void> {
    if (answers.length === 0) return;
    await this.work.setOutcome(
      tx,
      answers.map((a) => a.id),
      'agreed',
      'AUDIT',
    );
    for (const a of answers) await this.reputation.agreed(tx, a.deviceId);
    await this.credit(
      tx,
      unit,
      answers.map((a) => a.deviceId),
    );
  }

  private async strike(
    tx: Tx,
    assignmentId: string,
    deviceId: string,
    outcome: 'canary_failed' | 'disagreed',
    reason: string,
  ): Promise<void> {
    await this.work.setOutcome(tx, [assignmentId], outcome, reason);
    await this.reputation.strike(tx, deviceId);
  }

  /** Lock every device a verdict touches in one order, so two verdicts never wait on each other. */
  private async lockDevices(tx: Tx, ids: string[]): Promise<void> {
    const touched = [...new Set(ids)].sort();
    await tx.$queryRaw`SELECT "id" FROM "Device" WHERE "id" = ANY(${touched}) ORDER BY "id" FOR UPDATE`;
  }

  /** Each device's place among its owner's devices sets its share (diminishing returns per owner). */
  private async credit(tx: Tx, unit: UnitHead, deviceIds: string[]): Promise<void> {
    const devices = await tx.$queryRaw<{ id: string; manufacturerId: string; ownerRank: number }[]>`
      SELECT d."id", d."manufacturerId",
             CASE WHEN d."ownerId" IS NULL THEN 1 ELSE (
               SELECT COUNT(*)::int FROM "Device" x
                WHERE x."ownerId" = d."ownerId" AND (x."enrolledAt", x."id") <= (d."enrolledAt", d."id")) END AS "ownerRank"
        FROM "Device" d WHERE d."id" = ANY(${deviceIds})`;
    await this.rewards.credit(
      tx,
      unit.id,
      devices.map((d) => ({ deviceId: d.id, manufacturerId: d.manufacturerId, ownerRank: d.ownerRank })),
      BigInt(unit.reward),
    );
  }
}
