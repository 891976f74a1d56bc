import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Tx } from '@idlemint/core';

export interface AuditRow {
  id: string;
  manufacturerId: string | null;
  actor: string;
  action: string;
  targetType: string;
  targetIds: string[];
  before: Prisma.JsonValue;
  after: Prisma.JsonValue;
  createdAt: Date;
}

/** The only code that touches the AuditLog table. Rows are only ever inserted. */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: PrismaService) {}

  async insert(tx: Tx, row: Omit<AuditRow, 'createdAt'>): Promise<void> {
    await tx.auditLog.create({
      data: {
        ...row,
        before: row.before === null ? Prisma.DbNull : (row.before as Prisma.InputJsonValue),
        after: row.after === null ? Prisma.DbNull : (row.after as Prisma.InputJsonValue),
      },
    });
  }

  /** Newest first, strictly older than `beforeId` (ids are ULIDs: time-ordered). */
  page(q: { manufacturerId?: string; action?: string; targetId?: string; beforeId?: string; take: number }): Promise<AuditRow[]> {
    return this.db.auditLog.findMany({
      where: {
        ...(q.manufacturerId !== undefined ? { manufacturerId: q.manufacturerId } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.targetId !== undefined ? { targetIds: { has: q.targetId } } : {}),
        ...(q.beforeId !== undefined ? { id: { lt: q.beforeId } } : {}),
      },
      orderBy: { id: 'desc' },
      take: q.take,
    });
  }
}
