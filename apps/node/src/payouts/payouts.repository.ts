import { Injectable } from '@nestjs/common';
import type { NodePayoutAnswer, NodePayoutRequest } from '@idlemint/protocol';
import { isUniqueViolation, NodePrismaService, type NodeTx } from '../db/node-prisma.service.js';

/** The treasury's balance row; payout addresses cannot spell it (no `@` allowed). */
export const TREASURY = '@treasury';

export type ExecuteOutcome = { kind: 'done'; payout: NodePayoutAnswer } | { kind: 'taken' };

/** The only file that touches Balance and Payout. */
@Injectable()
export class PayoutsRepository {
  constructor(private readonly db: NodePrismaService) {}

  /** Opens the treasury with `amount` when it does not exist yet (first start). */
  async openTreasury(amount: string): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO "Balance" ("address", "amount") VALUES (${TREASURY}, CAST(${amount} AS DECIMAL(38,0)))
      ON CONFLICT ("address") DO NOTHING`;
  }

  async find(idempotencyKey: string): Promise<NodePayoutAnswer | null> {
    const row = await this.db.payout.findUnique({ where: { idempotencyKey } });
    if (!row) return null;
    return {
      idempotencyKey: row.idempotencyKey,
      status: row.status,
      amount: row.amount.toFixed(0),
      address: row.address,
      ...(row.error ? { error: row.error } : {}),
    };
  }

  /**
   * Moves `amount` from the treasury to `address` and records the key as confirmed, in one
   * transaction; when the treasury is short, records the key as failed and moves nothing.
   * `taken` = another request recorded this key first (nothing of ours was committed).
   */
  async execute(req: NodePayoutRequest): Promise<ExecuteOutcome> {
    try {
      const payout = await this.db.$transaction(async (tx) => {
        const debited = await tx.$executeRaw`
          UPDATE "Balance" SET "amount" = "amount" - CAST(${req.amount} AS DECIMAL(38,0)), "updatedAt" = now()
           WHERE "address" = ${TREASURY} AND "amount" >= CAST(${req.amount} AS DECIMAL(38,0))`;
        if (debited === 0) return this.record(tx, req, 'failed', 'treasury balance is below the amount');
        await tx.$executeRaw`
          INSERT INTO "Balance" ("address", "amount") VALUES (${req.address}, CAST(${req.amount} AS DECIMAL(38,0)))
          ON CONFLICT ("address") DO UPDATE SET "amount" = "Balance"."amount" + EXCLUDED."amount", "updatedAt" = now()`;
        return this.record(tx, req, 'confirmed');
      });
      return { kind: 'done', payout };
    } catch (e) {
      if (isUniqueViolation(e)) return { kind: 'taken' };
      throw e;
    }
  }

  private async record(tx: NodeTx, req: NodePayoutRequest, status: 'confirmed' | 'failed', error?: string): Promise<NodePayoutAnswer> {
    await tx.payout.create({
      data: { idempotencyKey: req.idempotencyKey, address: req.address, amount: req.amount, status, error },
    });
    return { ...req, status, ...(error ? { error } : {}) };
  }

  async balanceOf(address: string): Promise<string> {
    const row = await this.db.balance.findUnique({ where: { address } });
    return row ? row.amount.toFixed(0) : '0';
  }

  async confirmedTotals(): Promise<{ confirmed: number; total: string }> {
    const rows = await this.db.$queryRaw<{ n: bigint; total: string }[]>`
      SELECT COUNT(*) AS n, COALESCE(SUM("amount"), 0)::text AS total FROM "Payout" WHERE "status" = 'confirmed'`;
    return { confirmed: Number(rows[0]?.n ?? 0n), total: rows[0]?.total ?? '0' };
  }
}
