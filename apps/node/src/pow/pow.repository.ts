import { Injectable } from '@nestjs/common';
import { NodePrismaService, type NodeTx } from '../db/node-prisma.service.js';

/** Any constant: serialises appends so two blocks never take one height. */
const APPEND_LOCK = 0x0b10_c4a1;

export interface StoredBlock {
  height: number;
  hash: string;
  prevHash: string;
  header: string;
  coinbase: string;
  txids: unknown;
  time: number;
  candidateId: string | null;
  createdAt: Date;
}

/** The only file that touches PowBlock: the node's proof-of-work chain. */
@Injectable()
export class PowRepository {
  constructor(private readonly db: NodePrismaService) {}

  /** Writes the chain's first block once (a new database); later calls change nothing. */
  async plantGenesis(block: Omit<StoredBlock, 'createdAt' | 'candidateId'>): Promise<void> {
    await this.db.powBlock.createMany({ data: [{ ...block, txids: [] }], skipDuplicates: true });
  }

  async tip(tx: NodeTx = this.db): Promise<StoredBlock> {
    const tip = await tx.powBlock.findFirst({ orderBy: { height: 'desc' } });
    if (!tip) throw new Error('the chain has no genesis block');
    return tip;
  }

  /** Times of the last `n` blocks up to the tip, newest first (median time past). */
  async recentTimes(n: number, tx: NodeTx = this.db): Promise<number[]> {
    const rows = await tx.powBlock.findMany({ orderBy: { height: 'desc' }, take: n, select: { time: true } });
    return rows.map((r) => r.time);
  }

  async findByHashOrCandidate(hash: string, candidateId: string, tx: NodeTx = this.db): Promise<StoredBlock | null> {
    return tx.powBlock.findFirst({ where: { OR: [{ hash }, { candidateId }] } });
  }

  /** Takes the append lock for the rest of `tx`; the caller re-reads the tip after it. */
  async lockAppends(tx: NodeTx): Promise<void> {
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
  }

  async append(tx: NodeTx, block: Omit<StoredBlock, 'createdAt'>): Promise<StoredBlock> {
    return tx.powBlock.create({ data: { ...block, txids: block.txids as string[] } });
  }

  async page(after: number, limit: number): Promise<StoredBlock[]> {
    return this.db.powBlock.findMany({ where: { height: { gt: after } }, orderBy: { height: 'asc' }, take: limit });
  }
}
