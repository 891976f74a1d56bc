import { Controller, Get, Query } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import { nodePendingQuerySchema, type NodePendingPage, type NodePendingQuery } from '@idlemint/protocol';
import { PendingRepository } from './pending.repository.js';

@Controller('v1/pending')
export class PendingController {
  constructor(private readonly pending: PendingRepository) {}

  @Get()
  async list(@Query(new ZodPipe(nodePendingQuerySchema, 'REQUEST.INVALID_QUERY')) q: NodePendingQuery): Promise<NodePendingPage> {
    const transactions = await this.pending.listUnverified(BigInt(q.after), q.limit);
    return { transactions, next: transactions.at(-1)?.seq ?? q.after };
  }
}
