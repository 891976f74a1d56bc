import { Body, Controller, Get, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { ZodPipe } from '@idlemint/core';
import { TenantsService } from '@idlemint/fleet';
import { PayoutsService, ReconciliationService } from '@idlemint/payouts';
import { createManufacturerSchema, createNodeSchema, payoutStatusQuerySchema } from '@idlemint/protocol';
import type { z } from 'zod';
import { OperatorAuthGuard } from '../common/auth.js';
import { manufacturerCreatedSchema, nodeListSchema, nodeSchema, payoutListSchema, reconciliationSchema } from './operator.responses.js';

/** Operator API: onboarding manufacturers, trusted nodes, payouts and reconciliation. */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly payouts: PayoutsService,
    private readonly reconciliation: ReconciliationService,
  ) {}

  /** Creates a manufacturer; its admin API key is in the answer and never shown again. */
  @Post('manufacturers')
  @ApiCreatedResponse({ description: 'the API key is in this answer only', standardSchema: manufacturerCreatedSchema })
  async createManufacturer(@Body(new ZodPipe(createManufacturerSchema)) body: z.infer<typeof createManufacturerSchema>) {
    const { manufacturer, apiKey } = await this.tenants.createManufacturer(body.name);
    return { id: manufacturer.id, name: manufacturer.name, status: manufacturer.status, apiKey };
  }

  @Post('nodes')
  @ApiCreatedResponse({ standardSchema: nodeSchema })
  async addNode(@Body(new ZodPipe(createNodeSchema)) body: z.infer<typeof createNodeSchema>) {
    return nodeView(await this.tenants.addNode(body));
  }

  @Get('nodes')
  @ApiOkResponse({ standardSchema: nodeListSchema })
  async nodes() {
    return { nodes: (await this.tenants.listNodes()).map(nodeView) };
  }

  @Get('payouts')
  @ApiOkResponse({ standardSchema: payoutListSchema })
  async listPayouts(@Query(new ZodPipe(payoutStatusQuerySchema, 'REQUEST.INVALID_QUERY')) q: z.infer<typeof payoutStatusQuerySchema>) {
    return { payouts: await this.payouts.listByStatus(q.status) };
  }

  @Get('reconciliation')
  @ApiOkResponse({ standardSchema: reconciliationSchema })
  async reconcile() {
    return this.reconciliation.reconcile();
  }
}

function nodeView(n: { id: string; name: string; url: string; status: string; ingestCursor: bigint; createdAt: Date }) {
  return { id: n.id, name: n.name, url: n.url, status: n.status, ingestCursor: n.ingestCursor.toString(), createdAt: n.createdAt };
}
