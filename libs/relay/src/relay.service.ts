import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, PlatformKeys, PrismaService, newId, type Config } from '@idlemint/core';
import type { TxItem } from '@idlemint/crypto';
import {
  NodeClient,
  NodeRequestError,
  type NodeAssurance,
  type RelayedUnit,
  type Retraction,
  type RetractionAnswer,
} from '@idlemint/protocol';

export type DeliveryOutcome = 'delivered' | 'already-delivered' | 'node-disabled' | 'retracted';

/** A permanent refusal by the node: retrying the same message cannot succeed. */
export class RelayRefusedError extends Error {}

/** The node answered the message itself with a 4xx (bar 429): a garbled or missing answer is retryable. */
const isRefusal = (e: unknown): e is NodeRequestError =>
  e instanceof NodeRequestError && e.status !== null && e.status >= 400 && e.status < 500 && e.status !== 429;

/**
 * Delivers a verified unit to one trusted node: the unit, its agreed verdicts, which of the node's
 * transactions each item is, and every agreeing device's own result signature, all signed by the
 * platform. At least once; the node is idempotent on the unit id.
 */
@Injectable()
export class RelayService {
  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async buildMessage(unitId: string): Promise<RelayedUnit> {
    const unit = await this.db.workUnit.findUniqueOrThrow({ where: { id: unitId } });
    if (unit.status !== 'verified' || !unit.verdicts || !unit.assurance) throw new RelayRefusedError(`unit ${unitId} is not verified`);
    // The answers that made the quorum (a late agreeing one came after the verdict, and an audit's
    // after the relay: neither is part of it).
    const answers = await this.db.$queryRaw<
      { devicePublicKey: string; resultSignature: string; verdicts: string; canaries: { index: number }[] }[]
    >`
      SELECT d."publicKey" AS "devicePublicKey", a."resultSignature", a."verdicts", a."canaries"
        FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
       WHERE a."unitId" = ${unitId} AND a."outcome" = 'agreed' AND a."reason" IS NULL AND NOT a."audit" ORDER BY a."id"`;
    const results = answers.map((r) => ({ ...r, canaries: r.canaries.map((c) => c.index).sort((x, y) => x - y) }));
    const refs = await this.db.$queryRaw<{ index: number; node: string; id: string }[]>`
      SELECT s."itemIndex" AS index, n."name" AS node, s."externalId" AS id
        FROM "SourceTx" s JOIN "TrustedNode" n ON n."id" = s."nodeId"
       WHERE s."unitId" = ${unitId} ORDER BY s."itemIndex"`;
    return {
      v: 1,
      unitId,
      kind: 'tx-verify',
      items: unit.items as unknown as TxItem[],
      verdicts: unit.verdicts,
      refs,
      results,
      assurance: unit.assurance as unknown as NodeAssurance,
      verifiedAt: (unit.decidedAt ?? unit.createdAt).toISOString(),
    };
  }

  async deliver(unitId: string, nodeId: string): Promise<DeliveryOutcome> {
    const node = await this.db.trustedNode.findUniqueOrThrow({ where: { id: nodeId } });
    const delivery = await this.db.relayDelivery.upsert({
      where: { unitId_nodeId: { unitId, nodeId } },
      create: { id: newId(), unitId, nodeId, attempts: 1 },
      update: { attempts: { increment: 1 } },
    });
    if (delivery.status === 'delivered') return 'already-delivered';
    if (node.status !== 'active') return 'node-disabled';
    const head = await this.db.workUnit.findUniqueOrThrow({ where: { id: unitId }, select: { retractedAt: true } });
    if (head.retractedAt) {
      // Withdrawn before it reached this node: nothing to deliver (the retraction goes out anyway).
      await this.markDead(unitId, nodeId, 'retracted before delivery');
      return 'retracted';
    }
    const message = await this.buildMessage(unitId);
    try {
      const res = await new NodeClient(node.url, await this.keys.currentSeed()).request<{ seq: string }>(
        'POST',
        '/v1/relay/units',
        message,
      );
      await this.db.relayDelivery.update({
        where: { id: delivery.id },
        data: { status: 'delivered', deliveredAt: new Date(), nodeSeq: BigInt(res.seq), lastError: null },
      });
      return 'delivered';
    } catch (e) {
      const error = e instanceof NodeRequestError ? `${e.code}: ${e.message}` : (e as Error).message;
      await this.db.relayDelivery.update({ where: { id: delivery.id }, data: { lastError: error.slice(0, 500) } });
      if (isRefusal(e)) throw new RelayRefusedError(error);
      throw e;
    }
  }

  /** Tells one node that a verdict it may hold was withdrawn (an audit overturned it). Idempotent there. */
  async retract(unitId: string, nodeId: string): Promise<'retracted' | 'already-retracted' | 'node-disabled'> {
    const node = await this.db.trustedNode.findUniqueOrThrow({ where: { id: nodeId } });
    const delivery = await this.db.retractionDelivery.upsert({
      where: { unitId_nodeId: { unitId, nodeId } },
      create: { id: newId(), unitId, nodeId, attempts: 1 },
      update: { attempts: { increment: 1 } },
    });
    if (delivery.status === 'delivered') return 'already-retracted';
    if (node.status !== 'active') return 'node-disabled';
    const unit = await this.db.workUnit.findUniqueOrThrow({ where: { id: unitId }, select: { retractedAt: true, auditStatus: true } });
    if (!unit.retractedAt) throw new RelayRefusedError(`unit ${unitId} is not retracted`);
    const message: Retraction = {
      v: 1,
      unitId,
      reason: unit.auditStatus === 'overturned' ? 'AUDIT_OVERTURNED' : 'AUDIT_UNDECIDED',
      retractedAt: unit.retractedAt.toISOString(),
    };
    try {
      await new NodeClient(node.url, await this.keys.currentSeed()).request<RetractionAnswer>('POST', '/v1/relay/retractions', message);
      await this.db.retractionDelivery.update({
        where: { id: delivery.id },
        data: { status: 'delivered', deliveredAt: new Date(), lastError: null },
      });
      return 'retracted';
    } catch (e) {
      const error = e instanceof NodeRequestError ? `${e.code}: ${e.message}` : (e as Error).message;
      await this.db.retractionDelivery.update({ where: { id: delivery.id }, data: { lastError: error.slice(0, 500) } });
      if (isRefusal(e)) throw new RelayRefusedError(error);
      throw e;
    }
  }

  async markRetractionDead(unitId: string, nodeId: string, error: string): Promise<void> {
    await this.db.retractionDelivery.updateMany({
      where: { unitId, nodeId, status: 'pending' },
      data: { status: 'dead', lastError: error.slice(0, 500) },
    });
  }

  /**
   * Every (verified unit, active node) pair not yet delivered and not refused for good: what the
   * reconciler re-drives. A pair whose `unit.verified` message is still in the outbox is left to
   * the dispatcher; a node only gets units verified after it was registered.
   */
  undeliveredPairs(limit = 2_000): Promise<{ unitId: string; nodeId: string }[]> {
    return this.db.$queryRaw<{ unitId: string; nodeId: string }[]>`
      SELECT u."id" AS "unitId", n."id" AS "nodeId"
        FROM "WorkUnit" u JOIN "TrustedNode" n ON n."status" = 'active' AND n."createdAt" <= COALESCE(u."decidedAt", u."createdAt")
       WHERE u."status" = 'verified'
         AND NOT EXISTS (SELECT 1 FROM "RelayDelivery" d
                          WHERE d."unitId" = u."id" AND d."nodeId" = n."id" AND d."status" IN ('delivered', 'dead'))
         AND NOT EXISTS (SELECT 1 FROM "OutboxMessage" o WHERE o."key" = 'unit.verified:' || u."id" AND o."dispatchedAt" IS NULL)
       ORDER BY u."decidedAt" NULLS FIRST, u."id"
       LIMIT ${limit}`;
  }

  /**
   * Every (retracted unit, active node) pair whose retraction is not yet delivered nor refused for
   * good: the reconciler re-drives them like deliveries. One still in the outbox is the dispatcher's.
   */
  unretractedPairs(limit = 2_000): Promise<{ unitId: string; nodeId: string }[]> {
    return this.db.$queryRaw<{ unitId: string; nodeId: string }[]>`
      SELECT u."id" AS "unitId", n."id" AS "nodeId"
        FROM "WorkUnit" u JOIN "TrustedNode" n ON n."status" = 'active' AND n."createdAt" <= u."retractedAt"
       WHERE u."retractedAt" IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM "RetractionDelivery" d
                          WHERE d."unitId" = u."id" AND d."nodeId" = n."id" AND d."status" IN ('delivered', 'dead'))
         AND NOT EXISTS (SELECT 1 FROM "OutboxMessage" o WHERE o."key" = 'unit.retracted:' || u."id" AND o."dispatchedAt" IS NULL)
       ORDER BY u."retractedAt", u."id"
       LIMIT ${limit}`;
  }

  /** Per trusted node: verified units not yet delivered to it (pending), and dead-lettered ones. */
  async undeliveredByNode(): Promise<{ nodeId: string; name: string; status: string; pending: number; dead: number }[]> {
    return this.db.$queryRaw`
      SELECT n."id" AS "nodeId", n."name", n."status"::text AS status,
             (SELECT COUNT(*)::int FROM "WorkUnit" u
               WHERE u."status" = 'verified' AND n."createdAt" <= COALESCE(u."decidedAt", u."createdAt")
                 AND NOT EXISTS (SELECT 1 FROM "RelayDelivery" d
                                  WHERE d."unitId" = u."id" AND d."nodeId" = n."id" AND d."status" IN ('delivered', 'dead'))) AS pending,
             (SELECT COUNT(*)::int FROM "RelayDelivery" d WHERE d."nodeId" = n."id" AND d."status" = 'dead') AS dead
        FROM "TrustedNode" n ORDER BY n."name"`;
  }

  /**
   * The operator sends dead-lettered deliveries again (all nodes, or one): they become pending,
   * and the worker's reconciler re-drives them. Returns how many were revived.
   */
  async redrive(nodeId?: string): Promise<number> {
    const { count } = await this.db.relayDelivery.updateMany({
      where: { status: 'dead', ...(nodeId ? { nodeId } : {}) },
      data: { status: 'pending' },
    });
    return count;
  }

  /** A refusal by the node (a 4xx to the message itself): dead-lettered and visible to the operator. */
  async markDead(unitId: string, nodeId: string, error: string): Promise<void> {
    await this.db.relayDelivery.updateMany({
      where: { unitId, nodeId, status: 'pending' },
      data: { status: 'dead', lastError: error.slice(0, 500) },
    });
  }
}
