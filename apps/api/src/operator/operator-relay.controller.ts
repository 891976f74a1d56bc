import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { RelayService } from '@idlemint/relay';
import { OperatorAuthGuard } from '../common/auth.js';
import { IdPipe } from '../common/params.js';
import { redrivenSchema, undeliveredSchema } from './operator.responses.js';

/**
 * Operator API: relay deliveries per node. A delivery out of retries stays pending and the worker's
 * reconciler keeps re-driving it; one the node refused is dead until the operator re-drives it.
 */
@Controller('operator/v1')
@UseGuards(OperatorAuthGuard)
export class OperatorRelayController {
  constructor(private readonly relay: RelayService) {}

  /** Per node: verified units not yet delivered (pending) and dead-lettered (refused by the node). */
  @Get('relay/undelivered')
  @ApiOkResponse({ standardSchema: undeliveredSchema })
  async undelivered() {
    return { nodes: await this.relay.undeliveredByNode() };
  }

  /** Sends every dead-lettered delivery again (the reconciler queues them within RECONCILE_EVERY_MS). */
  @Post('relay/redrive')
  @ApiOkResponse({ standardSchema: redrivenSchema })
  @HttpCode(200)
  async redriveAll() {
    return { revived: await this.relay.redrive() };
  }

  /** Sends the node's dead-lettered deliveries again. */
  @Post('nodes/:id/relay/redrive')
  @ApiOkResponse({ standardSchema: redrivenSchema })
  @HttpCode(200)
  async redriveNode(@Param('id', new IdPipe('node')) id: string) {
    return { revived: await this.relay.redrive(id) };
  }
}
