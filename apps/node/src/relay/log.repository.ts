import { Injectable } from '@nestjs/common';
import { NODE_GENESIS_HASH, nodeLogHash, verifyNodeLogChain, type RelayedUnit } from '@idlemint/protocol';
import { NodePrismaService, Prisma, type NodeTx } from '../db/node-prisma.service.js';

/** Any constant: serialises appends so seq and prevHash never fork. */
const APPEND_LOCK = 0x1d1e_0a0d;
const WALK_BATCH = 1_000;

export interface StoredEntry {
  seq: bigint;
  unitId: string;
  payload: unknown;
  prevHash: string;
  hash: string;
  createdAt: Date;
}

/** The only file that touches LogEntry: an append-only, hash-chained log of relayed units. */
@Injectable()
export class LogRepository {
  constructor(private readonly db: NodePrismaService) {}

  async findByUnit(unitId: string, tx: NodeTx = this.db): Promise<StoredEntry | null> {
    return tx.logEntry.findUnique({ where: { unitId } });
  }

  /**
   * Appends inside `tx`, under a transaction-scoped advisory lock so concurrent appends queue up.
   * The caller re-checks for its unitId after taking the lock (lockAppends) and before appending.
   */
  async lockAppends(tx: NodeTx): Promise<void> {
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
  }

  async append(tx: NodeTx, unit: RelayedUnit): Promise<StoredEntry> {
    const head = await tx.logEntry.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
    const prevHash = head?.hash ?? NODE_GENESIS_HASH;
    const seq = (head?.seq ?? 0n) + 1n;
    return tx.logEntry.create({
      data: { seq, unitId: unit.unitId, payload: unit as Prisma.InputJsonObject, prevHash, hash: nodeLogHash(prevHash, unit) },
    });
  }

  async page(after: bigint, limit: number): Promise<StoredEntry[]> {
    return this.db.logEntry.findMany({ where: { seq: { gt: after } }, orderBy: { seq: 'asc' }, take: limit });
  }

  async head(): Promise<{ length: number; hash: string }> {
    const head = await this.db.logEntry.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
    return { length: Number(head?.seq ?? 0n), hash: head?.hash ?? NODE_GENESIS_HASH };
  }

  /** Re-walks the whole chain from genesis, recomputing every hash; true when it ends at `headHash`. */
  async chainValid(length: number, headHash: string): Promise<boolean> {
    let prevHash = NODE_GENESIS_HASH;
    let seq = 0n;
    const end = BigInt(length);
    while (seq < end) {
      const batch = await this.page(seq, Math.min(WALK_BATCH, Number(end - seq)));
      if (batch.length === 0) return false; // a gap before the head
      const next = verifyNodeLogChain(batch, prevHash, seq);
      if (next === null) return false;
      prevHash = next;
      seq = batch[batch.length - 1].seq;
    }
    return prevHash === headHash;
  }
}
