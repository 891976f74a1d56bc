import { Body, Controller, Get, Inject, Param, Post, Res } from '@nestjs/common';
import { ZodPipe } from '@idlemint/core';
import { nodePayoutKeySchema, nodePayoutRequestSchema, type NodePayoutAnswer, type NodePayoutRequest } from '@idlemint/protocol';
import type { FastifyReply } from 'fastify';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { PayoutsService } from './payouts.service.js';

@Controller('v1/payouts')
export class PayoutsController {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly payouts: PayoutsService,
  ) {}

  /** The reply is sent by hand only so FAULT_PAYOUT_DROP_RESPONSE can cut the line after commit. */
  @Post()
  async pay(@Body(new ZodPipe(nodePayoutRequestSchema)) body: NodePayoutRequest, @Res() reply: FastifyReply): Promise<void> {
    const answer = await this.payouts.pay(body);
    if (this.config.FAULT_PAYOUT_DROP_RESPONSE) {
      reply.hijack();
      reply.raw.socket?.destroy();
      return;
    }
    await reply.status(200).send(answer);
  }

  @Get(':key')
  async get(@Param('key', new ZodPipe(nodePayoutKeySchema, 'REQUEST.INVALID_PARAM')) key: string): Promise<NodePayoutAnswer> {
    return this.payouts.get(key);
  }
}
