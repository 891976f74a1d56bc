import { Injectable, Logger } from '@nestjs/common';
import { PlatformKeys, PrismaService, type Tx } from '@idlemint/core';
import { LedgerService } from '@idlemint/ledger';
import { NodeClient, NodeRequestError, type NodePayoutAnswer } from '@idlemint/protocol';

export type RecheckOutcome = 'confirmed' | 'failed' | 'resumed' | 'denied' | 'unreachable' | 'done';

/** First recheck of an unclear payout after this long, doubling per check up to the cap. */
const RECHECK_BASE_MS = 2_000;
const RECHECK_CAP_MS = 5 * 60_000;

/** When the next recheck of a payout asked about `checks` times is due (ms after its last update). */
export const recheckDelayMs = (checks: number): number => Math.min(RECHECK_CAP_MS, RECHECK_BASE_MS * 2 ** Math.min(checks, 20));

/**
 * Payouts recover by themselves. A pending payout always has a job (the reconciler re-adds a lost
 * one); an unclear payout is asked about again by its idempotency key, with backoff, until the node
 * says settled or refused. The node's word decides: confirmed settles, failed credits back, and a key
 * the node never received goes back to pending and is paid with the same key. Only a node that
 * denies knowing a payout it may have received leaves the owner halted for the operator.
 */
@Injectable()
export class PayoutRecovery {
  private readonly log = new Logger(PayoutRecovery.name);

  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly ledger: LedgerService,
  ) {}

  /** Payouts in flight: created, not yet confirmed or refused by the node. Each must have a job. */
  async pendingIds(limit = 2_000): Promise<string[]> {
    const rows = await this.db.payout.findMany({
      where: { status: 'pending' },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  /** Unclear payouts the operator has not resolved whose next recheck is due. */
  async unclearDue(limit = 200): Promise<string[]> {
    const rows = await this.db.payout.findMany({
      where: { status: 'unclear', resolution: null },
      select: { id: true, checks: true, updatedAt: true },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
    const now = Date.now();
    return rows.filter((r) => r.updatedAt.getTime() + recheckDelayMs(r.checks) <= now).map((r) => r.id);
  }

  /** Asks the node about one unclear payout and applies its word. */
  async recheck(payoutId: string): Promise<RecheckOutcome> {
    const p = await this.db.payout.findUnique({ where: { id: payoutId } });
    if (!p || p.status !== 'unclear' || p.resolution) return 'done';
    const word = await this.askNode(p.nodeId, p.idempotencyKey);
    const now = new Date();
    const outcome = await this.db.$transaction(async (tx): Promise<RecheckOutcome> => {
      await tx.$queryRaw`SELECT 1 FROM "Owner" WHERE "id" = ${p.ownerId} FOR UPDATE`;
      const next = (data: object) => tx.payout.updateMany({ where: { id: payoutId, status: 'unclear', resolution: null }, data });
      switch (word) {
        case 'confirmed': {
          if ((await next({ status: 'confirmed', error: null, updatedAt: now })).count === 0) return 'done';
          await this.ledger.settlePayout(tx, payoutId, BigInt(p.amount.toFixed(0)));
          await this.liftHalt(tx, p.ownerId);
          return 'confirmed';
        }
        case 'failed': {
          if ((await next({ status: 'failed', error: 'node reports the payout failed', updatedAt: now })).count === 0) return 'done';
          await this.ledger.reversePayout(tx, payoutId, await this.ledger.payoutAmounts(tx, payoutId), 'node reports the payout failed');
          await this.liftHalt(tx, p.ownerId);
          return 'failed';
        }
        case 'not-found': {
          if (p.sentAt) {
            await next({ error: 'the node denies knowing a payout it may have received', checks: { increment: 1 }, updatedAt: now });
            return 'denied';
          }
          // Never reached the node: paying with the same key is safe; the reconciler gives it a job.
          if ((await next({ status: 'pending', error: null, checks: { increment: 1 }, updatedAt: now })).count === 0) return 'done';
          await this.liftHalt(tx, p.ownerId);
          return 'resumed';
        }
        case 'unreachable':
          await next({ checks: { increment: 1 }, updatedAt: now });
          return 'unreachable';
      }
    });
    if (outcome !== 'unreachable' && outcome !== 'done') this.log.log(`unclear payout ${payoutId} rechecked: ${outcome}`);
    return outcome;
  }

  /** The owner's halt goes when no unclear payout of theirs remains. */
  private async liftHalt(tx: Tx, ownerId: string): Promise<void> {
    if ((await tx.payout.count({ where: { ownerId, status: 'unclear' } })) > 0) return;
    await tx.owner.updateMany({
      where: { id: ownerId, payoutsHaltedAt: { not: null } },
      data: { payoutsHaltedAt: null, haltReason: null },
    });
  }

  private async askNode(nodeId: string, key: string): Promise<'confirmed' | 'failed' | 'not-found' | 'unreachable'> {
    const node = await this.db.trustedNode.findUnique({ where: { id: nodeId } });
    if (!node) return 'unreachable';
    try {
      const answer = await new NodeClient(node.url, await this.keys.currentSeed(), 5_000).request<NodePayoutAnswer>(
        'GET',
        `/v1/payouts/${key}`,
      );
      return answer?.status === 'confirmed' || answer?.status === 'failed' ? answer.status : 'unreachable';
    } catch (e) {
      return e instanceof NodeRequestError && e.status === 404 ? 'not-found' : 'unreachable';
    }
  }
}
