import { Injectable } from '@nestjs/common';
import type { NodePendingTx, NodeScheme } from '@idlemint/protocol';
import { NodePrismaService, type NodeTx } from '../db/node-prisma.service.js';

export interface NewPendingTx {
  txId: string;
  scheme: NodeScheme;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
}

export interface OwnTx {
  txId: string;
  publicKey: string;
  message: string;
  signature: string;
  scheme: string;
  verdict: boolean | null;
}

/** The only file that touches PendingTx. */
@Injectable()
export class PendingRepository {
  constructor(private readonly db: NodePrismaService) {}

  async insertMany(rows: NewPendingTx[]): Promise<number> {
    if (rows.length === 0) return 0;
    const { count } = await this.db.pendingTx.createMany({ data: rows });
    return count;
  }

  async countUnverified(): Promise<number> {
    return this.db.pendingTx.count({ where: { verdict: null } });
  }

  /** Unverified transactions after `after`, oldest first. */
  async listUnverified(after: bigint, limit: number): Promise<NodePendingTx[]> {
    const rows = await this.db.pendingTx.findMany({
      where: { verdict: null, seq: { gt: after } },
      orderBy: { seq: 'asc' },
      take: limit,
    });
    return rows.map((r) => ({
      seq: r.seq.toString(),
      id: r.txId,
      scheme: r.scheme as NodeScheme,
      publicKey: r.publicKey,
      message: r.message,
      signature: r.signature,
    }));
  }

  async findByIds(ids: string[]): Promise<Map<string, OwnTx>> {
    const rows = await this.db.pendingTx.findMany({
      where: { txId: { in: ids } },
      select: { txId: true, scheme: true, publicKey: true, message: true, signature: true, verdict: true },
    });
    return new Map(rows.map((r) => [r.txId, r]));
  }

  /** Records relayed verdicts; a transaction keeps the first verdict it got. */
  async recordVerdicts(tx: NodeTx, unitId: string, verdicts: Map<string, boolean>): Promise<void> {
    const now = new Date();
    for (const verdict of [true, false]) {
      const ids = [...verdicts].filter(([, v]) => v === verdict).map(([id]) => id);
      if (ids.length === 0) continue;
      await tx.pendingTx.updateMany({
        where: { txId: { in: ids }, verdict: null },
        data: { verdict, unitId, verdictAt: now },
      });
    }
  }

  /** Marks the transactions a unit gave a verdict as retracted; returns how many. */
  async markRetracted(tx: NodeTx, unitId: string): Promise<number> {
    const { count } = await tx.pendingTx.updateMany({ where: { unitId, retractedAt: null }, data: { retractedAt: new Date() } });
    return count;
  }

  /** recorded / correct / wrong against the truth the node kept; retracted, and wrong not retracted. */
  async verdictCounts(): Promise<{ recorded: number; correct: number; wrong: number; retracted: number; wrongUnretracted: number }> {
    const rows = await this.db.$queryRaw<{ recorded: bigint; wrong: bigint; retracted: bigint; wrongUnretracted: bigint }[]>`
      SELECT COUNT(*) AS recorded, COUNT(*) FILTER (WHERE "verdict" <> "valid") AS wrong,
             COUNT(*) FILTER (WHERE "retractedAt" IS NOT NULL) AS retracted,
             COUNT(*) FILTER (WHERE "verdict" <> "valid" AND "retractedAt" IS NULL) AS "wrongUnretracted"
        FROM "PendingTx" WHERE "verdict" IS NOT NULL`;
    const recorded = Number(rows[0]?.recorded ?? 0n);
    const wrong = Number(rows[0]?.wrong ?? 0n);
    return {
      recorded,
      correct: recorded - wrong,
      wrong,
      retracted: Number(rows[0]?.retracted ?? 0n),
      wrongUnretracted: Number(rows[0]?.wrongUnretracted ?? 0n),
    };
  }
}
