import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import {
  nodeLogQuerySchema,
  relayedUnitSchema,
  retractionSchema,
  type NodeLogPage,
  type NodeLogQuery,
  type RelayAnswer,
  type RelayedUnit,
  type Retraction,
  type RetractionAnswer,
} from '@idlemint/protocol';
import { Public } from '../auth/platform-auth.guard.js';
import { LogRepository } from './log.repository.js';
import { RelayService } from './relay.service.js';

@Controller('v1')
export class RelayController {
  constructor(
    private readonly relay: RelayService,
    private readonly log: LogRepository,
  ) {}

  @Post('relay/units')
  @HttpCode(200)
  async accept(@Body(new ZodPipe(relayedUnitSchema)) unit: RelayedUnit): Promise<RelayAnswer> {
    return this.relay.accept(unit);
  }

  @Post('relay/retractions')
  @HttpCode(200)
  async retract(@Body(new ZodPipe(retractionSchema)) r: Retraction): Promise<RetractionAnswer> {
    return this.relay.retract(r);
  }

  @Public()
  @Get('log')
  async entries(@Query(new ZodPipe(nodeLogQuerySchema, 'REQUEST.INVALID_QUERY')) q: NodeLogQuery): Promise<NodeLogPage> {
    const rows = await this.log.page(BigInt(q.after), q.limit);
    const entries = rows.map((e) => ({
      seq: e.seq.toString(),
      unitId: e.unitId,
      payload: e.payload as RelayedUnit,
      prevHash: e.prevHash,
      hash: e.hash,
      createdAt: e.createdAt.toISOString(),
    }));
    return { entries, next: entries.at(-1)?.seq ?? q.after };
  }
}
