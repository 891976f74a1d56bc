import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { DomainError, PlatformKeys, PrismaService, type Tx } from '@idlemint/core';
import { LedgerService } from '@idlemint/ledger';
import { NodeClient, NodeRequestError, type NodePayoutAnswer } from '@idlemint/protocol';

export type PayoutResolution = 'paid' | 'not-paid';

/** What the payout's node said about the payout's key when asked at resolution time. */
export type NodeWord = 'confirmed' | 'failed' | 'not-found' | 'unreachable';

export const PayoutErrors = {
  notFound: () => new DomainError('PAYOUT.NOT_FOUND', 'not_found', 'payout not found'),
  notUnclear: (status: string) =>
    new DomainError('PAYOUT.NOT_UNCLEAR', 'conflict', `only an unclear payout can be resolved; this one is ${status}`, { status }),
  alreadyResolved: (status: string) =>
    new DomainError('PAYOUT.ALREADY_RESOLVED', 'conflict', `the payout was already resolved the other way (${status})`, { status }),
  nodeDisagrees: (node: NodeWord, outcome: PayoutResolution) =>
    new DomainError('PAYOUT.NODE_DISAGREES', 'conflict', `the node says the payout is ${node}, which contradicts "${outcome}"`, {
      node,
      outcome,
    }),
};

/** The state a resolution leaves (or found, when it was already applied). */
const FINAL: Record<PayoutResolution, 'confirmed' | 'failed'> = { paid: 'confirmed', 'not-paid': 'failed' };

/**
 * The operator's decision on a payout left `unclear` (its node never answered clearly): `paid`
 * settles it in the ledger, `not-paid` credits the money back to the devices. Before either, the
 * node is asked again when reachable; a node that contradicts the decision refuses it (409), so
 * the operator can never settle money the node did not pay, nor credit back money it did. When no
 * other unclear payout of the owner remains, the owner's payout halt is lifted. Idempotent:
 * resolving again the same way answers the same state and changes nothing.
 */
@Injectable()
export class PayoutResolutionService {
  private readonly log = new Logger(PayoutResolutionService.name);

  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly ledger: LedgerService,
    private readonly audit: AuditService,
  ) {}

  async resolve(payoutId: string, outcome: PayoutResolution) {
    const p = await this.db.payout.findUnique({ where: { id: payoutId } });
    if (!p) throw PayoutErrors.notFound();
    if (p.status !== 'unclear') return this.already(p, outcome);

    const node = await this.askNode(p.nodeId, p.idempotencyKey);
    if (outcome === 'paid' && (node === 'failed' || node === 'not-found')) throw PayoutErrors.nodeDisagrees(node, outcome);
    if (outcome === 'not-paid' && node === 'confirmed') throw PayoutErrors.nodeDisagrees(node, outcome);

    const now = new Date();
    const applied = await this.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM "Owner" WHERE "id" = ${p.ownerId} FOR UPDATE`;
      const { count } = await tx.payout.updateMany({
        where: { id: payoutId, status: 'unclear' },
        data: { status: FINAL[outcome], resolution: outcome, resolvedAt: now, updatedAt: now },
      });
      if (count === 0) return false;
      const reason = `operator resolved unclear payout as ${outcome} (node: ${node})`;
      if (outcome === 'paid') await this.ledger.settlePayout(tx, payoutId, BigInt(p.amount.toFixed(0)));
      else await this.ledger.reversePayout(tx, payoutId, await this.ledger.payoutAmounts(tx, payoutId), reason);
      const lifted = await this.liftHalt(tx, p.ownerId);
      await this.audit.record(tx, {
        manufacturerId: null,
        actor: { kind: 'operator' },
        action: 'payout.resolve',
        targetType: 'payout',
        targetIds: [payoutId],
        before: { status: 'unclear' },
        after: { status: FINAL[outcome], resolution: outcome, node, ownerHaltLifted: lifted },
      });
      return true;
    });
    if (!applied) return this.already(await this.db.payout.findUniqueOrThrow({ where: { id: payoutId } }), outcome);
    this.log.log(`payout ${payoutId} resolved as ${outcome} by the operator (node: ${node})`);
    return this.view(payoutId, node);
  }

  /** A repeat of the same decision answers the state; anything else is a conflict. */
  private async already(p: { id: string; status: string }, outcome: PayoutResolution) {
    if (p.status === FINAL[outcome]) return this.view(p.id, null);
    if (p.status === 'pending') throw PayoutErrors.notUnclear(p.status);
    throw PayoutErrors.alreadyResolved(p.status);
  }

  private async liftHalt(tx: Tx, ownerId: string): Promise<boolean> {
    const others = await tx.payout.count({ where: { ownerId, status: 'unclear' } });
    if (others > 0) return false;
    const { count } = await tx.owner.updateMany({
      where: { id: ownerId, payoutsHaltedAt: { not: null } },
      data: { payoutsHaltedAt: null, haltReason: null },
    });
    return count === 1;
  }

  /** The node's word on the key; `unreachable` when it gives none (then the operator's word stands). */
  private async askNode(nodeId: string, key: string): Promise<NodeWord> {
    const node = await this.db.trustedNode.findUnique({ where: { id: nodeId } });
    if (!node) return 'unreachable';
    try {
      const answer = await new NodeClient(node.url, await this.keys.currentSeed(), 5_000).request<NodePayoutAnswer>(
        'GET',
        `/v1/payouts/${key}`,
      );
      if (answer?.status === 'confirmed' || answer?.status === 'failed') return answer.status;
      return 'unreachable';
    } catch (e) {
      if (e instanceof NodeRequestError && e.status === 404) return 'not-found';
      return 'unreachable';
    }
  }

  private async view(payoutId: string, node: NodeWord | null) {
    const p = await this.db.payout.findUniqueOrThrow({ where: { id: payoutId } });
    const owner = await this.db.owner.findUnique({ where: { id: p.ownerId }, select: { payoutsHaltedAt: true } });
    return {
      id: p.id,
      ownerId: p.ownerId,
      nodeId: p.nodeId,
      address: p.address,
      amount: p.amount.toFixed(0),
      status: p.status,
      resolution: p.resolution,
      resolvedAt: p.resolvedAt,
      error: p.error,
      ownerPayoutsHalted: owner?.payoutsHaltedAt != null,
      /** What the node said now; null when the call changed nothing (already resolved). */
      nodeCheck: node,
    };
  }
}
