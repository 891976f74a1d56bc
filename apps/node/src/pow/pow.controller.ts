import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import {
  powBlockCandidateSchema,
  powBlocksQuerySchema,
  type PowBlockAnswer,
  type PowBlockCandidate,
  type PowBlocksPage,
  type PowBlocksQuery,
  type PowTemplate,
} from '@idlemint/protocol';
import { Public } from '../auth/platform-auth.guard.js';
import { PowRepository } from './pow.repository.js';
import { PowService } from './pow.service.js';

@Controller('v1/pow')
export class PowController {
  constructor(
    private readonly pow: PowService,
    private readonly blocks: PowRepository,
  ) {}

  @Get('template')
  async template(): Promise<PowTemplate> {
    return this.pow.template();
  }

  @Post('blocks')
  @HttpCode(200)
  async accept(@Body(new ZodPipe(powBlockCandidateSchema)) candidate: PowBlockCandidate): Promise<PowBlockAnswer> {
    return this.pow.accept(candidate);
  }

  @Public()
  @Get('blocks')
  async list(@Query(new ZodPipe(powBlocksQuerySchema, 'REQUEST.INVALID_QUERY')) q: PowBlocksQuery): Promise<PowBlocksPage> {
    // The tip first, then the page: a block appended in between shows in the page, never a tip
    // whose block the page (read first) missed.
    const tip = await this.blocks.tip();
    const rows = await this.blocks.page(q.after, q.limit);
    return {
      blocks: rows.map((b) => ({
        height: b.height,
        hash: b.hash,
        prevHash: b.prevHash,
        header: b.header,
        coinbase: b.coinbase,
        candidateId: b.candidateId,
        createdAt: b.createdAt.toISOString(),
      })),
      tip: { height: tip.height, hash: tip.hash },
    };
  }
}
