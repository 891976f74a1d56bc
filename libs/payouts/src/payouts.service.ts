import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, PlatformKeys, PrismaService, newId, writeOutbox, type Config, type Tx } from '@idlemint/core';
import { LedgerService } from '@idlemint/ledger';
import { NodeClient, NodeRequestError } from '@idlemint/protocol';

interface NodePayout {
  idempotencyKey: string;
  status: 'confirmed' | 'failed';
  amount: string;
  address: string;
}

/** Thrown while the outcome of a payout is unknown: BullMQ retries, the last failure halts. */
export class PayoutUnclearError extends Error {}

const unclear = (payoutId: string, e: unknown) => new PayoutUnclearError(`payout ${payoutId}: ${(e as Error).message}`);

/** A definite "no" from the node to the payout request itself: a 4xx answer. */
const isRefusal = (e: unknown): e is NodeRequestError =>
  e instanceof NodeRequestError && e.status !== null && e.status >= 400 && e.status < 500;

/**
 * Pays owners whose balance passed the threshold, through the payout node, once per idempotency
 * key. An outcome the node does not state clearly halts that owner's payouts; only a definite
 * refusal by the node credits the money back.
 */
@Injectable()
export class PayoutsService {
  private readonly log = new Logger(PayoutsService.name);

  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly ledger: LedgerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private async payoutNode() {
    const nodes = await this.db.trustedNode.findMany({ where: { status: 'active' }, orderBy: { createdAt: 'asc' } });
    return (this.config.PAYOUT_NODE ? nodes.find((n) => n.name === this.config.PAYOUT_NODE) : nodes[0]) ?? null;
  }

  /** One payout run: creates a payout for every eligible owner. Returns the payouts created. */
  async run(): Promise<string[]> {
    const node = await this.payoutNode();
    if (!node) return [];
    const candidates = await this.db.$queryRaw<{ ownerId: string }[]>`
      SELECT d."ownerId" FROM "Device" d
        JOIN "Owner" o ON o."id" = d."ownerId" AND o."payoutAddress" IS NOT NULL AND o."payoutsHaltedAt" IS NULL
        JOIN "LedgerAccount" a ON a."code" = 'device:' || d."id"
        JOIN "Posting" p ON p."accountId" = a."id"
       WHERE NOT EXISTS (SELECT 1 FROM "Payout" x WHERE x."ownerId" = d."ownerId" AND x."status" IN ('pending', 'unclear'))
       GROUP BY d."ownerId" HAVING SUM(p."amount") >= ${this.config.PAYOUT_THRESHOLD.toString()}::numeric`;
    const created: string[] = [];
    for (const { ownerId } of candidates) {
      const id = await this.db.$transaction((tx) => this.createPayout(tx, ownerId, node.id));
      if (id) created.push(id);
    }
    return created;
  }

  private async createPayout(tx: Tx, ownerId: string, nodeId: string): Promise<string | null> {
    // Lock the owner so two payout runs cannot pay the same balance twice.
    const owners = await tx.$queryRaw<{ payoutAddress: string | null; payoutsHaltedAt: Date | null }[]>`
      SELECT "payoutAddress", "payoutsHaltedAt" FROM "Owner" WHERE "id" = ${ownerId} FOR UPDATE`;
    const owner = owners[0];
    if (!owner?.payoutAddress || owner.payoutsHaltedAt) return null;
    const open = await tx.payout.count({ where: { ownerId, status: { in: ['pending', 'unclear'] } } });
    if (open > 0) return null;
    const devices = await tx.device.findMany({ where: { ownerId }, select: { id: true } });
    const balances = await this.ledger.deviceBalances(
      tx,
      devices.map((d) => d.id),
    );
    const amounts = new Map<string, bigint>();
    for (const d of devices) {
      const b = balances.get(`device:${d.id}`) ?? 0n;
      if (b > 0n) amounts.set(d.id, b);
    }
    const total = [...amounts.values()].reduce((s, a) => s + a, 0n);
    if (total < this.config.PAYOUT_THRESHOLD) return null;
    const id = newId();
    await tx.payout.create({
      data: { id, ownerId, nodeId, address: owner.payoutAddress, amount: total.toString(), idempotencyKey: `idlemint-payout-${id}` },
    });
    await this.ledger.postPayout(tx, id, amounts);
    await writeOutbox(tx, 'payout.created', `payout.created:${id}`, { payoutId: id });
    return id;
  }

  /** Executes one payout at its node. Idempotent: asks the node first, then pays with the same key. */
  async execute(payoutId: string): Promise<'confirmed' | 'failed' | 'done'> {
    const p = await this.db.payout.findUniqueOrThrow({ where: { id: payoutId } });
    if (p.status === 'confirmed' || p.status === 'failed') return 'done';
    const node = await this.db.trustedNode.findUniqueOrThrow({ where: { id: p.nodeId } });
    const client = new NodeClient(node.url, await this.keys.currentSeed());
    let answer: NodePayout;
    try {
      answer = await client.request<NodePayout>('GET', `/v1/payouts/${p.idempotencyKey}`);
    } catch (e) {
      // Only "no payout under this key" allows paying. Any other failure to answer the question
      // (refused, garbled, unreachable) says nothing about an earlier attempt: unclear.
      if (!(e instanceof NodeRequestError && e.status === 404)) throw unclear(payoutId, e);
      try {
        answer = await client.request<NodePayout>('POST', '/v1/payouts', {
          idempotencyKey: p.idempotencyKey,
          address: p.address,
          amount: p.amount.toFixed(0),
        });
      } catch (e2) {
        if (!isRefusal(e2)) {
          // Sent without an answer: the node may have it. A connection refused never reached it.
          if (!/ECONNREFUSED/.test((e2 as Error).message)) {
            await this.db.payout.updateMany({ where: { id: payoutId, sentAt: null }, data: { sentAt: new Date() } });
          }
          throw unclear(payoutId, e2);
        }
        await this.fail(payoutId, `${e2.code}: ${e2.message}`);
        return 'failed';
      }
    }
    if (answer?.status !== 'confirmed' && answer?.status !== 'failed') {
      throw unclear(payoutId, new Error('the node answered without a payout status'));
    }
    if (answer.status === 'failed') {
      await this.fail(payoutId, 'node reports the payout failed');
      return 'failed';
    }
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.payout.updateMany({
        where: { id: payoutId, status: { in: ['pending', 'unclear'] } },
        data: { status: 'confirmed', updatedAt: new Date(), error: null },
      });
      if (count === 1) await this.ledger.settlePayout(tx, payoutId, BigInt(p.amount.toFixed(0)));
    });
    return 'confirmed';
  }

  /** The node said no, for certain: the money goes back to the devices' accounts. */
  private async fail(payoutId: string, reason: string): Promise<void> {
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.payout.updateMany({
        where: { id: payoutId, status: { in: ['pending', 'unclear'] } },
        data: { status: 'failed', error: reason.slice(0, 500), updatedAt: new Date() },
      });
      if (count === 1) await this.ledger.reversePayout(tx, payoutId, await this.ledger.payoutAmounts(tx, payoutId), reason);
    });
  }

  /** Retries ran out without a clear answer: halt the owner's payouts for the operator to resolve. */
  async markUnclear(payoutId: string, reason: string): Promise<void> {
    const halted = await this.db.$transaction(async (tx) => {
      // Only a payout still open: a late failure (a stalled job's other run) never undoes a settled one.
      const { count } = await tx.payout.updateMany({
        where: { id: payoutId, status: { in: ['pending', 'unclear'] } },
        data: { status: 'unclear', error: reason.slice(0, 500), updatedAt: new Date() },
      });
      if (count === 0) return false;
      const p = await tx.payout.findUniqueOrThrow({ where: { id: payoutId } });
      await tx.owner.update({
        where: { id: p.ownerId },
        data: { payoutsHaltedAt: new Date(), haltReason: `payout ${payoutId} unclear: ${reason}`.slice(0, 500) },
      });
      return true;
    });
    if (halted) this.log.warn(`payout ${payoutId} unclear, owner payouts halted: ${reason}`);
    else this.log.log(`payout ${payoutId} already settled; unclear report ignored: ${reason}`);
  }

  listByStatus(status: 'pending' | 'confirmed' | 'unclear' | 'failed') {
    return this.db.payout.findMany({ where: { status }, orderBy: { createdAt: 'asc' }, take: 500 });
  }
}
