import { Inject, Injectable } from '@nestjs/common';
import { ed25519VerifyHex } from '@idlemint/crypto';
import {
  nodeCanonicalJson,
  resultSigningString,
  type RelayAnswer,
  type RelayedUnit,
  type Retraction,
  type RetractionAnswer,
} from '@idlemint/protocol';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { NodePrismaService } from '../db/node-prisma.service.js';
import { PendingRepository } from '../pending/pending.repository.js';
import { LogRepository, type StoredEntry } from './log.repository.js';
import {
  assuranceInvalid,
  assuranceTooLow,
  refInvalid,
  refMismatch,
  refUnknown,
  resultSignatureInvalid,
  unitConflict,
  verdictsInvalid,
} from './relay.errors.js';

/**
 * Accepts a verified unit: checks it on its own terms (verdicts, every device's signature, this
 * node's refs), appends it to the log and records the verdicts on this node's transactions, all in
 * one transaction. The same unit again answers the same; different content under its id is a 409.
 */
@Injectable()
export class RelayService {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly db: NodePrismaService,
    private readonly log: LogRepository,
    private readonly pending: PendingRepository,
  ) {}

  async accept(unit: RelayedUnit): Promise<RelayAnswer> {
    this.checkShape(unit);
    const before = await this.log.findByUnit(unit.unitId);
    if (before) return this.repeat(before, unit);
    this.checkResults(unit);
    this.checkAssurance(unit);
    const verdicts = await this.ownVerdicts(unit);
    const { entry, appended } = await this.db.$transaction(async (tx) => {
      await this.log.lockAppends(tx);
      const raced = await this.log.findByUnit(unit.unitId, tx);
      if (raced) return { entry: raced, appended: false };
      const entry = await this.log.append(tx, unit);
      await this.pending.recordVerdicts(tx, unit.unitId, verdicts);
      // A retraction that overtook its unit on the way marks the verdicts as they land.
      if (await tx.retraction.findUnique({ where: { unitId: unit.unitId } })) await this.pending.markRetracted(tx, unit.unitId);
      return { entry, appended: true };
    });
    return appended ? answer(entry, false) : this.repeat(entry, unit);
  }

  private repeat(entry: StoredEntry, unit: RelayedUnit): RelayAnswer {
    if (nodeCanonicalJson(entry.payload) !== nodeCanonicalJson(unit)) throw unitConflict(unit.unitId);
    return answer(entry, true);
  }

  private checkShape(unit: RelayedUnit): void {
    if (unit.verdicts.length !== unit.items.length || !/^[01]+$/.test(unit.verdicts)) {
      throw verdictsInvalid('verdicts must hold one 0 or 1 per item', {
        items: unit.items.length,
        verdicts: unit.verdicts.length,
      });
    }
    for (const ref of unit.refs) {
      if (ref.index >= unit.items.length) throw refInvalid('ref index is outside the items', { index: ref.index });
    }
  }

  /**
   * Every device's own signature over (unitId, its verdicts), and those verdicts, canaries taken
   * out, equal to the unit's: the node trusts no one's word for the agreement.
   */
  private checkResults(unit: RelayedUnit): void {
    for (const r of unit.results) {
      if (!ed25519VerifyHex(r.devicePublicKey, resultSigningString(unit.unitId, r.verdicts), r.resultSignature)) {
        throw resultSignatureInvalid(r.devicePublicKey);
      }
      const planted = new Set(r.canaries);
      const real = [...r.verdicts].filter((_, i) => !planted.has(i)).join('');
      if (planted.size !== r.canaries.length || r.canaries.some((i) => i >= r.verdicts.length) || real !== unit.verdicts) {
        throw verdictsInvalid('a device result does not agree with the unit verdicts', { devicePublicKey: r.devicePublicKey });
      }
    }
  }

  /**
   * The node counts the agreeing devices itself (every one's signature was checked above) and takes
   * owners and manufacturers on the platform's signed word; it accepts no less than its settings.
   */
  private checkAssurance(unit: RelayedUnit): void {
    const a = unit.assurance;
    if (a.devices !== unit.results.length || a.reputations.length !== a.devices || a.owners > a.devices || a.manufacturers > a.devices) {
      throw assuranceInvalid('the assurance does not match the device results it comes with', {
        devices: a.devices,
        results: unit.results.length,
      });
    }
    const required = {
      devices: this.config.NODE_MIN_DEVICES,
      owners: this.config.NODE_MIN_OWNERS,
      manufacturers: this.config.NODE_MIN_MANUFACTURERS,
    };
    if (a.devices < required.devices || a.owners < required.owners || a.manufacturers < required.manufacturers) {
      throw assuranceTooLow({ required, got: { devices: a.devices, owners: a.owners, manufacturers: a.manufacturers } });
    }
  }

  /**
   * IdleMint withdraws a verdict it relayed. The log keeps the unit as it was (it is append-only);
   * the retraction is recorded once and marks this node's transactions the unit gave a verdict.
   */
  async retract(r: Retraction): Promise<RetractionAnswer> {
    return this.db.$transaction(async (tx) => {
      const before = await tx.retraction.findUnique({ where: { unitId: r.unitId } });
      if (before) return { unitId: r.unitId, transactions: before.txCount, duplicate: true };
      const transactions = await this.pending.markRetracted(tx, r.unitId);
      await tx.retraction.create({ data: { unitId: r.unitId, reason: r.reason, txCount: transactions } });
      return { unitId: r.unitId, transactions, duplicate: false };
    });
  }

  /** The verdict per own transaction the unit refers to, each checked against what the node made. */
  private async ownVerdicts(unit: RelayedUnit): Promise<Map<string, boolean>> {
    const refs = unit.refs.filter((r) => r.node === this.config.NODE_NAME);
    const own = await this.pending.findByIds([...new Set(refs.map((r) => r.id))]);
    const verdicts = new Map<string, boolean>();
    for (const ref of refs) {
      const tx = own.get(ref.id);
      if (!tx) throw refUnknown(ref.id);
      const item = unit.items[ref.index];
      const same =
        item.scheme === tx.scheme && item.publicKey === tx.publicKey && item.message === tx.message && item.signature === tx.signature;
      if (!same) throw refMismatch(ref.id, ref.index);
      const verdict = unit.verdicts[ref.index] === '1';
      if (verdicts.has(ref.id) && verdicts.get(ref.id) !== verdict) {
        throw refInvalid('one transaction is referenced twice with different verdicts', { id: ref.id });
      }
      verdicts.set(ref.id, verdict);
    }
    return verdicts;
  }
}

const answer = (entry: StoredEntry, duplicate: boolean): RelayAnswer => ({
  seq: entry.seq.toString(),
  hash: entry.hash,
  duplicate,
});
